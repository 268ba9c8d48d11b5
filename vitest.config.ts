import { defineConfig } from 'vitest/config';

// Unit and integration tests. Interop tests against real peers live in
// test/interop and run through vitest.interop.config.ts (see .ci/run).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/interop/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
