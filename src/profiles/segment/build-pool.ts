// Where segments are built: a pool of worker threads (build-worker.ts), or
// the main thread when -segment-writer.build-threads=0.
//
// A segment is spread over every worker of the pool: its request parts are
// streamed, while it is open, in batches of up to BATCH_BYTES or BATCH_MS,
// each batch to the worker with the fewest bytes still to add (each reports
// the batches it is done with), so decoding and interning run on all the
// other cores while the main thread keeps serving HTTP. (All the pushes
// of one service land in one shard, hence one segment: a segment per worker
// would leave the other cores idle while one works through its backlog, and
// that backlog is what the pushes wait for.) At the end all workers but one,
// the segment's primary, hand their datasets over unencoded; the primary
// merges them into its own and encodes the block. Primaries take turns, so
// one segment is encoded while the next fills. The SegmentWriter registers
// segments in ULID order anyway.
//
// A part is all or nothing and travels in one batch, so each worker judges
// whole requests; the pool puts the outcomes back in the order parts came.
//
// A worker that dies fails every segment it holds a share of (their pushes
// get 503) and is replaced when the next segment opens.

import { fromBinary } from '@bufbuild/protobuf';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { BlockMetaSchema } from '../../gen/metastore/v1/types_pb.js';
import type { RowColumns } from '../block/model.js';
import { type FromWorker, type ToWorker, type WireBuilt, type WireHead, type WirePartial, headBuffers, packBatch, rowBuffers } from './build-protocol.js';
import { ACCEPTED, type BuilderOptions, type BuiltSegment, type RequestPart, SegmentBuilder } from './segment-builder.js';

/** One segment being built. */
export interface SegmentBuild {
  /** Queues a request part; its outcome is in finish()'s result, at the same index. */
  add(part: RequestPart): void;
  /** No more parts: builds the block. Rejects when the build failed (e.g. its worker died). */
  finish(): Promise<BuiltSegment>;
}

export interface SegmentBuilds {
  /** Starts a segment. onFailure is called, at most once, when the build fails before finish() is called. */
  start(id: string, shard: number, onFailure: (e: Error) => void): SegmentBuild;
  /** Stops the workers; call after every build has finished. */
  close(): Promise<void>;
}

/** Builds on the main thread (-segment-writer.build-threads=0). */
export class InlineBuilds implements SegmentBuilds {
  constructor(private readonly opts: BuilderOptions) {}

  start(id: string, shard: number): SegmentBuild {
    const builder = new SegmentBuilder(this.opts, id, shard);
    // Parts are decoded one after the other, in the order they were added.
    let chain = Promise.resolve();
    return {
      add(part) {
        chain = chain.then(() => builder.add(part));
      },
      finish: () => chain.then(() => builder.finish()),
    };
  }

  async close(): Promise<void> {}
}

/** The old generation size below which a build worker does not mark (see BuildWorker)… */
const WORKER_OLD_SPACE_FLOOR_MB = 128;

/** …but at most 1/16 of the heap limit (of the main thread, which Node sizes from the machine's memory or --max-old-space-size): garbage headroom must not crowd a small machine. */
function workerOldSpaceFloorMb(): number {
  return Math.min(WORKER_OLD_SPACE_FLOOR_MB, Math.floor(v8.getHeapStatistics().heap_size_limit / 16 / 2 ** 20));
}

/** A batch is posted to its worker once it holds this many bytes… */
const BATCH_BYTES = 1024 * 1024;
/** …or this long after its first part: one message per request would cost more than a small profile's decode. */
const BATCH_MS = 10;

export class BuildWorkerPool implements SegmentBuilds {
  private readonly slots: (BuildWorker | undefined)[];
  private next = 0;
  private closing = false;

  constructor(
    threads: number,
    private readonly opts: BuilderOptions,
    private readonly logger: Logger,
  ) {
    if (!(threads >= 1)) throw new RangeError(`a build pool needs at least one thread, got ${threads}`);
    this.slots = Array.from({ length: threads }, () => this.spawn());
  }

  start(id: string, shard: number, onFailure: (e: Error) => void): SegmentBuild {
    if (this.closing) throw new Error('segment build pool is closed');
    // Dead workers are replaced here, not in their exit handler, so a worker
    // that cannot start does not respawn in a loop.
    for (let i = 0; i < this.slots.length; i++) {
      const w = this.slots[i];
      if (!w || w.dead) this.slots[i] = this.spawn();
    }
    const first = this.next;
    this.next = (first + 1) % this.slots.length;
    const members = Array.from({ length: this.slots.length }, (_, k) => this.slots[(first + k) % this.slots.length]!);
    return new PoolBuild(members, id, shard, onFailure);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((w) => w?.terminate()));
  }

  /** For tests: the worker threads, to provoke a crash. */
  workersForTest(): Worker[] {
    return this.slots.flatMap((w) => (w && !w.dead ? [w.worker] : []));
  }

  private spawn(): BuildWorker {
    return new BuildWorker(this.opts, (code, builds) => {
      if (this.closing) return;
      this.logger.error({ exitCode: code, segments: builds }, 'segment build worker exited; its segments fail and it is replaced');
    });
  }
}

/** A worker's view of one segment it holds a share of. */
interface Share {
  onMessage(m: Exclude<FromWorker, { type: 'ready' | 'progress' }>): void;
  fail(e: Error): void;
}

class BuildWorker {
  readonly worker: Worker;
  readonly shares = new Map<string, Share>();
  dead = false;
  /** Bytes of the batches posted to this worker that it has not added yet: where the next batch goes (see PoolBuild.send). */
  queuedBytes = 0;
  private lastError: Error | undefined;

  constructor(opts: BuilderOptions, onExit: (code: number, builds: number) => void) {
    const { script, eval: isEval } = workerScript();
    // A large young generation (3 × 64 MiB semi-spaces, more than the main thread's, see
    // docs/tsdb.md "Node heap") lets each segment's decode buffers die young instead of being
    // promoted. V8 lets a --max-semi-space-size flag override every isolate's resourceLimits,
    // and Kiln runs with one for the main thread, whose heap is sized already: clearing it
    // here (0 = no override) lets the worker's own limit apply. Measured under ingest load:
    // a worker's scavenges went from ~25/s to ~7/s, their total time halved.
    v8.setFlagsFromString('--max-semi-space-size=0');
    // V8 starts marking the old generation whenever its headroom is smaller than the young
    // generation, so that a scavenge can always promote: with 64 MiB semi-spaces and ~10 MiB
    // live, a worker marked and compacted every ~0.4 s. A configured initial old-space size is
    // also the floor of the old generation's limit, so a worker now marks about once per 5 s
    // (each worker may hold up to this much garbage). Measured under ingest load: 12 % more
    // pushes per second. Only isolates created after this read it: the main thread's is not.
    v8.setFlagsFromString(`--initial-old-space-size=${workerOldSpaceFloorMb()}`);
    this.worker = new Worker(script, { eval: isEval, workerData: opts, resourceLimits: { maxYoungGenerationSizeMb: 192 } });
    // Idle workers must not keep a process alive (e.g. when startup fails after
    // the writer was created); while segments are in flight the server is open.
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') this.queuedBytes -= m.bytes;
      else if (m.type !== 'ready') this.shares.get(m.segment)?.onMessage(m);
    });
    this.worker.on('error', (e) => (this.lastError = e));
    this.worker.on('exit', (code) => {
      this.dead = true;
      onExit(code, this.shares.size);
      const err = new Error(`segment build worker exited (code ${code}${this.lastError ? `: ${this.lastError.message}` : ''})`);
      const shares = [...this.shares.values()];
      this.shares.clear();
      for (const b of shares) b.fail(err);
    });
  }

  open(id: string, shard: number, share: Share): void {
    this.shares.set(id, share);
    this.post({ type: 'open', segment: id, shard });
  }

  /** Holds a share of a segment again while it encodes rows for the segment's primary: if it dies meanwhile, the segment fails. */
  lend(id: string, share: Share): void {
    this.shares.set(id, share);
  }

  /** Drops the segment here (it finished, or failed on another worker). */
  forget(id: string, abort: boolean): void {
    if (this.shares.delete(id) && abort) this.post({ type: 'abort', segment: id });
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.dead) this.worker.postMessage(m, transfer);
  }

  async terminate(): Promise<void> {
    if (!this.dead) await this.worker.terminate();
  }
}

/** One segment, spread over the pool's workers; members[0] is its primary. */
class PoolBuild implements SegmentBuild {
  private pending: RequestPart[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private turn = 0;
  /** The member each part went to, in the order parts were added. */
  private readonly owners: number[] = [];
  private readonly partials: (WirePartial | undefined)[];
  private awaitedPartials: number;
  private finishing = false;
  private failed: Error | undefined;
  private resolve!: (b: BuiltSegment) => void;
  private reject!: (e: Error) => void;
  private readonly result = new Promise<BuiltSegment>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });

  constructor(
    private readonly members: BuildWorker[],
    private readonly id: string,
    shard: number,
    private readonly onFailure: (e: Error) => void,
  ) {
    // The writer awaits the result only after finish(); a failure before that is reported through onFailure.
    this.result.catch(() => undefined);
    this.partials = new Array<WirePartial | undefined>(members.length);
    this.awaitedPartials = members.length - 1;
    members.forEach((w, i) => w.open(id, shard, this.share(i)));
  }

  add(part: RequestPart): void {
    if (this.failed) return;
    this.pending.push(part);
    for (const p of part.profiles) this.pendingBytes += p.bytes.length;
    if (this.pendingBytes >= BATCH_BYTES) this.send();
    else this.timer ??= setTimeout(() => this.send(), BATCH_MS);
  }

  finish(): Promise<BuiltSegment> {
    this.finishing = true;
    this.send();
    if (!this.failed) {
      if (this.awaitedPartials === 0) this.closePrimary();
      for (let i = 1; i < this.members.length; i++) this.members[i]!.post({ type: 'close', segment: this.id, partial: true });
    }
    return this.result;
  }

  private share(member: number): Share {
    return { onMessage: (m) => this.onMessage(member, m), fail: (e) => this.fail(e) };
  }

  private onMessage(member: number, m: Exclude<FromWorker, { type: 'ready' | 'progress' }>): void {
    if (this.failed) return;
    if (m.type === 'failed') return this.fail(new Error(`segment build failed: ${m.message}`));
    if (m.type === 'offload') return this.offload(m.job, m.rows);
    this.members[member]!.forget(this.id, false);
    if (m.type === 'rows-encoded' || m.type === 'rows-failed') {
      // The helper's part is done: the primary takes it from here.
      this.members[0]!.post(m, m.type === 'rows-encoded' ? [m.result.bytes.buffer as ArrayBuffer] : []);
      return;
    }
    if (m.type === 'partial') {
      this.partials[member] = m;
      if (--this.awaitedPartials === 0) this.closePrimary();
      return;
    }
    this.succeed(m);
  }

  /** Every other member has handed its datasets over: the primary merges them and encodes. */
  private closePrimary(): void {
    const heads: WireHead[] = [];
    for (const p of this.partials) if (p) heads.push(...p.heads);
    const helper = this.members.length > 1;
    this.members[0]!.post({ type: 'close', segment: this.id, helper, ...(heads.length > 0 ? { merge: heads } : {}) }, heads.flatMap(headBuffers));
  }

  /**
   * The primary asks for some of a large dataset's row groups to be encoded
   * elsewhere while it encodes the others: the next member, which by now has
   * handed its share over and, as every client waits for this segment, has
   * little else to do.
   */
  private offload(job: number, rows: RowColumns): void {
    const helper = this.members[1]!;
    if (helper.dead) {
      this.members[0]!.post({ type: 'rows-failed', segment: this.id, job, message: 'the helper worker exited' });
      return;
    }
    helper.lend(this.id, this.share(1));
    helper.post({ type: 'encode-rows', segment: this.id, job, rows }, rowBuffers(rows));
  }

  private succeed(m: WireBuilt): void {
    // Each member numbered its own parts; put the outcomes back in the order the parts came.
    const shares = this.members.map((_, i): { parts: number; rejections: WireBuilt['rejections'] } => (i === 0 ? m : this.partials[i]!));
    const rejected = shares.map((sh) => new Map(sh.rejections));
    const seen = new Array<number>(this.members.length).fill(0);
    const outcomes = this.owners.map((member) => rejected[member]!.get(seen[member]!++) ?? ACCEPTED);
    const accepted = new Map<string, number>();
    const rejectedRequests = new Map<string, number>();
    for (const sh of [m, ...this.partials]) {
      if (!sh) continue;
      for (const [tenant, n] of sh.acceptedProfiles) accepted.set(tenant, (accepted.get(tenant) ?? 0) + n);
      for (const [reason, n] of sh.rejectedRequests) rejectedRequests.set(reason, (rejectedRequests.get(reason) ?? 0) + n);
    }
    this.resolve({
      outcomes,
      block: m.block ? { bytes: m.block.bytes, meta: fromBinary(BlockMetaSchema, m.block.meta) } : null,
      acceptedProfiles: [...accepted],
      rejectedRequests: [...rejectedRequests],
    });
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    clearTimeout(this.timer);
    this.pending = [];
    for (const w of this.members) w.forget(this.id, true);
    this.reject(e);
    if (!this.finishing) this.onFailure(e);
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.failed) return;
    const batch = packBatch(this.pending);
    const member = this.leastQueued();
    this.turn = (member + 1) % this.members.length;
    for (let i = 0; i < this.pending.length; i++) this.owners.push(member);
    this.pending = [];
    this.pendingBytes = 0;
    const worker = this.members[member]!;
    worker.queuedBytes += batch.buffer.byteLength;
    worker.post({ type: 'add', segment: this.id, batch }, [batch.buffer]);
  }

  /**
   * The member with the fewest bytes still to add, taking turns among equals.
   * In turn regardless, one worker (say the primary still encoding the last
   * segment) fell behind the other: at the tick the segment waited for its
   * backlog, 180–235 ms after the other had finished, under the ingest
   * benchmark.
   */
  private leastQueued(): number {
    let best = this.turn;
    for (let k = 1; k < this.members.length; k++) {
      const i = (this.turn + k) % this.members.length;
      if (this.members[i]!.queuedBytes < this.members[best]!.queuedBytes) best = i;
    }
    return best;
  }
}

/**
 * The worker's entry: build-worker.js beside this file in dist/. Under tsx or
 * vitest this file is TypeScript source, which a plain Worker cannot load, so
 * the worker first registers tsx's loader, then imports build-worker.ts.
 */
function workerScript(): { script: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./build-worker.js', import.meta.url), eval: false };
  const entry = new URL('./build-worker.ts', import.meta.url).href;
  return {
    script: `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`,
    eval: true,
  };
}
