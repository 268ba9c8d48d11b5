// Builds dist/ once before the tests, so integration tests run the real
// `kiln` binary (node dist/cli/main.js) from the current sources. Type errors
// are reported by `npm run typecheck`; tsc still emits, so they do not stop the build here.
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) process.stderr.write(`tsc build reported errors (see npm run typecheck):\n${r.stdout.slice(0, 2000)}\n`);
}
