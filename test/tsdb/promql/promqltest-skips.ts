// The promqltest evals Kiln does not run, each with its reason. This is the only place a
// conformance case may be skipped, and only for something Kiln deliberately does not support
// (native histograms: the TSDB stores floats only). A case is never skipped because it fails.
//
// Keyed by file and 1-based line of the eval; `expr` must equal the eval's expression there, so an
// entry cannot silently drift onto another case if the scripts change.

import type { SkipEntry } from './promqltest/runner.js';

const NATIVE_HISTOGRAMS = 'native histograms (Kiln stores float samples only)';

export const PROMQLTEST_SKIPS: readonly SkipEntry[] = [];

void NATIVE_HISTOGRAMS;
