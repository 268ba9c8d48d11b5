// kiln blocks list     blocks registered in a running metastore
// kiln blocks inspect  what one block object holds: datasets, series, profiles

import path from 'node:path';
import { decodeTime } from 'ulid';
import { FilesystemBucket } from '../objstore/filesystem.js';
import { BlockReader } from '../profiles/block/reader.js';
import { createIndexClient } from '../profiles/metastore/index-service.js';
import { parseCommandArgs, printTable } from './output.js';

const BLOCKS_HELP = `Usage:
  kiln blocks list [-address=http://localhost:4040] [-tenant=T] [-shard=N] [-level=N]
  kiln blocks inspect <path/to/block.bin>
`;

async function list(args: string[]): Promise<number> {
  const { flags } = parseCommandArgs(args, { values: ['address', 'tenant', 'shard', 'level'] });
  const address = flags.get('address') ?? 'http://localhost:4040';
  const level = flags.get('level') ?? '';
  const res = await createIndexClient(address).queryBlocks({
    tenant: flags.get('tenant') ?? '',
    shard: Number(flags.get('shard') ?? '0'),
    hasLevel: level !== '',
    compactionLevel: Number(level || 0),
  });
  const rows = res.blocks.map((b) => {
    const strings = b.stringTable;
    const tenants = [...new Set(b.datasets.map((d) => strings[d.tenant]))].join(',');
    return [b.id, String(b.shard), String(b.compactionLevel), new Date(decodeTime(b.id)).toISOString(), String(b.size), String(b.datasets.length), tenants, strings[b.createdBy] ?? ''];
  });
  const header = ['ID', 'SHARD', 'LEVEL', 'CREATED', 'BYTES', 'DATASETS', 'TENANTS', 'CREATED BY'];
  printTable(header, rows);
  process.stdout.write(`${rows.length} block(s)\n`);
  return 0;
}

async function inspect(file: string | undefined): Promise<number> {
  if (!file) {
    process.stderr.write(BLOCKS_HELP);
    return 2;
  }
  const bucket = new FilesystemBucket(path.dirname(path.resolve(file)));
  try {
    const reader = await BlockReader.open(bucket, path.basename(file));
    const m = reader.meta;
    process.stdout.write(`block ${m.id}: shard ${m.shard}, level ${m.compactionLevel}, ${m.size} bytes, created by ${m.stringTable[m.createdBy]}\n`);
    process.stdout.write(`time ${new Date(Number(m.minTime)).toISOString()} .. ${new Date(Number(m.maxTime)).toISOString()}\n`);
    for (const ds of reader.datasets()) {
      const series = await reader.readSeries(ds);
      let profiles = 0;
      for await (const group of reader.rowGroups(ds)) profiles += group.length;
      process.stdout.write(`\ndataset tenant=${ds.tenant} service_name=${ds.name}: ${series.length} series, ${profiles} profile rows\n`);
      for (const labels of series) process.stdout.write(`  {${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}\n`);
    }
    return 0;
  } finally {
    await bucket.close();
  }
}

export async function blocksCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return list(rest);
    case 'inspect':
      return inspect(rest.find((a) => !a.startsWith('-')));
    default:
      process.stderr.write(BLOCKS_HELP);
      return 2;
  }
}
