// PromQL conformance: Prometheus' promqltest scripts (v3.5.0 testdata, read from
// ../shared/promqltest at test time) run against Kiln's engine over real Kiln storage, one test
// per eval named `<file>:<line> <expr>`. Cases in promqltest-skips.ts are skipped with their
// reason; every other failure fails the test. A summary line per file and a total are printed.
import { afterAll, describe, expect, it } from 'vitest';
import { PROMQLTEST_SKIPS } from './promqltest-skips.js';
import { ScriptRunner, scriptFiles, type EvalStatus } from './promqltest/runner.js';

const totals: Record<EvalStatus, number> = { pass: 0, fail: 0, skip: 0 };
const summaries: string[] = [];

function summary(name: string, c: Record<EvalStatus, number>): string {
  return `promqltest: ${name}: ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped`;
}

for (const file of scriptFiles()) {
  describe(file, () => {
    const runner = ScriptRunner.fromFile(file, { skips: PROMQLTEST_SKIPS });
    const counts: Record<EvalStatus, number> = { pass: 0, fail: 0, skip: 0 };
    afterAll(async () => {
      await runner.close();
      summaries.push(summary(file, counts));
      for (const k of ['pass', 'fail', 'skip'] as const) totals[k] += counts[k];
    });

    it('has no skip entries for lines without an eval', () => {
      expect(runner.staleSkips()).toEqual([]);
    });

    for (const cmd of runner.evals) {
      const name = `${file}:${cmd.line} ${cmd.expr}`;
      const skip = runner.skipFor(cmd);
      if (skip !== undefined) {
        counts.skip++;
        it.skip(`${name} [skipped: ${skip.reason}]`, () => {});
        continue;
      }
      it(name, async () => {
        const outcome = await runner.outcome(cmd);
        counts[outcome.status]++;
        if (outcome.status === 'fail') expect.fail(`${name}\n${outcome.failure}`);
      });
    }
  });
}

afterAll(() => {
  console.log([...summaries, summary('total', totals)].join('\n'));
});
