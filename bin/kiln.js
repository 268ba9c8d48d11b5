#!/usr/bin/env -S node --max-semi-space-size=8 --no-allocation-site-pretenuring
// The kiln command. Runs the compiled CLI (npm run build writes dist/). The heap flags keep the
// young generation small and stop V8 from allocating per-request objects straight into the old
// generation (see docs/tsdb.md, "Node heap").
import '../dist/cli/main.js';
