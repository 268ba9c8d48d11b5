// Child process for the crash-safety test: overwrites one key in a loop with
// objects whose length and content both encode a generation number, printing
// "put <gen>" after each completed put, until it is killed with SIGKILL.
// Usage: node --import tsx crash-child.ts <bucketDir> <baseSize>
import { FilesystemBucket } from '../../src/objstore/filesystem.js';

export function generationObject(gen: number, baseSize: number): Uint8Array {
  // Each generation has its own length and fill byte, so a torn write is
  // caught both by a short length and by mixed content.
  const b = new Uint8Array(baseSize + gen * 4099).fill((gen % 250) + 1);
  new DataView(b.buffer).setUint32(0, gen);
  return b;
}

async function main(): Promise<void> {
  const [dir, sizeArg] = process.argv.slice(2);
  if (!dir || !sizeArg) throw new Error('usage: crash-child.ts <bucketDir> <baseSize>');
  const bucket = new FilesystemBucket(dir);
  for (let gen = 1; ; gen++) {
    await bucket.put('crash/obj', generationObject(gen, Number(sizeArg)));
    process.stdout.write(`put ${gen}\n`);
  }
}

if (process.argv[1]?.endsWith('crash-child.ts')) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
