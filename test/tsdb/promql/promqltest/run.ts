// CLI over the promqltest runner, for fixing the engine case by case:
//
//   npx tsx test/tsdb/promql/promqltest/run.ts                     every script
//   npx tsx test/tsdb/promql/promqltest/run.ts functions aggregators   some scripts (.test optional)
//   npx tsx test/tsdb/promql/promqltest/run.ts functions.test:120  one eval (by its line)
//   options: --passes (list passing evals too), --run-skipped (run skip-listed evals),
//            --max-failures=N (per file; default all), --suggest-skips (print skip entries for
//            unlisted evals that read native histogram samples), --summary (counts only)
//
// Prints each failure as the query run, the first problem, expected and actual; then one summary
// line per file and a total. Exit code 1 when anything failed.
import { PROMQLTEST_SKIPS } from '../promqltest-skips.js';
import { ScriptRunner, scriptFiles, type EvalStatus } from './runner.js';

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
const maxFailures = Number(args.find((a) => a.startsWith('--max-failures='))?.split('=')[1] ?? Infinity);
const targets = args.filter((a) => !a.startsWith('--'));

// file → selected lines (empty set: every eval)
const wanted = new Map<string, Set<number>>();
const available = scriptFiles();
for (const t of targets.length > 0 ? targets : available) {
  const [name, line] = t.split(':') as [string, string | undefined];
  const file = name.endsWith('.test') ? name : `${name}.test`;
  if (!available.includes(file)) {
    console.error(`no script ${file}; have: ${available.join(' ')}`);
    process.exit(2);
  }
  const lines = wanted.get(file) ?? new Set<number>();
  if (line !== undefined) lines.add(Number(line));
  wanted.set(file, lines);
}

const totals: Record<EvalStatus, number> = { pass: 0, fail: 0, skip: 0 };
const summaries: string[] = [];
const suggestions: string[] = [];
for (const [file, lines] of wanted) {
  const runner = ScriptRunner.fromFile(file, {
    skips: PROMQLTEST_SKIPS,
    ignoreSkips: flags.has('--run-skipped'),
    ...(lines.size > 0 ? { select: (c) => lines.has(c.line) } : {}),
  });
  const counts: Record<EvalStatus, number> = { pass: 0, fail: 0, skip: 0 };
  let shown = 0;
  try {
    for (const cmd of runner.evals) {
      const o = await runner.outcome(cmd);
      if (o.reason === 'not selected') continue;
      counts[o.status]++;
      const nh = o.status === 'skip' ? undefined : runner.histogramUse(cmd);
      if (nh !== undefined && flags.has('--suggest-skips')) {
        suggestions.push(`  { file: ${JSON.stringify(file)}, line: ${o.line}, expr: ${JSON.stringify(o.expr)}, reason: NATIVE_HISTOGRAMS }, // ${o.status}: ${nh}`);
      }
      if (o.status === 'fail') {
        if (shown++ < maxFailures && !flags.has('--summary')) console.log(`FAIL ${file}:${o.line} ${o.expr}\n${o.failure}\n`);
      } else if (o.status === 'pass' && flags.has('--passes')) {
        console.log(`ok   ${file}:${o.line} ${o.expr}`);
      }
    }
  } finally {
    await runner.close();
  }
  if (lines.size > 0 && counts.pass + counts.fail + counts.skip === 0) console.error(`${file}: no eval at line(s) ${[...lines].join(',')}`);
  summaries.push(`promqltest: ${file}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`);
  for (const k of ['pass', 'fail', 'skip'] as const) totals[k] += counts[k];
}
if (suggestions.length > 0) console.log(`skip-list candidates (native histograms):\n${suggestions.join('\n')}\n`);
console.log(summaries.join('\n'));
if (wanted.size > 1) console.log(`promqltest: total: ${totals.pass} passed, ${totals.fail} failed, ${totals.skip} skipped`);
process.exitCode = totals.fail > 0 ? 1 : 0;
