// Builds dist/ once before the tests, so integration tests run the real
// `kiln` binary (node dist/cli/main.js) from the current sources.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
