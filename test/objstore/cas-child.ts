// Child process for the cross-process compare-and-swap test: increments a
// counter object in a filesystem bucket `n` times with getVersioned +
// putIfMatch + retry, then prints "done <retries>".
// Usage: node --import tsx cas-child.ts <bucketDir> <n>
import { FilesystemBucket } from '../../src/objstore/filesystem.js';
import { casIncrement } from './cas-counter.js';

async function main(): Promise<void> {
  const [dir, nArg] = process.argv.slice(2);
  if (!dir || !nArg) throw new Error('usage: cas-child.ts <bucketDir> <n>');
  const bucket = new FilesystemBucket(dir);
  let retries = 0;
  for (let i = 0; i < Number(nArg); i++) retries += await casIncrement(bucket, 'shared/counter');
  process.stdout.write(`done ${retries}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
