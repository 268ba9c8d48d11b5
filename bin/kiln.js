#!/usr/bin/env -S node --max-semi-space-size=64
// The kiln command. Runs the compiled CLI (npm run build writes dist/). The larger young
// generation (see docs/tsdb.md, "Node heap") lets per-request buffers die young.
import '../dist/cli/main.js';
