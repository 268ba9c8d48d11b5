// meta.json: what a block holds (time range, counts) and where it came from (compaction
// level, the head blocks it contains, the blocks it replaced). Field names and meanings are
// Prometheus's (spec/tsdb.md §6) so `promtool tsdb list` reads our blocks.
import { createHash } from 'node:crypto';
import { encodeTime, isValid } from 'ulid';

export const META_FILE = 'meta.json';
export const META_VERSION = 1;

export interface BlockStats {
  numSamples: number;
  numSeries: number;
  numChunks: number;
}

export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

export interface BlockMeta {
  ulid: string;
  /** First timestamp the block may hold (ms, inclusive). */
  minTime: number;
  /** End of the block's range (ms, exclusive): every sample has t < maxTime. */
  maxTime: number;
  stats: BlockStats;
  compaction: {
    /** 1 for a block cut from the head, parent level + 1 after compaction. */
    level: number;
    /** The level-1 blocks whose data this block holds, sorted (itself for a level-1 block). */
    sources: string[];
    /** The blocks merged into this one (absent for a level-1 block). */
    parents?: BlockDesc[];
  };
  version: number;
}

/** meta.json is missing a field, has a wrong type, or contradicts itself. */
export class InvalidMetaError extends Error {}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** Parses and checks meta.json text; `file` names the file in errors. */
export function parseMeta(text: string, file: string): BlockMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InvalidMetaError(`${file}: not JSON: ${(err as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new InvalidMetaError(`${file}: ${what}`);
  };
  if (typeof raw !== 'object' || raw === null) bad('not an object');
  const m = raw as Record<string, unknown>;
  if (typeof m.ulid !== 'string' || !isValid(m.ulid)) bad(`ulid ${JSON.stringify(m.ulid)} is not a ULID`);
  if (!isInt(m.minTime) || !isInt(m.maxTime)) bad('minTime and maxTime must be integers');
  if ((m.minTime as number) >= (m.maxTime as number)) bad(`minTime ${m.minTime} is not below maxTime ${m.maxTime}`);
  if (m.version !== META_VERSION) bad(`version ${JSON.stringify(m.version)} is not ${META_VERSION}`);
  const s = m.stats as Record<string, unknown> | undefined;
  if (typeof s !== 'object' || s === null) bad('stats missing');
  for (const k of ['numSamples', 'numSeries', 'numChunks']) if (!isInt(s![k] ?? 0)) bad(`stats.${k} is not an integer`);
  const c = m.compaction as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null) bad('compaction missing');
  if (!isInt(c!.level) || (c!.level as number) < 1) bad('compaction.level must be an integer ≥ 1');
  if (!Array.isArray(c!.sources) || !c!.sources.every((x) => typeof x === 'string' && isValid(x))) bad('compaction.sources must be ULIDs');
  const parents = c!.parents;
  if (parents !== undefined) {
    if (!Array.isArray(parents)) bad('compaction.parents must be an array');
    for (const p of parents as unknown[]) {
      const d = p as Record<string, unknown>;
      if (typeof d !== 'object' || d === null || typeof d.ulid !== 'string' || !isInt(d.minTime) || !isInt(d.maxTime)) bad('compaction.parents entries need ulid, minTime, maxTime');
    }
  }
  return {
    ulid: m.ulid as string,
    minTime: m.minTime as number,
    maxTime: m.maxTime as number,
    stats: { numSamples: (s!.numSamples as number) ?? 0, numSeries: (s!.numSeries as number) ?? 0, numChunks: (s!.numChunks as number) ?? 0 },
    compaction: {
      level: c!.level as number,
      sources: c!.sources as string[],
      ...(parents ? { parents: (parents as BlockDesc[]).map((p) => ({ ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime })) } : {}),
    },
    version: META_VERSION,
  };
}

/** meta.json text: fixed key order and indentation, so equal metas are equal bytes. */
export function formatMeta(meta: BlockMeta): string {
  const ordered = {
    ulid: meta.ulid,
    minTime: meta.minTime,
    maxTime: meta.maxTime,
    stats: { numSamples: meta.stats.numSamples, numSeries: meta.stats.numSeries, numChunks: meta.stats.numChunks },
    compaction: {
      level: meta.compaction.level,
      sources: meta.compaction.sources,
      ...(meta.compaction.parents ? { parents: meta.compaction.parents.map((p) => ({ ulid: p.ulid, minTime: p.minTime, maxTime: p.maxTime })) } : {}),
    },
    version: META_VERSION,
  };
  return `${JSON.stringify(ordered, null, '\t')}\n`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A ULID whose time part is `timeMs` and whose 80 random bits are a SHA-256 of `seed`. A
 * compacted block is named by its parents this way, so a compaction that is retried after a
 * crash produces the same directory name and bytes (DESIGN.md invariant 2).
 */
export function deterministicUlid(timeMs: number, seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  // 80 bits = 16 base-32 characters of 5 bits each, read from the first 10 digest bytes.
  let out = encodeTime(Math.max(0, timeMs), 10);
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | digest[i]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}
