// Object keys of blocks in the bucket, as Pyroscope lays them out
// (pkg/block/object.go): segments are multi-tenant, compacted blocks per tenant.

const FILE = 'block.bin';

function checkShard(shard: number): void {
  if (!Number.isInteger(shard) || shard < 0 || shard > 0xffffffff) throw new Error(`invalid shard ${shard}`);
}

function checkElement(what: string, v: string): void {
  // A key element must not create or escape a directory level.
  if (v === '' || v === '.' || v === '..' || v.includes('/')) throw new Error(`invalid ${what} ${JSON.stringify(v)} for an object path`);
}

/** `segments/<shard>/anonymous/<id>/block.bin`: a level-0 segment. */
export function segmentPath(shard: number, id: string): string {
  checkShard(shard);
  checkElement('block id', id);
  return `segments/${shard}/anonymous/${id}/${FILE}`;
}

/** `blocks/<shard>/<tenant>/<id>/block.bin`: a compacted block (level ≥ 1). */
export function blockPath(shard: number, tenant: string, id: string): string {
  checkShard(shard);
  checkElement('tenant', tenant);
  checkElement('block id', id);
  return `blocks/${shard}/${tenant}/${id}/${FILE}`;
}

/** Key of a block given its level: segments for level 0, blocks otherwise. */
export function objectPath(meta: { shard: number; compactionLevel: number; tenant: string; id: string }): string {
  return meta.compactionLevel === 0 ? segmentPath(meta.shard, meta.id) : blockPath(meta.shard, meta.tenant, meta.id);
}

/** The block id of an object key: its second-to-last element (as Pyroscope parses it). */
export function blockIdFromPath(key: string): string {
  const parts = key.split('/');
  if (parts.length < 2 || parts[parts.length - 1] !== FILE || parts[parts.length - 2] === '') {
    throw new Error(`not a block object key: ${JSON.stringify(key)}`);
  }
  return parts[parts.length - 2]!;
}
