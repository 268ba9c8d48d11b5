// Child process for crash.test.ts: appends to a head forever from several concurrent loops and
// prints "<loop> <timestamp>" to stdout only after the append resolved (was acknowledged).
// Each loop owns 5 series and writes one sample per series per append, timestamps increasing.
// Usage: node --import tsx crash-child.ts <dir> <startTs> [concurrency]
import { Head } from '../../../src/tsdb/head/head.js';

const [dir, startArg, concurrencyArg] = process.argv.slice(2);
if (!dir || !startArg) {
  process.stderr.write('usage: crash-child.ts <dir> <startTs> [concurrency]\n');
  process.exit(2);
}
const start = Number(startArg);
const concurrency = Number(concurrencyArg ?? 8);
const head = await Head.open(dir, {
  logger: { warn: (obj, msg) => process.stderr.write(`WARN ${msg} ${JSON.stringify(obj)}\n`), info: () => {} },
  walSegmentBytes: 64 * 1024,
});
process.stderr.write(`opened with ${head.numSeries} series\n`);

async function loop(w: number): Promise<void> {
  for (let i = 0; ; i++) {
    const t = start + i;
    const series = Array.from({ length: 5 }, (_, s) => ({
      labels: [
        ['__name__', 'crash'],
        ['loop', String(w)],
        ['s', String(s)],
      ] as Array<[string, string]>,
      timestamps: [t],
      values: [t * 10 + s],
    }));
    const out = await head.append(series, { outOfOrderWindowMs: 0, maxSeriesPerUser: 0 });
    if (out.appended !== 5) throw new Error(`append rejected: ${JSON.stringify(out.rejected)}`);
    process.stdout.write(`${w} ${t}\n`);
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, w) => loop(w)));
