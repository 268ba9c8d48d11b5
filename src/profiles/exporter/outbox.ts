// The metrics outbox: committed observer results waiting to be remote-written.
//
// The metastore calls onJobCommitted after a job's commit record is durable (and again, on
// start, for every commit still in its log). The outbox appends the job's ObserverResult to
// its own record log (<metastore data dir>/outbox.log) and resolves only once that append is
// fsynced, so the metastore never rewrites a commit out of its log before the outbox holds it.
// The exporter then takes entries out per (tenant, shard) and marks each tenant done.
//
// Records (payload of one RecordLog frame; docs/metrics-from-profiles.md "Outbox"):
//
//   type u8 ‖ header length u32 BE ‖ header (JSON, UTF-8) ‖ body (the rest)
//
//   1 ENTRY        {job, shard, firstSource, committedAt}  body: metrics.v1.ObserverResult
//   2 TENANT_DONE  {job, tenant, outcome: "sent" | "dropped"}
//   3 EXPORTED     {job}     (rewrites only: a finished job whose commit may still be replayed)
//
// Idempotency: a job name that is pending or remembered as exported is skipped, because the
// metastore replays commits. Names are remembered only while the commit can still be replayed:
// until the metastore next rewrites its log (onMetastoreLogRewritten) — and, after a restart,
// only the names the metastore actually replayed (markReplayDone). So the set is bounded by
// the number of commit records in the metastore log.
import { mkdir, open, rename } from 'node:fs/promises';
import * as path from 'node:path';
import { fromBinary, toBinary, create } from '@bufbuild/protobuf';
import { ObserverResultSchema, type ObserverResult, type TenantSamples } from '../../gen/metrics/v1/recorded_pb.js';
import { fsyncDir } from '../../objstore/filesystem.js';
import { encodeFrame, RecordLog, type LogLogger } from '../metastore/log.js';
import type { JobCommittedEvent } from '../metastore/metastore.js';

export const OUTBOX_FILE = 'outbox.log';
const REWRITE_SUFFIX = '.rewrite';

const enum RecordType {
  Entry = 1,
  TenantDone = 2,
  Exported = 3,
}

export type TenantOutcome = 'sent' | 'dropped';

/** One committed job's samples that are not exported yet. */
export interface OutboxEntry {
  job: string;
  shard: number;
  /** Smallest source block id of the job: the job's place in its shard's order. */
  firstSource: string;
  /** Unix ms of the metastore commit. */
  committedAt: number;
  /** Sample timestamp of every series (ObserverResult.timestamp_ms). */
  timestampMs: number;
  /** Tenants still to export, with their samples. Never empty while the entry is pending. */
  tenants: Map<string, TenantSamples>;
  /** False until the entry's record is fsynced; the exporter waits for it. */
  durable: boolean;
}

export interface OutboxOptions {
  logger?: LogLogger;
  /** The file is rewritten once it is this large and twice its size after the last rewrite. */
  rewriteMinBytes?: number;
  /** Called when a new entry is taken (for metrics and to wake the exporter). */
  onNewEntry?: (entry: OutboxEntry, result: ObserverResult) => void;
  /** Called for an observer result that cannot be decoded (it is never exported). */
  onUndecodable?: (job: string, err: unknown) => void;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function encodeRecord(type: RecordType, header: object, body?: Uint8Array): Uint8Array {
  const h = utf8Encoder.encode(JSON.stringify(header));
  const out = new Uint8Array(5 + h.length + (body?.length ?? 0));
  out[0] = type;
  new DataView(out.buffer).setUint32(1, h.length);
  out.set(h, 5);
  if (body) out.set(body, 5 + h.length);
  return out;
}

function decodeRecord(payload: Uint8Array): { type: number; header: Record<string, unknown>; body: Uint8Array } {
  if (payload.length < 5) throw new Error('outbox record shorter than its 5-byte prefix');
  const len = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(1);
  if (5 + len > payload.length) throw new Error('outbox record header runs past the record');
  const header = JSON.parse(utf8Decoder.decode(payload.subarray(5, 5 + len))) as Record<string, unknown>;
  return { type: payload[0]!, header, body: payload.subarray(5 + len) };
}

function compareEntries(a: OutboxEntry, b: OutboxEntry): number {
  if (a.firstSource !== b.firstSource) return a.firstSource < b.firstSource ? -1 : 1;
  return a.job < b.job ? -1 : a.job > b.job ? 1 : 0;
}

const defaultLogger: LogLogger = {
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`),
  info: () => {},
};

export class Outbox {
  readonly path: string;
  private log: RecordLog;
  private readonly logger: LogLogger;
  private readonly rewriteMinBytes: number;
  private readonly entries = new Map<string, OutboxEntry>();
  /** Finished jobs whose commit the metastore may still replay. */
  private readonly exported = new Set<string>();
  /** Jobs the metastore delivered since it opened or last rewrote its log. */
  private readonly replayable = new Set<string>();
  /** Entry appends not yet durable, by job (a concurrent duplicate waits for the first). */
  private readonly appending = new Map<string, Promise<void>>();
  private readonly inflight = new Set<Promise<void>>();
  private rewriting: Promise<void> | undefined;
  private lastRewriteBytes = 0;
  private closed = false;
  onNewEntry: OutboxOptions['onNewEntry'];
  onUndecodable: OutboxOptions['onUndecodable'];

  private constructor(filePath: string, log: RecordLog, options: OutboxOptions) {
    this.path = filePath;
    this.log = log;
    this.logger = options.logger ?? defaultLogger;
    this.rewriteMinBytes = options.rewriteMinBytes ?? 16 * 1024 * 1024;
    this.onNewEntry = options.onNewEntry;
    this.onUndecodable = options.onUndecodable;
  }

  /** Opens (creating) `<dir>/outbox.log` and replays it. Open it before the metastore. */
  static async open(dir: string, options: OutboxOptions = {}): Promise<Outbox> {
    await mkdir(dir, { recursive: true });
    const filePath = path.join(dir, OUTBOX_FILE);
    const { log, records } = await RecordLog.open(filePath, { logger: options.logger ?? defaultLogger });
    const outbox = new Outbox(filePath, log, options);
    for (const r of records) outbox.replay(r.payload, r.offset);
    outbox.lastRewriteBytes = log.byteLength;
    return outbox;
  }

  // ---- Metastore side ---------------------------------------------------------------------

  /**
   * The metastore's job-committed hook. Resolves once the job's samples are durable here (or
   * immediately when there is nothing to keep: no series, already pending, already exported).
   */
  onJobCommitted(event: JobCommittedEvent): Promise<void> {
    const name = event.job.name;
    this.replayable.add(name);
    const pending = this.appending.get(name);
    if (pending !== undefined) return pending;
    if (this.entries.has(name) || this.exported.has(name)) return Promise.resolve();
    if (event.observerResult.length === 0) return Promise.resolve();

    let result: ObserverResult;
    try {
      result = fromBinary(ObserverResultSchema, event.observerResult);
    } catch (err) {
      // Nothing to retry: the same bytes would fail again. Counted and logged, never exported.
      this.logger.warn({ job: name, err: String(err) }, 'metrics outbox: observer result cannot be decoded; its samples are dropped');
      this.onUndecodable?.(name, err);
      return Promise.resolve();
    }
    const tenants = new Map<string, TenantSamples>();
    for (const t of result.tenants) if (t.series.length > 0) tenants.set(t.tenant, t);
    const entry: OutboxEntry = {
      job: name,
      shard: event.job.shard,
      firstSource: minString(event.job.sources),
      committedAt: event.committedAt,
      timestampMs: Number(result.timestampMs),
      tenants,
      durable: false,
    };
    // Report it even when no tenant has series: dropped-series counts ride along.
    this.onNewEntry?.(entry, result);
    if (tenants.size === 0) return Promise.resolve();

    // Visible at once (not durable yet): the exporter must already see it as the head of its
    // (tenant, shard) lines, or a later job of the shard could be sent in the meantime.
    this.entries.set(name, entry);
    const header = { job: name, shard: entry.shard, firstSource: entry.firstSource, committedAt: entry.committedAt };
    const write = this.write(encodeRecord(RecordType.Entry, header, event.observerResult)).then(
      () => {
        entry.durable = true;
        this.appending.delete(name);
      },
      (err: unknown) => {
        // The log is unusable (disk failure). The metastore logs the hook failure; a restart
        // replays the commit if it is still in the metastore's log.
        this.entries.delete(name);
        this.appending.delete(name);
        throw err;
      },
    );
    this.appending.set(name, write);
    return write;
  }

  /**
   * Call once the metastore has opened (every replayed commit was delivered): remembered
   * exported names that were not replayed can never be replayed again.
   */
  markReplayDone(): void {
    for (const name of this.exported) if (!this.replayable.has(name)) this.exported.delete(name);
  }

  /**
   * Call after the metastore rewrote its log: no earlier commit will be replayed, so none of the
   * remembered names is needed any more (metastore hooks are settled before a rewrite).
   */
  onMetastoreLogRewritten(): void {
    this.replayable.clear();
    this.exported.clear();
    void this.maybeRewrite().catch((err: unknown) => this.logger.warn({ err: String(err) }, 'metrics outbox: rewrite failed'));
  }

  // ---- Exporter side ----------------------------------------------------------------------

  /** Pending entries in job order (first source, then name). */
  pending(): OutboxEntry[] {
    return [...this.entries.values()].sort(compareEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Pending (job, tenant) pairs. */
  get pendingTenants(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.tenants.size;
    return n;
  }

  /** Commit time of the oldest pending entry, or undefined when empty. */
  get oldestCommittedAt(): number | undefined {
    let oldest: number | undefined;
    for (const e of this.entries.values()) if (oldest === undefined || e.committedAt < oldest) oldest = e.committedAt;
    return oldest;
  }

  /** Resolves once every entry taken so far is durable (or failed). */
  async settled(): Promise<void> {
    while (this.appending.size > 0) await Promise.allSettled([...this.appending.values()]);
  }

  /** True when the job is remembered as exported (tests, diagnostics). */
  isExported(job: string): boolean {
    return this.exported.has(job);
  }

  /** Records that a tenant's samples of a job are done (sent or dropped); durable on resolve. */
  async completeTenant(job: string, tenant: string, outcome: TenantOutcome): Promise<void> {
    const entry = this.entries.get(job);
    if (entry === undefined || !entry.tenants.has(tenant)) return;
    await this.write(encodeRecord(RecordType.TenantDone, { job, tenant, outcome }));
    this.applyTenantDone(job, tenant, this.replayable.has(job));
    await this.maybeRewrite();
  }

  /** Bytes of the outbox file. */
  get byteLength(): number {
    return this.log.byteLength;
  }

  /** Rewrites the file when it has grown past rewriteMinBytes and twice its last rewrite. */
  async maybeRewrite(): Promise<boolean> {
    const size = this.log.byteLength;
    if (this.closed || this.rewriting || size < this.rewriteMinBytes || size < 2 * this.lastRewriteBytes) return false;
    await this.rewrite();
    return true;
  }

  /**
   * Replaces the file by the live state: one ENTRY per pending job (only its pending tenants)
   * and one EXPORTED per remembered name. Written to outbox.log.rewrite, fsynced, renamed over
   * outbox.log, directory fsynced: a crash leaves either the old or the new file, both complete.
   */
  rewrite(): Promise<void> {
    this.rewriting ??= this.doRewrite().finally(() => {
      this.rewriting = undefined;
    });
    return this.rewriting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.rewriting) await this.rewriting;
    await this.log.close();
  }

  // ---- Internals --------------------------------------------------------------------------

  /** Appends a record after any running rewrite; resolves once it is durable. */
  private async write(payload: Uint8Array): Promise<void> {
    while (this.rewriting) await this.rewriting.catch(() => {});
    const p = this.log.append(payload);
    this.inflight.add(p);
    try {
      await p;
    } finally {
      this.inflight.delete(p);
    }
  }

  private async doRewrite(): Promise<void> {
    // Let every accepted append finish and its caller update the state, so the snapshot
    // reflects everything that was acknowledged.
    await Promise.allSettled([...this.inflight]);
    await new Promise((resolve) => setImmediate(resolve));
    const frames: Uint8Array[] = [];
    for (const e of this.pending()) {
      // Not durable now means its append waits for this rewrite and lands in the new file.
      if (!e.durable) continue;
      const result = create(ObserverResultSchema, { tenants: [...e.tenants.values()], timestampMs: BigInt(e.timestampMs), shard: e.shard });
      const header = { job: e.job, shard: e.shard, firstSource: e.firstSource, committedAt: e.committedAt };
      frames.push(encodeFrame(encodeRecord(RecordType.Entry, header, toBinary(ObserverResultSchema, result))));
    }
    for (const job of [...this.exported].sort()) frames.push(encodeFrame(encodeRecord(RecordType.Exported, { job })));
    const tmp = this.path + REWRITE_SUFFIX;
    const before = this.log.byteLength;
    await this.log.close();
    try {
      const fh = await open(tmp, 'w');
      try {
        for (const f of frames) await fh.write(f);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      await fsyncDir(path.dirname(this.path));
    } finally {
      // Old file intact before the rename, new one complete after it: reopen whichever is there.
      this.log = (await RecordLog.open(this.path, { logger: this.logger })).log;
    }
    this.lastRewriteBytes = this.log.byteLength;
    this.logger.info({ path: this.path, beforeBytes: before, afterBytes: this.lastRewriteBytes }, 'metrics outbox rewritten');
  }

  /** Drops a tenant from its entry; a job with no tenant left is done (and maybe remembered). */
  private applyTenantDone(job: string, tenant: string, remember: boolean): void {
    const entry = this.entries.get(job);
    if (entry === undefined) return;
    entry.tenants.delete(tenant);
    if (entry.tenants.size > 0) return;
    this.entries.delete(job);
    if (remember) this.exported.add(job);
  }

  private replay(payload: Uint8Array, offset: number): void {
    let rec: ReturnType<typeof decodeRecord>;
    try {
      rec = decodeRecord(payload);
      const job = String(rec.header['job']);
      switch (rec.type) {
        case RecordType.Entry: {
          const result = fromBinary(ObserverResultSchema, rec.body);
          const tenants = new Map<string, TenantSamples>();
          for (const t of result.tenants) if (t.series.length > 0) tenants.set(t.tenant, t);
          if (tenants.size === 0) return;
          this.entries.set(job, {
            job,
            shard: Number(rec.header['shard']),
            firstSource: String(rec.header['firstSource']),
            committedAt: Number(rec.header['committedAt']),
            timestampMs: Number(result.timestampMs),
            tenants,
            durable: true,
          });
          return;
        }
        case RecordType.TenantDone:
          // Remembered for now; markReplayDone forgets it unless the metastore replays it.
          this.applyTenantDone(job, String(rec.header['tenant']), true);
          return;
        case RecordType.Exported:
          this.exported.add(job);
          return;
        default:
          throw new Error(`unknown outbox record type ${rec.type}`);
      }
    } catch (err) {
      // The frame's CRC was fine, so this is a record a newer version wrote (or a bug): skip it
      // rather than refuse to start; the metastore's replay re-delivers what may be missing.
      this.logger.warn({ path: this.path, offset, err: String(err) }, 'metrics outbox: skipping a record it cannot read');
    }
  }
}

function minString(xs: readonly string[]): string {
  let min = xs[0] ?? '';
  for (const x of xs) if (x < min) min = x;
  return min;
}
