import { defineConfig } from 'vitest/config';

// Interop tests: real peers (Go's runtime/pprof, @pyroscope/nodejs, grpc-js, go tool pprof).
// Each test prints why it is skipped when its peer is missing.
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
