// Interop: Kiln's metrics exporter remote-writes into a real Prometheus 2.42 (Debian), which
// must accept everything (no out-of-order, no duplicate, no malformed request) and answer
// queries with exactly the values the observer results held.
import { create } from '@bufbuild/protobuf';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactionJobStatus, CompactionJobStatusUpdateSchema } from '../../src/gen/metastore/v1/compactor_pb.js';
import { MetricsExporter } from '../../src/profiles/exporter/exporter.js';
import { Outbox } from '../../src/profiles/exporter/outbox.js';
import { RemoteWriteClient } from '../../src/profiles/exporter/remote-write-client.js';
import { Metastore } from '../../src/profiles/metastore/metastore.js';
import type { JobState } from '../../src/profiles/metastore/store.js';
import { makeMeta, recordingLogger, tempDir, ulidAt } from '../profiles/metastore/helpers.js';
import { observerResult, type TenantSeries } from '../profiles/exporter/helpers.js';
import { hasPrometheus, startPrometheus, type PrometheusProcess } from './prometheus.js';

const available = hasPrometheus();
if (!available) console.log('skipping: prometheus not found at /usr/bin/prometheus (apt-get install prometheus)');

describe.skipIf(!available)('metrics exporter → Prometheus 2.42 remote write', () => {
  let prom: PrometheusProcess;
  beforeAll(async () => {
    prom = await startPrometheus();
  });
  afterAll(async () => {
    await prom?.stop();
  });

  it('exports committed results in job order; Prometheus accepts all of them and returns the values', async () => {
    const dir = await tempDir('kiln-interop-exporter-');
    const outbox = await Outbox.open(dir, { logger: recordingLogger() });
    const ms = await Metastore.open(dir, {
      logger: recordingLogger(),
      compaction: { levels: [{ maxBlocks: 2, maxAgeMs: 3_600_000 }, { maxBlocks: 10, maxAgeMs: 3_600_000 }, { maxBlocks: 10, maxAgeMs: 3_600_000 }] },
      onJobCommitted: (e) => outbox.onJobCommitted(e),
    });
    outbox.markReplayDone();
    const exporter = new MetricsExporter({
      outbox,
      order: ms,
      client: new RemoteWriteClient({ timeoutMs: 10_000 }),
      urlFor: () => prom.writeUrl,
      maxSeriesPerRequest: 3, // several requests per tenant and job
      maxRequestBytes: 1 << 20,
      minBackoffMs: 50,
      maxBackoffMs: 1000,
      logger: recordingLogger(),
    });
    try {
      // Six segments of shard 1, a few seconds apart and recent (Prometheus's head window).
      const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
      const ids = [0, 5, 10, 15, 20, 25].map((s) => ulidAt(t0 + s * 1000));
      for (const id of ids) await ms.addBlock(makeMeta({ id, shard: 1 }));
      const { newJobs } = await ms.pollCompactionJobs([], 10);
      const jobs = newJobs.sort((a, b) => (a.sources[0]! < b.sources[0]! ? -1 : 1));
      expect(jobs).toHaveLength(3);

      // Each job records 5 series per tenant (value = job index * 10 + series); the same
      // series in every job, so Prometheus sees three samples per series.
      const results = jobs.map((_, j) => {
        const tenants: TenantSeries = {};
        for (const tenant of ['acme', 'globex']) {
          tenants[tenant] = Array.from({ length: 5 }, (_, s) => [
            [
              ['__name__', 'profiles_recorded_cpu_nanoseconds'],
              ['profiles_rule_id', 'cpu'],
              ['service_name', `svc-${s}`],
              ['tenant', tenant],
              ['pyroscope_instance', 'abc'],
            ],
            j * 10 + s + (tenant === 'globex' ? 0.5 : 0),
          ]);
        }
        return observerResult(t0 + j * 10_000, 1, tenants);
      });

      // Commit the jobs out of order: 3rd, 1st, 2nd, draining after each commit.
      const commit = async (job: JobState, result: Uint8Array) => {
        const update = create(CompactionJobStatusUpdateSchema, {
          name: job.name,
          token: BigInt(job.token),
          status: CompactionJobStatus.COMPACTION_STATUS_SUCCESS,
          compactedBlocks: { sourceBlocks: { shard: 1, tenant: '', blocks: job.sources }, newBlocks: [makeMeta({ shard: 1, level: 1, tenant: 'acme', datasets: [['acme', 'api']] })] },
          observerResult: result,
        });
        await ms.pollCompactionJobs([update], 0);
        await outbox.settled();
        while ((await exporter.drainOnce()) > 0);
      };
      await commit(jobs[2]!, results[2]!);
      expect(outbox.size).toBe(1); // held back: earlier jobs still running
      await commit(jobs[0]!, results[0]!);
      await commit(jobs[1]!, results[1]!);
      expect(outbox.size).toBe(0);

      const at = (t0 + 25_000) / 1000;
      const latest = await prom.query('sort_desc(profiles_recorded_cpu_nanoseconds)', at);
      expect(latest).toHaveLength(10);
      const byKey = new Map(latest.map((r) => [`${r.metric['tenant']}/${r.metric['service_name']}`, Number(r.value[1])]));
      for (let s = 0; s < 5; s++) {
        expect(byKey.get(`acme/svc-${s}`)).toBe(20 + s);
        expect(byKey.get(`globex/svc-${s}`)).toBe(20.5 + s);
      }
      // All three samples of every series are stored, at the jobs' timestamps.
      const counts = await prom.query('count_over_time(profiles_recorded_cpu_nanoseconds[1m])', at);
      expect(counts.map((r) => Number(r.value[1]))).toEqual(Array(10).fill(3));
      const first = await prom.query('profiles_recorded_cpu_nanoseconds{tenant="acme",service_name="svc-3"}', t0 / 1000);
      expect(Number(first[0]!.value[1])).toBe(3);

      // Prometheus rejected nothing.
      const writes = await prom.selfMetric('prometheus_http_requests_total', (l) => l.includes('handler="/api/v1/write"'));
      const rejected = await prom.selfMetric('prometheus_http_requests_total', (l) => l.includes('handler="/api/v1/write"') && !/code="2\d\d"/.test(l));
      expect(writes).toBe(3 * 2 * 2); // 3 jobs × 2 tenants × 2 requests (5 series, 3 per request)
      expect(rejected).toBe(0);
    } finally {
      await exporter.stop();
      await ms.close();
      await outbox.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
