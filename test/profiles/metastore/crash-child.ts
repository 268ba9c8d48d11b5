// Child process for crash.test.ts: registers blocks forever from several concurrent loops and
// prints each id to stdout only after its addBlock resolved (i.e. after it was acked).
// Usage: node --import tsx crash-child.ts <dir> [concurrency]
import { Metastore } from '../../../src/profiles/metastore/metastore.js';
import { makeMeta } from './helpers.js';

const [dir, concurrencyArg] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: crash-child.ts <dir> [concurrency]\n');
  process.exit(2);
}
const concurrency = Number(concurrencyArg ?? 8);

const index = await Metastore.open(dir, {
  logger: {
    warn: (obj, msg) => process.stderr.write(`WARN ${msg} ${JSON.stringify(obj)}\n`),
    info: () => {},
  },
});
process.stderr.write(`opened with ${index.size} blocks\n`);

async function worker(w: number): Promise<void> {
  for (let i = 0; ; i++) {
    const meta = makeMeta({ shard: 1 + (w % 4), datasets: [[`tenant-${w}`, `svc-${i % 5}`]] });
    await index.addBlock(meta);
    process.stdout.write(`${meta.id}\n`);
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
