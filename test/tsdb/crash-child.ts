// Child process for crash.test.ts: appends samples forever from several concurrent writers
// while the background loop compacts the head and the blocks as fast as it can (1-minute
// blocks, 5 ms loop), and prints "series,t" for each sample only after its append resolved
// (i.e. after it was acked). Continues each series after the newest sample already stored.
// Usage: node --import tsx crash-child.ts <dir> [writers]
import { TsdbStorage } from '../../src/tsdb/db.js';

const [dir, writersArg] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: crash-child.ts <dir> [writers]\n');
  process.exit(2);
}
const WRITERS = Number(writersArg ?? 4);
const SERIES_PER_WRITER = 3;
const STEP = 10_000;
export const T0 = 1_700_000_000_000;

const storage = await TsdbStorage.open({
  dir,
  blockRangeMs: 60_000,
  retentionMs: 0,
  compactionIntervalMs: 5,
  clock: () => T0,
  logger: {
    info: (o, m) => process.stderr.write(`INFO ${m} ${JSON.stringify(o)}\n`),
    warn: (o, m) => process.stderr.write(`WARN ${m} ${JSON.stringify(o)}\n`),
  },
});

const q = storage.querier('crash');
const newest = new Map<string, number>();
for (const s of await q.select([], 0, Number.MAX_SAFE_INTEGER)) newest.set(s.labels.find(([n]) => n === 's')![1], s.timestamps.at(-1)!);
process.stderr.write(`opened; ${newest.size} series\n`);

export const valueOf = (series: string, t: number): number => (t / STEP) * 10 + Number(series.split('-')[1]);

async function writer(w: number): Promise<void> {
  const names = Array.from({ length: SERIES_PER_WRITER }, (_, k) => `${w}-${k}`);
  let t = Math.max(T0, ...names.map((n) => (newest.get(n) ?? T0 - STEP) + STEP));
  for (;;) {
    const out = await storage.append(
      'crash',
      names.map((n) => ({ labels: [['__name__', 'crash_test'], ['s', n]] as Array<[string, string]>, timestamps: [t], values: [valueOf(n, t)] })),
      { outOfOrderWindowMs: 0, maxSeriesPerUser: 0 },
    );
    if (out.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(out.rejected)}`);
    process.stdout.write(names.map((n) => `${n},${t}\n`).join(''));
    t += STEP;
  }
}

await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
