// Where segments are built: a pool of worker threads (build-worker.ts), or
// the main thread when -segment-writer.build-threads=0.
//
// A segment is assigned to one worker when it opens and streams its request
// parts there while it is open (in batches of up to BATCH_BYTES or BATCH_MS),
// so decoding and interning run on another core while the main thread keeps
// serving HTTP, and closing a segment only has to encode it. Consecutive
// segments of a shard usually go to different workers, so one can be encoded
// while the next fills. The SegmentWriter registers them in ULID order anyway.
//
// A worker that dies fails every segment it holds (their pushes get 503) and
// is replaced when the next segment opens.

import { fromBinary } from '@bufbuild/protobuf';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { BlockMetaSchema } from '../../gen/metastore/v1/types_pb.js';
import { type FromWorker, type ToWorker, type WireBuilt, packBatch } from './build-protocol.js';
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
    // The worker with the fewest segments; a dead one is replaced here, not in
    // its exit handler, so a worker that cannot start does not respawn in a loop.
    let best = -1;
    for (let k = 0; k < this.slots.length; k++) {
      const i = (this.next + k) % this.slots.length;
      const w = this.slots[i];
      if (!w || w.dead) {
        best = i;
        break;
      }
      if (best < 0 || w.builds.size < this.slots[best]!.builds.size) best = i;
    }
    this.next = (best + 1) % this.slots.length;
    let w = this.slots[best];
    if (!w || w.dead) this.slots[best] = w = this.spawn();
    return w.start(id, shard, onFailure);
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

class BuildWorker {
  readonly worker: Worker;
  readonly builds = new Map<string, WorkerBuild>();
  dead = false;
  private lastError: Error | undefined;

  constructor(opts: BuilderOptions, onExit: (code: number, builds: number) => void) {
    const { script, eval: isEval } = workerScript();
    // A young generation as large as the main thread's (--max-semi-space-size=64: 3 × 64 MiB)
    // lets each segment's decode buffers die young instead of being promoted.
    this.worker = new Worker(script, { eval: isEval, workerData: opts, resourceLimits: { maxYoungGenerationSizeMb: 192 } });
    // Idle workers must not keep a process alive (e.g. when startup fails after
    // the writer was created); while segments are in flight the server is open.
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (e) => (this.lastError = e));
    this.worker.on('exit', (code) => {
      this.dead = true;
      onExit(code, this.builds.size);
      const err = new Error(`segment build worker exited (code ${code}${this.lastError ? `: ${this.lastError.message}` : ''})`);
      for (const b of this.builds.values()) b.fail(err);
      this.builds.clear();
    });
  }

  start(id: string, shard: number, onFailure: (e: Error) => void): SegmentBuild {
    const build = new WorkerBuild(this, id, onFailure);
    this.builds.set(id, build);
    this.post({ type: 'open', segment: id, shard });
    return build;
  }

  post(m: ToWorker, transfer: ArrayBuffer[] = []): void {
    if (!this.dead) this.worker.postMessage(m, transfer);
  }

  async terminate(): Promise<void> {
    if (!this.dead) await this.worker.terminate();
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'ready') return;
    const build = this.builds.get(m.segment);
    if (!build) return;
    this.builds.delete(m.segment);
    if (m.type === 'built') build.succeed(m);
    else build.fail(new Error(`segment build failed: ${m.message}`));
  }
}

class WorkerBuild implements SegmentBuild {
  private pending: RequestPart[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private finishing = false;
  private failed: Error | undefined;
  private resolve!: (b: BuiltSegment) => void;
  private reject!: (e: Error) => void;
  private readonly result = new Promise<BuiltSegment>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });

  constructor(
    private readonly owner: BuildWorker,
    private readonly id: string,
    private readonly onFailure: (e: Error) => void,
  ) {
    // The writer awaits the result only after finish(); a failure before that is reported through onFailure.
    this.result.catch(() => undefined);
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
    this.owner.post({ type: 'close', segment: this.id });
    return this.result;
  }

  succeed(m: WireBuilt): void {
    const outcomes = new Array<BuiltSegment['outcomes'][number]>(m.parts).fill(ACCEPTED);
    for (const [i, o] of m.rejections) outcomes[i] = o;
    this.resolve({
      outcomes,
      block: m.block ? { bytes: m.block.bytes, meta: fromBinary(BlockMetaSchema, m.block.meta) } : null,
      acceptedProfiles: m.acceptedProfiles,
      rejectedRequests: m.rejectedRequests,
    });
  }

  fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    clearTimeout(this.timer);
    this.pending = [];
    this.reject(e);
    if (!this.finishing) this.onFailure(e);
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.failed) return;
    const batch = packBatch(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.owner.post({ type: 'add', segment: this.id, batch }, [batch.buffer]);
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
