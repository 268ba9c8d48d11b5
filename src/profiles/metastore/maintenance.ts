// The metastore's background loop: retention, deletion of tombstoned objects, log rewrite.
// One pass at a time; a failing step is logged and retried on the next tick.
import type { Bucket } from '../../objstore/bucket.js';
import type { MetastoreLogger } from './block-index.js';
import { cleanTombstones } from './cleaner.js';
import type { Metastore } from './metastore.js';

export interface MaintenanceOptions {
  bucket: Bucket;
  cleanupDelayMs: number;
  intervalMs: number;
  logger: MetastoreLogger;
}

export interface Maintenance {
  /** One pass now (tests call it directly instead of waiting for the timer). */
  runOnce(): Promise<void>;
  /** Stops the timer and waits for a running pass. */
  stop(): Promise<void>;
}

export function startMaintenance(metastore: Metastore, options: MaintenanceOptions): Maintenance {
  let running: Promise<void> | undefined;
  let stopped = false;
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (!stopped) options.logger.warn({ step: what, err: String(err) }, 'metastore maintenance step failed');
    }
  };
  const runOnce = (): Promise<void> => {
    running ??= (async () => {
      await step('retention', () => metastore.applyRetention());
      await step('cleanup', () => cleanTombstones(metastore, options.bucket, { delayMs: options.cleanupDelayMs }, options.logger));
      await step('rewrite', () => metastore.maybeRewriteLog());
    })().finally(() => (running = undefined));
    return running;
  };
  const timer = options.intervalMs > 0 ? setInterval(() => void runOnce(), options.intervalMs) : undefined;
  timer?.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
