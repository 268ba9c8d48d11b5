// The in-memory head of one tenant's TSDB, backed by its WAL.
//
// Layout in memory (why it is small): label strings are interned once (symbols.ts) and a
// series holds its labels as a Uint32Array of ids; the inverted index keys on ids and stores
// refs in typed arrays (postings.ts); samples live only inside XOR chunk bytes (series.ts), so
// no JS object exists per sample.
//
// Appends (Prometheus semantics, spec/tsdb.md §2.7), decided per sample in request order:
//   t < max(truncation point, head max time − 1 h) and not within the OOO window
//                                                        → too_old
//   new series and the tenant has maxSeriesPerUser series → max_series_per_user
//   t > series' newest                                   → appended
//   t = series' newest, same value bits                  → accepted silently, not counted
//   t = series' newest, other value                      → duplicate_timestamp
//   t < series' newest, OOO window w > 0 and t ≥ max(truncation point, head max − w)
//                                                        → into the series' OOO buffer (a
//                                                          sample already at t: as above)
//   otherwise                                            → out_of_order (too_old if w > 0)
// The bounds use the head's max time at the start of the call (as a Prometheus appender does).
// Rejected samples never create a series.
//
// Durability: one append() builds one WAL write (a series record for the series it created and
// one samples record for everything it stored) and resolves after the WAL has fsynced it
// (group commit, wal.ts). Samples are applied to memory first, synchronously, so concurrent
// appends see each other in order; a reader may see a sample a moment before it is durable. If
// the WAL write fails, append() rejects and the head stops taking appends (its memory may hold
// samples the WAL does not).
//
// For on-disk blocks (db.ts): minTime/maxTime, seriesChunks(minT, maxT) to write a block, then
// truncate(beforeT) to drop what the block holds and checkpoint the WAL.

import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { HI, LO, bitsHi, bitsLo, floatToBits } from '../chunkenc/float-bits.js';
import { encodeXorChunk, SAMPLES_PER_CHUNK } from '../chunkenc/xor-chunk.js';
import type { AppendOptions, AppendOutcome, Labels, Querier, RejectedSample, SeriesMemo, SeriesSamples } from '../storage.js';
import { FRAME_HEADER_BYTES, frameInPlace, frameRecords } from '../wal/wal-segment.js';
import { decodeSeriesRecord, forEachSamplesGroup, RECORD_SAMPLES, RECORD_SERIES, RecordWriter, WalDecodeError } from '../wal/wal-records.js';
import { Wal, type ReplayStats, type TsdbLogger } from '../wal/wal.js';
import { HeadQuerier } from './head-querier.js';
import { compareLabels } from './labels.js';
import { compileMatcher } from './matchers.js';
import { EMPTY, intersect, PostingsIndex, subtract } from './postings.js';
import { MemSeries, SampleBuffer, type HeadChunk } from './series.js';
import { SymbolTable } from './symbols.js';
import type { LabelMatcher } from '../storage.js';

/** Samples older than the head's max time minus this are too old (without an OOO window). */
export const APPENDABLE_WINDOW_MS = 60 * 60 * 1000;

export interface HeadOptions {
  logger: TsdbLogger;
  /** WAL segment size in bytes (default 128 MiB). */
  walSegmentBytes?: number;
}

/** A series with its chunks over a time range, as seriesChunks() yields it for block writing. */
export interface SeriesChunks {
  labels: Labels;
  /** XOR chunk bytes (encoding ENCODING_XOR), ascending and non-overlapping, all within the range. */
  chunks: HeadChunk[];
}

export class HeadClosedError extends Error {
  constructor(dir: string) {
    super(`head ${dir} is closed`);
    this.name = 'HeadClosedError';
  }
}

/** FNV-1a over 32-bit ids; collisions are resolved by comparing the ids. */
function hashIds(ids: Uint32Array, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ ids[i]!, 0x01000193);
  return h >>> 0;
}

function sameIds(a: Uint32Array, b: Uint32Array, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Head {
  readonly dir: string;
  /** What replay found on open. */
  readonly replayStats: ReplayStats;
  private wal!: Wal;
  private readonly logger: TsdbLogger;
  private symbols = new SymbolTable();
  private postings = new PostingsIndex();
  private readonly byRef = new Map<number, MemSeries>();
  private byHash = new Map<number, MemSeries | MemSeries[]>();
  private nextRef = 1;
  private minT = Infinity;
  private maxT = -Infinity;
  /** Nothing older than this is kept or accepted (the last truncate's beforeT). */
  private truncatedBefore = -Infinity;
  private scratchIds = new Uint32Array(64);
  /** Bumped whenever series are removed: memos set before are no longer trusted. */
  private epoch = 0;
  private truncation: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(dir: string, logger: TsdbLogger) {
    this.dir = dir;
    this.logger = logger;
    this.replayStats = { segments: 0, records: 0, bytes: 0, truncatedBytes: 0 };
  }

  /** Opens the head in `dir` (its WAL is `dir/wal`), replaying the WAL. */
  static async open(dir: string, options: HeadOptions): Promise<Head> {
    await mkdir(dir, { recursive: true });
    const head = new Head(dir, options.logger);
    const started = performance.now();
    const { wal, stats } = await Wal.open(
      path.join(dir, 'wal'),
      { logger: options.logger, segmentBytes: options.walSegmentBytes },
      (type, payload) => head.replayRecord(type, payload),
    );
    head.wal = wal;
    Object.assign(head.replayStats, stats);
    options.logger.info(
      { dir, series: head.byRef.size, ...stats, ms: Math.round(performance.now() - started) },
      'TSDB head replayed its WAL',
    );
    return head;
  }

  /** Oldest sample time in the head (+∞ when empty). */
  get minTime(): number {
    return this.minT;
  }
  /** Newest sample time ever appended (−∞ before the first); truncation does not lower it. */
  get maxTime(): number {
    return this.maxT;
  }
  /** The last truncate's beforeT (−∞ if none): data before it is gone and refused. */
  get minValidTime(): number {
    return this.truncatedBefore;
  }
  get numSeries(): number {
    return this.byRef.size;
  }
  /** WAL counters (writes, fsyncs, bytes). */
  get walStats(): Wal['stats'] {
    return this.wal.stats;
  }

  querier(): Querier {
    return new HeadQuerier(this);
  }

  /** Stores one request's samples; resolves when they are in the WAL. */
  append(series: readonly SeriesSamples[], options: AppendOptions): Promise<AppendOutcome> {
    if (this.closed) return Promise.reject(new HeadClosedError(this.dir));
    const rejected: RejectedSample[] = [];
    let appended = 0;
    const window = options.outOfOrderWindowMs > 0 ? options.outOfOrderWindowMs : 0;
    const empty = this.maxT === -Infinity;
    const inOrderMin = empty ? this.truncatedBefore : Math.max(this.truncatedBefore, this.maxT - APPENDABLE_WINDOW_MS);
    const oooMin = window === 0 ? Infinity : empty ? this.truncatedBefore : Math.max(this.truncatedBefore, this.maxT - window);
    const lowest = Math.min(inOrderMin, oooMin);

    const created: MemSeries[] = [];
    const createdLabels: Labels[] = [];
    // Sized for the whole request (a ref, a count, a timestamp and 8 value bytes per series
    // with one sample; ~18 bytes per further sample), with room for the frame header in front,
    // so the record neither grows nor is copied into a frame.
    let sampleCount = 0;
    for (const s of series) sampleCount += Math.max(0, (s.to ?? s.timestamps.length) - (s.from ?? 0));
    const samples = new RecordWriter(FRAME_HEADER_BYTES + 8 * series.length + 18 * sampleCount, FRAME_HEADER_BYTES);
    const groupTs = new SampleBuffer(16);

    // One word view per underlying buffer: the decoder's series all slice the same arrays.
    let wordsBuffer: ArrayBufferLike | undefined;
    let allWords: Uint32Array | undefined;
    for (let si = 0; si < series.length; si++) {
      const s = series[si]!;
      const ts = s.timestamps;
      const vals = s.values;
      const from = s.from ?? 0;
      const n = Math.min(s.to ?? ts.length, ts.length, vals.length);
      // Read value bits straight from a Float64Array (exact NaN payloads); numbers otherwise.
      let words: Uint32Array | undefined;
      let base = 0;
      if (vals instanceof Float64Array) {
        if (vals.buffer !== wordsBuffer) {
          wordsBuffer = vals.buffer;
          allWords = new Uint32Array(wordsBuffer, 0, wordsBuffer.byteLength >>> 2);
        }
        words = allWords;
        base = vals.byteOffset >>> 2;
      }
      // A memo (storage.ts) the caller keeps with this label set skips the lookup while it is
      // this head's and no truncation has removed series since it was set.
      const memo = s.memo;
      let ms: MemSeries | undefined;
      if (memo !== undefined && memo.owner === this && memo.epoch === this.epoch) {
        ms = memo.series as MemSeries;
      } else {
        ms = this.lookup(s.labels);
        if (memo !== undefined && ms !== undefined) this.setMemo(memo, ms);
      }
      groupTs.length = 0;
      for (let j = from; j < n; j++) {
        const t = ts[j]!;
        let hi: number;
        let lo: number;
        if (words !== undefined) {
          hi = words[base + 2 * j + HI]!;
          lo = words[base + 2 * j + LO]!;
        } else {
          floatToBits(vals[j]!);
          hi = bitsHi;
          lo = bitsLo;
        }
        if (t < lowest) {
          rejected.push({ series: si, timestampMs: t, reason: 'too_old' });
          continue;
        }
        if (ms === undefined) {
          if (options.maxSeriesPerUser > 0 && this.byRef.size >= options.maxSeriesPerUser) {
            for (let k = j; k < n; k++) rejected.push({ series: si, timestampMs: ts[k]!, reason: 'max_series_per_user' });
            break;
          }
          ms = this.create(this.nextRef++, s.labels);
          if (memo !== undefined) this.setMemo(memo, ms);
          created.push(ms);
          createdLabels.push(s.labels);
        }
        const newest = ms.maxT;
        if (t > newest) {
          ms.appendInOrder(t, hi, lo);
        } else if (t === newest) {
          const open = ms.open!;
          if (open.lastHi !== hi || open.lastLo !== lo) rejected.push({ series: si, timestampMs: t, reason: 'duplicate_timestamp' });
          continue;
        } else if (t >= oooMin) {
          const existing = ms.valueAt(t);
          if (existing !== undefined) {
            if (existing[0] !== hi || existing[1] !== lo) rejected.push({ series: si, timestampMs: t, reason: 'duplicate_timestamp' });
            continue;
          }
          ms.insertOutOfOrder(t, hi, lo);
        } else {
          // With an OOO window, Prometheus reports every refused old sample as "too old".
          rejected.push({ series: si, timestampMs: t, reason: window > 0 ? 'too_old' : 'out_of_order' });
          continue;
        }
        appended++;
        if (t < this.minT) this.minT = t;
        if (t > this.maxT) this.maxT = t;
        groupTs.push(t, hi, lo);
      }
      if (groupTs.length > 0) writeSamplesGroup(samples, ms!.ref, groupTs);
    }

    if (appended === 0) return Promise.resolve({ appended, rejected });
    let frames: Uint8Array;
    if (created.length === 0) {
      frames = frameInPlace(samples.bytes, samples.length, RECORD_SAMPLES);
    } else {
      frames = frameRecords([
        { type: RECORD_SERIES, payload: encodeSeries(created, createdLabels) },
        { type: RECORD_SAMPLES, payload: samples.finish() },
      ]);
    }
    return this.wal.log(frames).then(() => ({ appended, rejected }));
  }

  /** Refs of the series matching every matcher, ascending (uses the inverted index). */
  postingsForMatchers(matchers: readonly LabelMatcher[]): Uint32Array {
    const compiled = matchers.map(compileMatcher);
    let result: Uint32Array | undefined;
    const remove: Uint32Array[] = [];
    for (const m of compiled) {
      const nameId = this.symbols.get(m.name);
      if (!m.matchesEmpty) {
        let p: Uint32Array;
        if (nameId === undefined) p = EMPTY;
        else if (m.type === '=') {
          const v = this.symbols.get(m.value);
          p = v === undefined ? EMPTY : this.postings.get(nameId, v);
        } else p = this.postings.union(nameId, this.valuesWhere(nameId, m.matches));
        result = result === undefined ? p : intersect(result, p);
        if (result.length === 0) return EMPTY;
      } else if (nameId !== undefined) {
        // Matches series without the label too: drop those whose value does not match.
        let p: Uint32Array;
        if (m.type === '!=') {
          const v = this.symbols.get(m.value);
          p = v === undefined ? EMPTY : this.postings.get(nameId, v);
        } else p = this.postings.union(nameId, this.valuesWhere(nameId, (v) => !m.matches(v)));
        remove.push(p);
      }
    }
    result ??= this.postings.all.view();
    for (const p of remove) result = subtract(result, p);
    return result;
  }

  /** The series with this ref, if live. */
  seriesByRef(ref: number): MemSeries | undefined {
    return this.byRef.get(ref);
  }

  labelsOf(ms: MemSeries): Labels {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < ms.labels.length; i += 2) out.push([this.symbols.string(ms.labels[i]!), this.symbols.string(ms.labels[i + 1]!)]);
    return out;
  }

  /** Label names present in the index, unsorted. */
  allLabelNames(): string[] {
    return Array.from(this.postings.names(), (id) => this.symbols.string(id));
  }

  /** Values present for a label name in the index, unsorted. */
  allLabelValues(name: string): string[] {
    const id = this.symbols.get(name);
    return id === undefined ? [] : Array.from(this.postings.values(id), (v) => this.symbols.string(v));
  }

  /**
   * Every series with data in [minT, maxT] (inclusive) and its chunks restricted to that range,
   * sorted by labels: what a block covering the range needs. Chunks that lie inside the range
   * are the head's own bytes, unchanged (the open chunk is copied); a series whose chunks
   * straddle the range or that has out-of-order samples in it gets fresh chunks of ≤ 120
   * samples. For a block [mint, maxt) pass maxT = maxt − 1.
   */
  *seriesChunks(minT: number, maxT: number): Generator<SeriesChunks> {
    minT = Math.max(minT, this.truncatedBefore);
    const picked: Array<{ ms: MemSeries; labels: Labels }> = [];
    for (const ms of this.byRef.values()) {
      if (ms.minT <= maxT && ms.maxT >= minT) picked.push({ ms, labels: this.labelsOf(ms) });
    }
    picked.sort((a, b) => compareLabels(a.labels, b.labels));
    for (const { ms, labels } of picked) {
      if (ms.empty) continue; // truncated since
      const chunks: HeadChunk[] = [];
      let reencode = ms.hasOutOfOrderIn(minT, maxT);
      if (!reencode) {
        for (const c of ms.chunks) {
          if (c.maxT < minT || c.minT > maxT) continue;
          if (c.minT < minT || c.maxT > maxT) reencode = true;
          chunks.push(c);
        }
        const open = ms.open;
        if (open !== undefined && open.maxT >= minT && open.minT <= maxT) {
          if (open.minT < minT || open.maxT > maxT) reencode = true;
          chunks.push({ minT: open.minT, maxT: open.maxT, bytes: open.bytes() });
        }
      }
      if (reencode) {
        chunks.length = 0;
        const buf = new SampleBuffer(256);
        ms.collect(minT, maxT, buf);
        for (let i = 0; i < buf.length; i += SAMPLES_PER_CHUNK) {
          const end = Math.min(buf.length, i + SAMPLES_PER_CHUNK);
          chunks.push({
            minT: buf.timestamps[i]!,
            maxT: buf.timestamps[end - 1]!,
            bytes: encodeXorChunk(buf.timestamps.subarray(i, end), buf.values.subarray(i, end)),
          });
        }
      }
      if (chunks.length > 0) yield { labels, chunks };
    }
  }

  /**
   * Drops everything older than beforeT (call after a block holding it is written), rejects
   * appends older than it from now on, and checkpoints the WAL: the segments so far are
   * replaced by a checkpoint holding only the live series and their samples ≥ beforeT.
   * Chunks are dropped whole (they end before beforeT); samples < beforeT in a chunk that
   * straddles it stay in memory but are never returned. Truncations run one at a time.
   */
  truncate(beforeT: number): Promise<void> {
    const run = this.truncation.then(() => this.truncateNow(beforeT));
    this.truncation = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.truncation;
    await this.wal.close();
  }

  // ---- internals ----

  private async truncateNow(beforeT: number): Promise<void> {
    if (this.closed) throw new HeadClosedError(this.dir);
    if (beforeT <= this.truncatedBefore) return;
    this.truncatedBefore = beforeT;
    const removed: number[] = [];
    for (const ms of this.byRef.values()) {
      ms.truncateBefore(beforeT);
      if (ms.empty) removed.push(ms.ref);
    }
    if (removed.length > 0) this.epoch++;
    for (const ref of removed) this.byRef.delete(ref);
    this.rebuildIndex();
    let minT = Infinity;
    for (const ms of this.byRef.values()) minT = Math.min(minT, ms.minT);
    this.minT = minT === Infinity ? Infinity : Math.max(minT, beforeT);

    // Snapshot in the same synchronous step as cut(): the snapshot then holds exactly what the
    // segments up to the cut hold (see Wal.cut).
    const cut = this.wal.cut();
    const snapshot: Array<{ ref: number; labels: Labels; samples: SampleBuffer }> = [];
    for (const ms of this.byRef.values()) {
      const samples = new SampleBuffer(128);
      ms.collect(beforeT, Infinity, samples);
      snapshot.push({ ref: ms.ref, labels: this.labelsOf(ms), samples });
    }
    snapshot.sort((a, b) => a.ref - b.ref);
    const upTo = await cut;
    await this.wal.checkpoint(upTo, checkpointFrames(snapshot));
    this.logger.info({ dir: this.dir, beforeT, removedSeries: removed.length, liveSeries: this.byRef.size, upTo }, 'TSDB head truncated');
  }

  /** Rebuilds symbols, postings and the label-set map from the live series (after truncation). */
  private rebuildIndex(): void {
    const old = this.symbols;
    this.symbols = new SymbolTable();
    this.postings = new PostingsIndex();
    this.byHash = new Map();
    const refs = Array.from(this.byRef.keys()).sort((a, b) => a - b);
    for (const ref of refs) {
      const ms = this.byRef.get(ref)!;
      const ids = new Uint32Array(ms.labels.length);
      for (let i = 0; i < ids.length; i++) ids[i] = this.symbols.intern(old.string(ms.labels[i]!));
      ms.labels = ids;
      ms.hash = hashIds(ids, ids.length);
      this.postings.add(ref, ids);
      this.addToHash(ms);
    }
  }

  private setMemo(memo: SeriesMemo, ms: MemSeries): void {
    memo.owner = this;
    memo.epoch = this.epoch;
    memo.series = ms;
  }

  /** Finds a series by labels without adding symbols (a lookup must not grow the head). */
  private lookup(labels: Labels): MemSeries | undefined {
    const n = labels.length * 2;
    if (this.scratchIds.length < n) this.scratchIds = new Uint32Array(n * 2);
    const ids = this.scratchIds;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      const a = this.symbols.get(l[0]);
      const b = this.symbols.get(l[1]);
      if (a === undefined || b === undefined) return undefined;
      ids[2 * i] = a;
      ids[2 * i + 1] = b;
    }
    const e = this.byHash.get(hashIds(ids, n));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return sameIds(e.labels, ids, n) ? e : undefined;
    return e.find((ms) => sameIds(ms.labels, ids, n));
  }

  private create(ref: number, labels: Labels): MemSeries {
    const ids = new Uint32Array(labels.length * 2);
    for (let i = 0; i < labels.length; i++) {
      ids[2 * i] = this.symbols.intern(labels[i]![0]);
      ids[2 * i + 1] = this.symbols.intern(labels[i]![1]);
    }
    const ms = new MemSeries(ref, ids, hashIds(ids, ids.length));
    this.byRef.set(ref, ms);
    this.addToHash(ms);
    this.postings.add(ref, ids);
    return ms;
  }

  private addToHash(ms: MemSeries): void {
    const e = this.byHash.get(ms.hash);
    if (e === undefined) this.byHash.set(ms.hash, ms);
    else if (Array.isArray(e)) e.push(ms);
    else this.byHash.set(ms.hash, [e, ms]);
  }

  private valuesWhere(nameId: number, pred: (v: string) => boolean): number[] {
    const out: number[] = [];
    for (const v of this.postings.values(nameId)) if (pred(this.symbols.string(v))) out.push(v);
    return out;
  }

  private replayRecord(type: number, payload: Uint8Array): void {
    if (type === RECORD_SERIES) {
      for (const { ref, labels } of decodeSeriesRecord(payload)) {
        const existing = this.byRef.get(ref);
        if (existing !== undefined) {
          if (compareLabels(this.labelsOf(existing), labels) !== 0) throw new WalDecodeError(`series ref ${ref} announced twice with different labels`);
          continue;
        }
        if (this.lookup(labels) !== undefined) throw new WalDecodeError(`series ${JSON.stringify(labels)} announced under two refs`);
        this.create(ref, labels);
        if (ref >= this.nextRef) this.nextRef = ref + 1;
      }
    } else if (type === RECORD_SAMPLES) {
      forEachSamplesGroup(payload, HI, LO, (ref, n, ts, words) => {
        const ms = this.byRef.get(ref);
        if (ms === undefined) throw new WalDecodeError(`samples for series ref ${ref}, which no earlier series record announced`);
        for (let i = 0; i < n; i++) {
          const t = ts[i]!;
          const hi = words[2 * i + HI]!;
          const lo = words[2 * i + LO]!;
          // Samples were validated when appended; only place them.
          if (t > ms.maxT) ms.appendInOrder(t, hi, lo);
          else if (ms.valueAt(t) === undefined) ms.insertOutOfOrder(t, hi, lo);
          else continue;
          if (t < this.minT) this.minT = t;
          if (t > this.maxT) this.maxT = t;
        }
      });
    } else {
      throw new WalDecodeError(`unknown record type ${type}`);
    }
  }
}

function writeSamplesGroup(w: RecordWriter, ref: number, g: SampleBuffer): void {
  w.uvarint(ref);
  w.uvarint(g.length);
  let prev = 0;
  for (let i = 0; i < g.length; i++) {
    const t = g.timestamps[i]!;
    w.varint(i === 0 ? t : t - prev);
    prev = t;
  }
  for (let i = 0; i < g.length; i++) w.words(g.words[2 * i + HI]!, g.words[2 * i + LO]!);
}

function writeSeries(w: RecordWriter, ref: number, labels: Labels): void {
  w.uvarint(ref);
  w.uvarint(labels.length);
  for (const [name, value] of labels) {
    w.string(name);
    w.string(value);
  }
}

function encodeSeries(series: MemSeries[], labels: Labels[]): Uint8Array {
  const w = new RecordWriter(64 * series.length);
  for (let i = 0; i < series.length; i++) writeSeries(w, series[i]!.ref, labels[i]!);
  return w.finish();
}

/** Checkpoint contents: series records, then samples records, ~1 MiB per record. */
function* checkpointFrames(snapshot: Array<{ ref: number; labels: Labels; samples: SampleBuffer }>): Generator<Uint8Array> {
  const LIMIT = 1 << 20;
  let w = new RecordWriter(LIMIT + 4096);
  for (const s of snapshot) {
    writeSeries(w, s.ref, s.labels);
    if (w.length >= LIMIT) {
      yield frameRecords([{ type: RECORD_SERIES, payload: w.finish() }]);
      w = new RecordWriter(LIMIT + 4096);
    }
  }
  if (w.length > 0) yield frameRecords([{ type: RECORD_SERIES, payload: w.finish() }]);
  w = new RecordWriter(LIMIT + 4096);
  for (const s of snapshot) {
    if (s.samples.length === 0) continue;
    writeSamplesGroup(w, s.ref, s.samples);
    if (w.length >= LIMIT) {
      yield frameRecords([{ type: RECORD_SAMPLES, payload: w.finish() }]);
      w = new RecordWriter(LIMIT + 4096);
    }
  }
  if (w.length > 0) yield frameRecords([{ type: RECORD_SAMPLES, payload: w.finish() }]);
}
