// Wires the components selected by -target onto one HTTP port and runs their
// lifecycle. Components talk to each other over their real protocols (Connect
// over loopback when they share a process), so one process and a fleet run
// the same code.

import type http from 'node:http';
import os from 'node:os';
import type http2 from 'node:http2';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import { type Config, PROFILE_SIZE_HARD_LIMIT, type Target } from '../config/config.js';
import { CompactionService } from '../gen/metastore/v1/compactor_pb.js';
import { IndexService, MetadataQueryService } from '../gen/metastore/v1/index_pb.js';
import { PusherService } from '../gen/push/v1/push_pb.js';
import { RecordingRulesService } from '../gen/settings/v1/recording_rules_pb.js';
import { SegmentWriterService } from '../gen/segmentwriter/v1/push_pb.js';
import type { Bucket } from '../objstore/bucket.js';
import { createBucket } from '../objstore/create.js';
import { createJobRunner } from '../profiles/compaction/job-runner.js';
import { CompactionWorker } from '../profiles/compaction/worker.js';
import { Distributor } from '../profiles/ingest/distributor.js';
import { createIngestHandler } from '../profiles/ingest/http-ingest.js';
import { pushServiceImpl } from '../profiles/ingest/push-service.js';
import { BatchingWriterClient } from '../profiles/ingest/writer-batcher.js';
import { handleMetastoreAdmin } from '../profiles/metastore/admin-http.js';
import { compactionServiceImpl } from '../profiles/metastore/compaction-service.js';
import { indexServiceImpl, metadataQueryServiceImpl } from '../profiles/metastore/index-service.js';
import { startMaintenance } from '../profiles/metastore/maintenance.js';
import { FileMetastoreStore } from '../profiles/metastore/file-store.js';
import { Metastore, type JobCommittedEvent } from '../profiles/metastore/metastore.js';
import { MetricsExporter } from '../profiles/exporter/exporter.js';
import { ExporterMetrics } from '../profiles/exporter/metrics.js';
import { Outbox } from '../profiles/exporter/outbox.js';
import { RemoteWriteClient } from '../profiles/exporter/remote-write-client.js';
import { parseUrlOverrides, urlResolver, type UrlResolver } from '../profiles/exporter/targets.js';
import { parseRetentionOverrides } from '../profiles/metastore/retention.js';
import { validateInstanceLabelName } from '../profiles/observer/instance-label.js';
import { createObserverFactory } from '../profiles/observer/factory.js';
import { ObserverMetrics } from '../profiles/observer/metrics.js';
import { loadProvisionedRules } from '../profiles/rules/provisioned.js';
import { RULES_READ_MAX_BYTES, recordingRulesServiceImpl } from '../profiles/rules/service.js';
import { RuleSource } from '../profiles/rules/source.js';
import { RuleStore } from '../profiles/rules/store.js';
import { segmentWriterServiceImpl } from '../profiles/segment/service.js';
import { type ProfileInput, SegmentWriter } from '../profiles/segment/writer.js';
import { API_PREFIX, createPrometheusApi } from '../tsdb/api/prometheus-api.js';
import { queryLimitsFromConfig } from '../tsdb/api/query-limits.js';
import { TsdbStorage } from '../tsdb/db.js';
import { TsdbDistributor } from '../tsdb/distributor/distributor.js';
import { HaTracker } from '../tsdb/distributor/ha-tracker.js';
import { haLimitsFromConfig, limitsFromConfig } from '../tsdb/distributor/limits.js';
import { MetadataStore } from '../tsdb/distributor/metadata-store.js';
import { DistributorMetrics as TsdbDistributorMetrics } from '../tsdb/distributor/metrics.js';
import { createPushHandler } from '../tsdb/distributor/push-handler.js';
import { createSeriesHandler } from '../tsdb/distributor/series-endpoint.js';
import { tenantResolver } from '../tsdb/distributor/tenant.js';
import { createConnectHandler } from './connect-adapter.js';
import { type DualServer, listenDual } from './http-server.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export interface Kiln {
  readonly port: number;
  readonly registry: Registry;
  /** Graceful stop: stop accepting pushes, flush open segments, answer in-flight pushes, close. */
  stop(): Promise<void>;
}

function runs(config: Config, target: Exclude<Target, 'all'>): boolean {
  return config.target.includes('all') || config.target.includes(target);
}

function bucketFromConfig(config: Config): Bucket {
  const s3 = config.storage.s3;
  return createBucket({
    backend: config.storage.backend,
    filesystem: config.storage.filesystem,
    s3: { endpoint: s3.endpoint, bucket: s3.bucketName, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: s3.forcePathStyle },
  });
}

export async function startKiln(config: Config, logger: Logger): Promise<Kiln> {
  if (runs(config, 'distributor') && !runs(config, 'segment-writer') && !config.distributor.segmentWriterAddress) {
    throw new Error('-target runs a distributor without a segment writer: set -distributor.segment-writer-address');
  }
  for (const needsMetastore of ['segment-writer', 'compaction-worker'] as const) {
    if (runs(config, needsMetastore) && !runs(config, 'metastore') && !config.metastore.address) {
      throw new Error(`-target runs a ${needsMetastore} without a metastore: set -metastore.address`);
    }
  }
  // Provisioned rules load first: a bad rule file stops start-up, with its
  // message, before anything else is opened. The API serves them and the
  // compaction worker's observer evaluates them.
  const needsRules = runs(config, 'tenant-settings') || runs(config, 'compaction-worker');
  if (runs(config, 'compaction-worker')) validateInstanceLabelName(config.metricsObserver.instanceLabelName);
  const closers: (() => Promise<void>)[] = [];
  const provisionedRules = needsRules ? await loadProvisionedRules(config.recordingRules.dir) : undefined;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One rule store and source per process (the API and the observer share the cache and metrics).
  let rules: { store: RuleStore; source: RuleSource } | undefined;
  if (provisionedRules) {
    const bucket = bucketFromConfig(config);
    const rc = config.recordingRules;
    const store = new RuleStore(bucket, { maxRulesPerTenant: rc.maxRulesPerTenant, cacheTtlMs: rc.cacheTtl, logger: logger.child({ component: 'recording-rules' }), registry });
    rules = { store, source: new RuleSource(provisionedRules, store) };
    closers.push(() => bucket.close());
  }
  let ready = false;
  let selfUrl = '';
  const selfTransport = (address: string) =>
    // maxSessionMemory: see http-server.ts; batches of large profiles exceed Node's 10 MB default.
    createConnectTransport({ baseUrl: address || selfUrl, httpVersion: '2', useBinaryFormat: true, nodeOptions: { maxSessionMemory: 512 } });

  const validation = { ...config.validation, maxProfileSizeBytes: config.validation.maxProfileSizeBytes || PROFILE_SIZE_HARD_LIMIT };
  let metastore: Metastore | undefined;
  if (runs(config, 'metastore')) {
    const mc = config.metastore;
    let overrides: Map<string, number>;
    try {
      overrides = parseRetentionOverrides(mc.retentionPeriodOverrides);
    } catch (e) {
      throw new Error(`-metastore.retention-period-overrides: ${(e as Error).message}`);
    }
    const metastoreLogger = logger.child({ component: 'metastore' });
    // Metrics outbox (exporter/outbox.ts): opened before the metastore, whose replayed commits
    // it must see. The hook resolves once the job's samples are durable in the outbox.
    const exporterLogger = logger.child({ component: 'metrics-exporter' });
    const ec = config.metricsExporter;
    let urlFor: UrlResolver | undefined;
    if (ec.enabled) {
      try {
        // With no URL set and the TSDB in this process, recorded samples go to its own push
        // endpoint (known once the server listens; until then they wait in the outbox).
        const ownTsdb = () => (selfUrl === '' ? '' : `${selfUrl}/api/v1/push`);
        urlFor = urlResolver(ec.remoteWriteUrl === '' && runs(config, 'tsdb') ? ownTsdb : ec.remoteWriteUrl, parseUrlOverrides(ec.remoteWriteUrlOverrides));
      } catch (e) {
        throw new Error(`-metrics-exporter.remote-write-url(-overrides): ${(e as Error).message}`);
      }
    }
    // The store takes the data dir's lock first, so two processes never share the outbox either.
    const store = await FileMetastoreStore.open(mc.dataDir, metastoreLogger);
    let outbox: Outbox | undefined;
    let exporter: MetricsExporter | undefined;
    let opened: Metastore;
    try {
      if (ec.enabled) outbox = await Outbox.open(mc.dataDir, { logger: exporterLogger });
      const box = outbox;
      opened = await Metastore.openStore(store, {
        logger: metastoreLogger,
        registry,
        ...(box && {
          onJobCommitted: async (event: JobCommittedEvent) => {
            await box.onJobCommitted(event);
            exporter?.wake();
          },
          onLogRewritten: () => box.onMetastoreLogRewritten(),
        }),
        compaction: {
          levels: [
            { maxBlocks: mc.compaction.l0MaxBlocks, maxAgeMs: mc.compaction.l0MaxAge },
            { maxBlocks: mc.compaction.l1MaxBlocks, maxAgeMs: mc.compaction.l1MaxAge },
            { maxBlocks: mc.compaction.l2MaxBlocks, maxAgeMs: mc.compaction.l2MaxAge },
          ],
          leaseMs: mc.compactionJobLeaseDuration,
          maxFailures: mc.compactionMaxFailures,
          maxJobQueueSize: mc.compactionMaxJobQueueSize,
        },
        retention: { defaultMs: mc.retentionPeriod, overrides },
      });
    } catch (e) {
      // openStore closes the store itself when loading fails; closing twice is harmless.
      await store.close().catch(() => {});
      await outbox?.close().catch(() => {});
      throw e;
    }
    metastore = opened;
    if (outbox && urlFor) {
      outbox.markReplayDone();
      const box = outbox;
      const metrics = new ExporterMetrics(registry, () => box);
      outbox.onUndecodable = () => metrics.droppedSeries.inc({ reason: 'undecodable' });
      exporter = new MetricsExporter({
        outbox,
        order: opened,
        client: new RemoteWriteClient({
          timeoutMs: ec.timeout,
          ...(ec.basicAuthUsername !== '' && { basicAuth: { username: ec.basicAuthUsername, password: ec.basicAuthPassword } }),
          ...(ec.bearerToken !== '' && { bearerToken: ec.bearerToken }),
        }),
        urlFor,
        maxSeriesPerRequest: ec.maxSeriesPerRequest,
        maxRequestBytes: ec.maxRequestBytes,
        minBackoffMs: ec.minBackoff,
        maxBackoffMs: ec.maxBackoff,
        logger: exporterLogger,
        metrics,
      });
      exporter.start();
    }
    // The metastore deletes tombstoned objects itself, so it needs the bucket too.
    const metastoreBucket = bucketFromConfig(config);
    const maintenance = startMaintenance(opened, {
      bucket: metastoreBucket,
      cleanupDelayMs: mc.compaction.cleanupDelay,
      intervalMs: mc.maintenanceInterval,
      logger: metastoreLogger,
    });
    closers.push(async () => {
      await exporter?.stop();
      await maintenance.stop();
      // The metastore settles its hooks on close, and they write to the outbox: outbox last.
      await opened.close();
      await outbox?.close();
      await metastoreBucket.close();
    });
  }

  let writer: SegmentWriter | undefined;
  if (runs(config, 'segment-writer')) {
    const bucket = bucketFromConfig(config);
    const metastore = () => createClient(IndexService, selfTransport(config.metastore.address));
    let client: ReturnType<typeof metastore> | undefined;
    writer = new SegmentWriter(
      { ...config.segmentWriter, validation },
      bucket,
      { addBlock: async (block) => void (await (client ??= metastore()).addBlock({ block })) },
      logger.child({ component: 'segment-writer' }),
      registry,
    );
    closers.push(() => bucket.close());
  }

  let distributor: Distributor | undefined;
  let ingest: ReturnType<typeof createIngestHandler> | undefined;
  const tenancy = { multitenancyEnabled: config.auth.multitenancyEnabled, noAuthTenant: config.auth.noAuthTenant };
  if (runs(config, 'distributor')) {
    let client: ReturnType<typeof createClient<typeof SegmentWriterService>> | undefined;
    // The segment writer of this process is called directly; a remote one over
    // Connect, with concurrent pushes batched into one RPC.
    const local = !config.distributor.segmentWriterAddress ? writer : undefined;
    const writerClient = local
      ? { push: (profiles: ProfileInput[]) => local.pushRequest(profiles) }
      : new BatchingWriterClient(
        { push: (req) => (client ??= createClient(SegmentWriterService, selfTransport(config.distributor.segmentWriterAddress))).push(req) },
        { maxBatchBytes: Math.min(32 * 1024 * 1024, config.distributor.maxRecvMsgSize / 2), windowMs: 10 },
      );
    distributor = new Distributor(
      { ...config.distributor, labelLimits: validation, maxProfileSizeBytes: validation.maxProfileSizeBytes },
      writerClient,
      logger.child({ component: 'distributor' }),
      registry,
    );
    ingest = createIngestHandler(distributor, { tenancy, maxRecvMsgSize: config.distributor.maxRecvMsgSize, maxProfileSizeBytes: validation.maxProfileSizeBytes });
  }

  // tsdb: the Mimir-compatible TSDB — remote-write receiver (tsdb/distributor/) over the
  // per-tenant storage (tsdb/db.ts). Metadata is kept in memory for the query API.
  let tsdbPush: ReturnType<typeof createPushHandler> | undefined;
  let tsdbSeries: ReturnType<typeof createSeriesHandler> | undefined;
  let tsdbMetadata: MetadataStore | undefined;
  let prometheusApi: ReturnType<typeof createPrometheusApi> | undefined;
  if (runs(config, 'tsdb')) {
    const tc = config.tsdb;
    const storage = await TsdbStorage.open({
      dir: tc.dir,
      blockRangeMs: tc.blockRange,
      retentionMs: tc.retentionPeriod,
      compactionIntervalMs: tc.compactionInterval,
      logger: logger.child({ component: 'tsdb' }),
      registry,
    });
    closers.push(() => storage.close());
    const metrics = new TsdbDistributorMetrics(registry);
    const tenantOf = tenantResolver(tenancy, tc.distributor.tenantFromBasicAuth);
    tsdbMetadata = new MetadataStore();
    const receiver = new TsdbDistributor({ storage, limits: limitsFromConfig(tc), ha: new HaTracker(haLimitsFromConfig(tc)), metadata: tsdbMetadata, metrics });
    tsdbPush = createPushHandler(receiver, metrics, { maxRecvMsgSize: tc.distributor.maxRecvMsgSize, tenantOf });
    tsdbSeries = createSeriesHandler(storage, tenantOf);
    // The read side: the Prometheus HTTP API with PromQL (tsdb/api/, docs/query-api.md).
    prometheusApi = createPrometheusApi({ storage, metadata: tsdbMetadata, tenantOf, limits: queryLimitsFromConfig(tc), logger: logger.child({ component: 'prometheus-api' }), registry });
  }

  let worker: CompactionWorker | undefined;
  if (runs(config, 'compaction-worker')) {
    const wc = config.compactionWorker;
    const bucket = bucketFromConfig(config);
    const transport = () => selfTransport(config.metastore.address);
    let compaction: ReturnType<typeof createClient<typeof CompactionService>> | undefined;
    let index: ReturnType<typeof createClient<typeof IndexService>> | undefined;
    const workerLogger = logger.child({ component: 'compaction-worker' });
    worker = new CompactionWorker(
      { jobConcurrency: wc.jobConcurrency || os.availableParallelism(), jobPollInterval: wc.jobPollInterval, requestTimeout: wc.requestTimeout },
      { pollCompactionJobs: (req, options) => (compaction ??= createClient(CompactionService, transport())).pollCompactionJobs(req, options) },
      createJobRunner({
        bucket,
        async blockMetadata(ids, signal) {
          const res = await (index ??= createClient(IndexService, transport())).getBlockMetadata({ blocks: { blocks: ids } }, { signal, timeoutMs: wc.requestTimeout });
          return res.blocks;
        },
        // Metrics from profiles: rules are fetched per job, before the merge (observer/factory.ts).
        observerFor: createObserverFactory({
          rules: rules!.source,
          instanceLabelName: config.metricsObserver.instanceLabelName,
          maxSeriesPerRule: config.metricsObserver.maxSeriesPerRule,
          logger: workerLogger.child({ component: 'observer' }),
          metrics: new ObserverMetrics(registry),
        }),
        logger: workerLogger,
      }),
      workerLogger,
      registry,
    );
    closers.push(() => bucket.close());
  }

  // tenant-settings: the recording rules API over the bucket (rules/store.ts).
  // Any number of processes may serve it; writes are compare-and-swap.
  let rulesService: ReturnType<typeof recordingRulesServiceImpl> | undefined;
  if (rules && runs(config, 'tenant-settings')) {
    rulesService = recordingRulesServiceImpl({ ...rules, tenancy, logger: logger.child({ component: 'tenant-settings' }), registry });
  }

  const plain = async (req: Req, res: Res): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://kiln');
    if (prometheusApi && url.pathname.startsWith(API_PREFIX)) return prometheusApi(req, res, url);
    switch (url.pathname) {
      case '/ready':
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
        return;
      case '/metrics':
        res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
        return;
      case '/ingest':
      case '/pyroscope/ingest':
        if (ingest) return ingest.handle(req, res, url);
        break;
      case '/api/v1/push':
      case '/api/v1/write':
        if (tsdbPush) return tsdbPush(req, res);
        break;
      case '/tsdb/series':
        if (tsdbSeries) return tsdbSeries(req, res, url);
        break;
      case '/metastore/blocks':
      case '/metastore/jobs':
        if (metastore && handleMetastoreAdmin(metastore, url, req.method ?? 'GET', res)) return;
        break;
      case '/':
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`Kiln: profiles in, metrics out. Targets: ${config.target.join(',')}\n`);
        return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
  };

  const handler = createConnectHandler({
    readMaxBytes: config.distributor.maxRecvMsgSize,
    routes(router) {
      if (metastore) {
        router.service(IndexService, indexServiceImpl(metastore));
        router.service(MetadataQueryService, metadataQueryServiceImpl(metastore));
        router.service(CompactionService, compactionServiceImpl(metastore));
      }
      if (writer) router.service(SegmentWriterService, segmentWriterServiceImpl(writer));
      if (distributor) router.service(PusherService, pushServiceImpl(distributor, tenancy));
      if (rulesService) router.service(RecordingRulesService, rulesService, { readMaxBytes: RULES_READ_MAX_BYTES });
    },
    fallback: (req, res) => {
      plain(req, res).catch((e: Error) => {
        logger.error({ err: e.message, path: req.url }, 'request failed');
        if (!res.headersSent) res.writeHead(500).end('internal error\n');
      });
    },
    onError: (e, path) => logger.error({ err: (e as Error).message, path }, 'rpc handler failed'),
  });

  let server: DualServer;
  try {
    // Pushes over HTTP/1.1 take the lean path (src/server/lean-http1.ts); everything else, Node's server.
    const lean = ingest && { post: new Map([['/ingest', ingest.handleRead], ['/pyroscope/ingest', ingest.handleRead]]), maxBodyBytes: config.distributor.maxRecvMsgSize };
    server = await listenDual(handler, config.server.httpListenAddress, config.server.httpListenPort, lean);
  } catch (e) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw e;
  }
  selfUrl = `http://127.0.0.1:${server.port}`;
  ready = true;
  // The worker may poll this very process, so it starts once the server listens.
  worker?.start();
  logger.info({ port: server.port, targets: config.target }, 'Kiln is ready');

  let stopping: Promise<void> | undefined;
  return {
    port: server.port,
    registry,
    stop() {
      stopping ??= (async () => {
        ready = false;
        logger.info('stopping: no new pushes; flushing open segments');
        distributor?.stopAccepting();
        // Segments registered over loopback need the server, so flush before closing it.
        await writer?.stop();
        // Finished jobs are reported before the server (maybe the metastore itself) closes.
        await worker?.stop(config.server.gracefulShutdownTimeout);
        await server.close(config.server.gracefulShutdownTimeout);
        for (const close of closers.reverse()) await close();
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
