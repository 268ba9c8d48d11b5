#!/usr/bin/env node
// The kiln command. Runs the compiled CLI (npm run build writes dist/).
import '../dist/cli/main.js';
