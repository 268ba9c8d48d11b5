// Kiln's configuration: one typed object, every default named here.
//
// Each setting has a flag (`-server.http-listen-port=4040`, also `--flag`) and a
// YAML key derived from the flag name: dots nest, dashes become underscores
// (`server: { http_listen_port: 4040 }`). Precedence: defaults < -config.file < flags.

export const TARGETS = ['all', 'distributor', 'segment-writer', 'metastore', 'compaction-worker', 'tenant-settings', 'tsdb'] as const;
export type Target = (typeof TARGETS)[number];

export interface Config {
  target: Target[];
  config: { file: string };
  server: {
    httpListenAddress: string;
    httpListenPort: number;
    /** How long SIGTERM waits for in-flight pushes and open segments. */
    gracefulShutdownTimeout: number;
  };
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
  storage: {
    backend: 'filesystem' | 's3';
    filesystem: { dir: string };
    s3: {
      endpoint: string;
      bucketName: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      forcePathStyle: boolean;
    };
  };
  auth: { multitenancyEnabled: boolean; noAuthTenant: string };
  distributor: {
    /** Shards that tenant+service pairs are spread over (jump consistent hash). */
    numShards: number;
    ingestionRateLimitMb: number;
    ingestionBurstSizeMb: number;
    /** Bytes of one request body as received (compressed or not). */
    maxRecvMsgSize: number;
    /** Bytes of request bodies being processed at once; beyond it pushes get 429. */
    maxInflightBytes: number;
    /** Address of the segment writer; empty = this process. */
    segmentWriterAddress: string;
  };
  validation: {
    maxLabelNamesPerSeries: number;
    maxLengthLabelName: number;
    maxLengthLabelValue: number;
    maxProfileSizeBytes: number;
    maxProfileStacktraceSamples: number;
    maxProfileStacktraceSampleLabels: number;
    maxProfileStacktraceDepth: number;
    maxProfileSymbolValueLength: number;
    maxProfileStrings: number;
    maxProfileLocations: number;
    rejectOlderThan: number;
    rejectNewerThan: number;
  };
  segmentWriter: {
    segmentDuration: number;
    /** Written into each segment's created_by; empty = hostname. */
    instanceId: string;
    uploadMaxRetries: number;
    uploadTimeout: number;
    /** Worker threads that build segments: -1 = one per core, 0 = the main thread. */
    buildThreads: number;
  };
  metastore: {
    /** Address of the metastore; empty = this process. */
    address: string;
    dataDir: string;
    compaction: {
      l0MaxBlocks: number;
      l0MaxAge: number;
      l1MaxBlocks: number;
      l1MaxAge: number;
      l2MaxBlocks: number;
      l2MaxAge: number;
      /** How long a tombstoned block's object is kept before the metastore deletes it. */
      cleanupDelay: number;
    };
    compactionJobLeaseDuration: number;
    compactionMaxFailures: number;
    compactionMaxJobQueueSize: number;
    /** 0 = keep forever. */
    retentionPeriod: number;
    /** "tenantA=24h,tenantB=0". */
    retentionPeriodOverrides: string;
    /** How often retention, cleanup and the log-rewrite check run. */
    maintenanceInterval: number;
  };
  compactionWorker: {
    /** Jobs run at once (0: one per core). */
    jobConcurrency: number;
    jobPollInterval: number;
    requestTimeout: number;
  };
  /** Recording rules: profiles → metrics during compaction (docs/recording-rules.md). */
  recordingRules: {
    /** Folder of provisioned (read-only) rule files, `*.yaml`/`*.yml`; missing = no provisioned rules. */
    dir: string;
    /** Rules a tenant may store through the API (provisioned rules do not count). */
    maxRulesPerTenant: number;
    /** How old a cached copy of a tenant's stored rules may get before it is re-read from the bucket. */
    cacheTtl: number;
  };
  /** The observer: evaluates recording rules during L0 → L1 compaction (docs/metrics-from-profiles.md). */
  metricsObserver: {
    /** Name of the label that tells the samples of different shards and writers apart. */
    instanceLabelName: string;
    /** Series one rule may record per compaction job; more are dropped and counted. */
    maxSeriesPerRule: number;
  };
  /** The exporter: remote-writes committed recorded samples from the metastore's outbox (runs with the metastore). */
  metricsExporter: {
    enabled: boolean;
    /** Remote-write 1.0 endpoint; empty = none yet: samples wait in the outbox. */
    remoteWriteUrl: string;
    /** "acme=http://a/api/v1/push,globex=http://b/api/v1/push". */
    remoteWriteUrlOverrides: string;
    basicAuthUsername: string;
    basicAuthPassword: string;
    bearerToken: string;
    timeout: number;
    maxSeriesPerRequest: number;
    maxRequestBytes: number;
    minBackoff: number;
    maxBackoff: number;
  };
  /** The Mimir-compatible TSDB (docs/tsdb.md). Limits are per tenant, defaults as Mimir's. */
  tsdb: {
    /** Root of the TSDB's data: `<dir>/<tenant>/` holds a tenant's WAL and blocks. */
    dir: string;
    /** Length of a block cut from the head; the head is compacted when it spans 1.5× this. */
    blockRange: number;
    /** Blocks whose data is all older than now − this are deleted (0: keep forever). */
    retentionPeriod: number;
    /** How often head compaction, block compaction and retention run. */
    compactionInterval: number;
    distributor: {
      /** Bytes of one remote-write body, compressed and decompressed (413 beyond). */
      maxRecvMsgSize: number;
      /** Take the tenant from the basic-auth username (senders that cannot set X-Scope-OrgID). */
      tenantFromBasicAuth: boolean;
      /** Samples + exemplars + metadata per second per tenant (0: off). */
      ingestionRateLimit: number;
      ingestionBurstSize: number;
      haTracker: {
        enabled: boolean;
        clusterLabel: string;
        replicaLabel: string;
        failoverTimeout: number;
        maxClusters: number;
      };
    };
    validation: {
      maxLabelNamesPerSeries: number;
      maxLabelNamesPerInfoSeries: number;
      maxLengthLabelName: number;
      maxLengthLabelValue: number;
      /** Samples newer than now + this are rejected. */
      createGracePeriod: number;
      /** Samples older than now − this − the OOO window are rejected (0: off). */
      pastGracePeriod: number;
      maxMetadataLength: number;
    };
    ingester: {
      /** Series one tenant may have in the head (0: unlimited). */
      maxGlobalSeriesPerUser: number;
      outOfOrderTimeWindow: number;
    };
    /** The PromQL engine behind /prometheus/api/v1 (docs/query-api.md); Mimir's -querier.* names. */
    querier: {
      /** Default and cap of a query's `timeout` parameter. */
      timeout: number;
      /** Samples one query may hold in memory at once. */
      maxSamples: number;
      /** How far back an instant selector looks for a sample. */
      lookbackDelta: number;
      /** Step of subqueries written without one. */
      defaultEvaluationInterval: number;
    };
  };
}

type Kind = 'string' | 'int' | 'float' | 'bool' | 'duration' | 'enum' | 'targets';

export interface FlagDef {
  /** Flag name without the leading dash. */
  name: string;
  kind: Kind;
  help: string;
  /** Allowed values for 'enum'. */
  values?: readonly string[];
  /** Other accepted names. */
  aliases?: string[];
  /** Smallest allowed value of an 'int' flag (default 0). */
  min?: number;
  /** Largest allowed value of an 'int' flag. */
  max?: number;
}

const MiB = 1024 * 1024;

/** With -validation.max-profile-size-bytes=0 a decompressed profile is still capped here, so a gzip bomb cannot exhaust memory. */
export const PROFILE_SIZE_HARD_LIMIT = 1024 * MiB;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export function defaultConfig(): Config {
  return {
    target: ['all'],
    config: { file: '' },
    server: { httpListenAddress: '', httpListenPort: 4040, gracefulShutdownTimeout: 30 * SECOND },
    log: { level: 'info' },
    storage: {
      backend: 'filesystem',
      filesystem: { dir: './data' },
      s3: { endpoint: '', bucketName: '', region: 'us-east-1', accessKeyId: '', secretAccessKey: '', forcePathStyle: false },
    },
    auth: { multitenancyEnabled: false, noAuthTenant: 'anonymous' },
    distributor: {
      numShards: 4,
      ingestionRateLimitMb: 4,
      ingestionBurstSizeMb: 2,
      maxRecvMsgSize: 100 * MiB,
      maxInflightBytes: 256 * MiB,
      segmentWriterAddress: '',
    },
    validation: {
      maxLabelNamesPerSeries: 30,
      maxLengthLabelName: 1024,
      maxLengthLabelValue: 2048,
      maxProfileSizeBytes: 4 * MiB,
      maxProfileStacktraceSamples: 16000,
      maxProfileStacktraceSampleLabels: 100,
      maxProfileStacktraceDepth: 1000,
      maxProfileSymbolValueLength: 65535,
      maxProfileStrings: 1_000_000,
      maxProfileLocations: 1_000_000,
      rejectOlderThan: 1 * HOUR,
      rejectNewerThan: 10 * MINUTE,
    },
    segmentWriter: { segmentDuration: 500, instanceId: '', uploadMaxRetries: 3, uploadTimeout: 2 * SECOND, buildThreads: -1 },
    metastore: {
      address: '',
      dataDir: './data-metastore',
      compaction: {
        l0MaxBlocks: 20,
        l0MaxAge: 36 * SECOND,
        l1MaxBlocks: 10,
        l1MaxAge: 12 * MINUTE,
        l2MaxBlocks: 10,
        l2MaxAge: 3 * HOUR,
        cleanupDelay: 15 * MINUTE,
      },
      compactionJobLeaseDuration: 15 * SECOND,
      compactionMaxFailures: 3,
      compactionMaxJobQueueSize: 10_000,
      retentionPeriod: 0,
      retentionPeriodOverrides: '',
      maintenanceInterval: 30 * SECOND,
    },
    compactionWorker: { jobConcurrency: 0, jobPollInterval: 5 * SECOND, requestTimeout: 5 * SECOND },
    recordingRules: { dir: './rules', maxRulesPerTenant: 25, cacheTtl: 10 * SECOND },
    metricsObserver: { instanceLabelName: 'pyroscope_instance', maxSeriesPerRule: 10_000 },
    metricsExporter: {
      enabled: true,
      remoteWriteUrl: '',
      remoteWriteUrlOverrides: '',
      basicAuthUsername: '',
      basicAuthPassword: '',
      bearerToken: '',
      timeout: 10 * SECOND,
      maxSeriesPerRequest: 2000,
      maxRequestBytes: 4 * MiB,
      minBackoff: 250,
      maxBackoff: 30 * SECOND,
    },
    tsdb: {
      dir: './data-tsdb',
      blockRange: 2 * HOUR,
      retentionPeriod: 15 * 24 * HOUR,
      compactionInterval: MINUTE,
      distributor: {
        maxRecvMsgSize: 100 * MiB,
        tenantFromBasicAuth: false,
        ingestionRateLimit: 10_000,
        ingestionBurstSize: 200_000,
        haTracker: { enabled: false, clusterLabel: 'cluster', replicaLabel: '__replica__', failoverTimeout: 30 * SECOND, maxClusters: 100 },
      },
      validation: {
        maxLabelNamesPerSeries: 30,
        maxLabelNamesPerInfoSeries: 80,
        maxLengthLabelName: 1024,
        maxLengthLabelValue: 2048,
        createGracePeriod: 10 * MINUTE,
        pastGracePeriod: 0,
        maxMetadataLength: 1024,
      },
      ingester: { maxGlobalSeriesPerUser: 150_000, outOfOrderTimeWindow: 0 },
      querier: { timeout: 2 * MINUTE, maxSamples: 50_000_000, lookbackDelta: 5 * MINUTE, defaultEvaluationInterval: MINUTE },
    },
  };
}

export const FLAGS: readonly FlagDef[] = [
  { name: 'target', kind: 'targets', help: `Comma-separated components to run: ${TARGETS.join(', ')}.` },
  { name: 'config.file', kind: 'string', help: 'YAML configuration file; its keys are the flag names (dots nest, dashes become underscores).' },
  { name: 'server.http-listen-address', kind: 'string', help: 'HTTP listen address (empty: all interfaces).' },
  { name: 'server.http-listen-port', kind: 'int', max: 65535, help: 'HTTP listen port (HTTP/1.1 and h2c: Connect, gRPC, gRPC-Web, /ingest).' },
  { name: 'server.graceful-shutdown-timeout', kind: 'duration', help: 'On SIGTERM, time allowed to flush open segments and answer in-flight pushes.' },
  { name: 'log.level', kind: 'enum', values: ['debug', 'info', 'warn', 'error'], help: 'Only log messages with the given severity or above.' },
  { name: 'storage.backend', kind: 'enum', values: ['filesystem', 's3'], help: 'Object storage backend.' },
  { name: 'storage.filesystem.dir', kind: 'string', help: 'Directory of the filesystem bucket.' },
  { name: 'storage.s3.endpoint', kind: 'string', help: 'S3 endpoint URL, e.g. http://127.0.0.1:9000 (empty: AWS).' },
  { name: 'storage.s3.bucket-name', kind: 'string', aliases: ['storage.s3.bucket'], help: 'S3 bucket name.' },
  { name: 'storage.s3.region', kind: 'string', help: 'S3 region.' },
  { name: 'storage.s3.access-key-id', kind: 'string', help: 'S3 access key id (empty: default credential chain).' },
  { name: 'storage.s3.secret-access-key', kind: 'string', help: 'S3 secret access key.' },
  { name: 'storage.s3.force-path-style', kind: 'bool', help: 'Use path-style S3 URLs (needed by most S3-compatible servers).' },
  { name: 'auth.multitenancy-enabled', kind: 'bool', help: 'Require X-Scope-OrgID on every request; when false every request belongs to -auth.no-auth-tenant.' },
  { name: 'auth.no-auth-tenant', kind: 'string', help: 'Tenant used when multitenancy is disabled.' },
  { name: 'distributor.num-shards', kind: 'int', min: 1, help: 'Number of shards; each (tenant, service_name) maps to one by jump consistent hashing.' },
  { name: 'distributor.ingestion-rate-limit-mb', kind: 'float', help: 'Per-tenant ingestion rate limit in MiB/s of decompressed profiles (0: off).' },
  { name: 'distributor.ingestion-burst-size-mb', kind: 'float', help: 'Per-tenant ingestion burst size in MiB.' },
  { name: 'distributor.max-recv-msg-size', kind: 'int', help: 'Largest request body accepted, in bytes (413 beyond).' },
  { name: 'distributor.max-inflight-bytes', kind: 'int', help: 'Request bytes processed at once by this distributor; beyond it pushes get 429 (0: off).' },
  { name: 'distributor.segment-writer-address', kind: 'string', help: 'Base URL of the segment writer (empty: this process).' },
  { name: 'validation.max-label-names-per-series', kind: 'int', help: 'Maximum number of labels per series.' },
  { name: 'validation.max-length-label-name', kind: 'int', help: 'Maximum length of a label name.' },
  { name: 'validation.max-length-label-value', kind: 'int', help: 'Maximum length of a label value.' },
  { name: 'validation.max-profile-size-bytes', kind: 'int', help: 'Maximum decompressed size of one profile (0: only the hard cap of 1 GiB).' },
  { name: 'validation.max-profile-stacktrace-samples', kind: 'int', help: 'Maximum number of samples in one profile (0: off).' },
  { name: 'validation.max-profile-stacktrace-sample-labels', kind: 'int', help: 'Maximum number of labels of one sample (0: off).' },
  { name: 'validation.max-profile-stacktrace-depth', kind: 'int', help: 'Deeper stack traces are truncated, keeping the root frames (0: off).' },
  { name: 'validation.max-profile-symbol-value-length', kind: 'int', help: 'Longer symbols (function names, file names) are truncated, keeping the end (0: off).' },
  { name: 'validation.max-profile-strings', kind: 'int', help: 'Maximum entries in the string table of one profile (0: off).' },
  { name: 'validation.max-profile-locations', kind: 'int', help: 'Maximum locations (and functions) in one profile (0: off).' },
  { name: 'validation.reject-older-than', kind: 'duration', help: 'Reject profiles older than this (0: off).' },
  { name: 'validation.reject-newer-than', kind: 'duration', help: 'Reject profiles more than this in the future (0: off).' },
  { name: 'segment-writer.segment-duration', kind: 'duration', help: "How often each shard's open segment is closed and uploaded (a ticker per shard)." },
  { name: 'segment-writer.instance-id', kind: 'string', help: 'Writer id recorded in created_by of every segment (empty: hostname).' },
  { name: 'segment-writer.upload-max-retries', kind: 'int', help: 'Retries of a failed segment upload or registration.' },
  { name: 'segment-writer.upload-timeout', kind: 'duration', help: 'Timeout of one segment upload attempt.' },
  { name: 'segment-writer.build-threads', kind: 'int', min: -1, help: 'Worker threads that decode profiles and encode segments (-1: one per core, 0: the main thread).' },
  { name: 'metastore.address', kind: 'string', help: 'Base URL of the metastore (empty: this process).' },
  { name: 'metastore.data-dir', kind: 'string', help: 'Directory of the embedded metastore (block index log).' },
  { name: 'metastore.compaction.l0-max-blocks', kind: 'int', min: 1, help: 'A level-0 job is planned once a shard has this many segments waiting.' },
  { name: 'metastore.compaction.l0-max-age', kind: 'duration', help: 'A level-0 job is planned once its oldest segment has waited this long.' },
  { name: 'metastore.compaction.l1-max-blocks', kind: 'int', min: 1, help: 'A level-1 job is planned once a tenant and shard have this many L1 blocks waiting.' },
  { name: 'metastore.compaction.l1-max-age', kind: 'duration', help: 'A level-1 job is planned once its oldest block has waited this long.' },
  { name: 'metastore.compaction.l2-max-blocks', kind: 'int', min: 1, help: 'A level-2 job is planned once a tenant and shard have this many L2 blocks waiting.' },
  { name: 'metastore.compaction.l2-max-age', kind: 'duration', help: 'A level-2 job is planned once its oldest block has waited this long (L3 is final).' },
  { name: 'metastore.compaction.cleanup-delay', kind: 'duration', help: 'Objects of compacted or expired blocks are deleted this long after they leave the index.' },
  { name: 'metastore.compaction-job-lease-duration', kind: 'duration', help: 'Lease of a compaction job; a worker renews it with every poll.' },
  { name: 'metastore.compaction-max-failures', kind: 'int', help: 'A job whose lease expired this many times is parked (never assigned again; 0: unlimited).' },
  { name: 'metastore.compaction-max-job-queue-size', kind: 'int', min: 1, help: 'Most compaction jobs held at once; when full, planning stops (parked jobs are evicted first).' },
  { name: 'metastore.retention-period', kind: 'duration', help: 'Blocks whose data is older than this are deleted (0: keep forever).' },
  { name: 'metastore.retention-period-overrides', kind: 'string', help: 'Per-tenant retention, e.g. "acme=24h,globex=0" (0: keep forever).' },
  { name: 'metastore.maintenance-interval', kind: 'duration', help: 'How often the metastore applies retention, deletes tombstoned objects and checks its log size.' },
  { name: 'compaction-worker.job-concurrency', kind: 'int', help: 'Compaction jobs a worker runs at once (0: one per core).' },
  { name: 'compaction-worker.job-poll-interval', kind: 'duration', help: 'Time between polls of the metastore for compaction jobs (a finished job polls at once).' },
  { name: 'compaction-worker.request-timeout', kind: 'duration', help: 'Timeout of one poll of the metastore.' },
  { name: 'recording-rules.dir', kind: 'string', help: 'Folder of provisioned recording rules (*.yaml, *.yml; read-only through the API; a missing folder means none).' },
  { name: 'recording-rules.max-rules-per-tenant', kind: 'int', min: 1, help: 'Recording rules a tenant may store through the API; creating one more gets ResourceExhausted (provisioned rules do not count).' },
  { name: 'recording-rules.cache-ttl', kind: 'duration', help: 'Stored rules are cached per tenant for this long, so a write made through another process is seen within it (0: read the bucket every time).' },
  { name: 'metrics-observer.instance-label-name', kind: 'string', help: 'Label added to every recorded series: a hash of the shard and the writer id of the compacted segments, so samples of different shards or writers never collide.' },
  { name: 'metrics-observer.max-series-per-rule', kind: 'int', min: 1, help: 'Series one recording rule may record per compaction job; further series are dropped, counted and logged.' },
  { name: 'metrics-exporter.enabled', kind: 'bool', help: 'Remote-write the samples recorded during compaction (runs in the process that runs the metastore).' },
  { name: 'metrics-exporter.remote-write-url', kind: 'string', help: 'Remote-write 1.0 endpoint of the recorded samples, e.g. http://mimir:8080/api/v1/push (empty: this process\'s own /api/v1/push when it runs the tsdb target, else samples wait in the outbox).' },
  { name: 'metrics-exporter.remote-write-url-overrides', kind: 'string', help: 'Per-tenant endpoints, e.g. "acme=http://a/api/v1/push,globex=http://b/api/v1/push".' },
  { name: 'metrics-exporter.basic-auth-username', kind: 'string', help: 'Basic auth username of remote-write requests.' },
  { name: 'metrics-exporter.basic-auth-password', kind: 'string', help: 'Basic auth password of remote-write requests.' },
  { name: 'metrics-exporter.bearer-token', kind: 'string', help: 'Bearer token of remote-write requests (when no basic auth username is set).' },
  { name: 'metrics-exporter.timeout', kind: 'duration', help: 'Timeout of one remote-write request.' },
  { name: 'metrics-exporter.max-series-per-request', kind: 'int', min: 1, help: 'Series of one remote-write request at most; a larger tenant result is split.' },
  { name: 'metrics-exporter.max-request-bytes', kind: 'int', min: 1, help: 'Bytes of one uncompressed WriteRequest at most; a larger tenant result is split.' },
  { name: 'metrics-exporter.min-backoff', kind: 'duration', help: 'First retry delay after a failed remote write (doubles up to -metrics-exporter.max-backoff).' },
  { name: 'metrics-exporter.max-backoff', kind: 'duration', help: 'Longest retry delay after failed remote writes (a Retry-After may be longer).' },
  { name: 'tsdb.dir', kind: 'string', help: 'Directory of the TSDB: one folder per tenant with its WAL (wal/) and blocks (one folder per ULID).' },
  { name: 'tsdb.block-range', kind: 'duration', help: 'Time range of a block cut from the head; the head is compacted when it spans 1.5 times this, and blocks are merged into ranges of 3×, 9×, … this.' },
  { name: 'tsdb.retention-period', kind: 'duration', help: 'Blocks whose data is all older than now minus this are deleted, whole (0: keep forever). Also caps merged blocks at a tenth of it (at most 31d).' },
  { name: 'tsdb.compaction-interval', kind: 'duration', help: 'How often each tenant\'s head is compacted into blocks, blocks are merged and retention is applied.' },
  { name: 'tsdb.distributor.max-recv-msg-size', kind: 'int', min: 1, help: 'Largest remote-write body accepted, in bytes, both as received and after snappy decompression (413 beyond).' },
  { name: 'tsdb.distributor.tenant-from-basic-auth', kind: 'bool', help: 'Take the tenant of a remote write from the basic-auth username when X-Scope-OrgID is absent, also with multitenancy disabled; the password is not checked (Prometheus 2.42 from Debian cannot send custom headers).' },
  { name: 'tsdb.distributor.ingestion-rate-limit', kind: 'float', help: 'Per-tenant ingestion rate in samples, exemplars and metadata per second; beyond it pushes get 429 (0: off).' },
  { name: 'tsdb.distributor.ingestion-burst-size', kind: 'int', help: 'Per-tenant ingestion burst size in samples, exemplars and metadata.' },
  { name: 'tsdb.distributor.ha-tracker.enabled', kind: 'bool', help: 'Deduplicate HA Prometheus pairs: per (tenant, cluster) only the elected replica is stored; others get 202.' },
  { name: 'tsdb.distributor.ha-tracker.cluster-label', kind: 'string', help: 'Label naming the HA cluster of a request (read from its first series).' },
  { name: 'tsdb.distributor.ha-tracker.replica-label', kind: 'string', help: 'Label naming the replica within the HA cluster; removed from stored series.' },
  { name: 'tsdb.distributor.ha-tracker.failover-timeout', kind: 'duration', help: 'A new replica is elected when the elected one has sent nothing for this long.' },
  { name: 'tsdb.distributor.ha-tracker.max-clusters', kind: 'int', help: 'HA clusters one tenant may have; requests of further clusters get 400 (0: unlimited).' },
  { name: 'tsdb.validation.max-label-names-per-series', kind: 'int', min: 1, help: 'Maximum number of labels per series, __name__ included.' },
  { name: 'tsdb.validation.max-label-names-per-info-series', kind: 'int', min: 1, help: 'Maximum number of labels of a series whose name ends in _info.' },
  { name: 'tsdb.validation.max-length-label-name', kind: 'int', min: 1, help: 'Maximum length of a label name, in bytes.' },
  { name: 'tsdb.validation.max-length-label-value', kind: 'int', min: 1, help: 'Maximum length of a label value (and of the metric name), in bytes.' },
  { name: 'tsdb.validation.create-grace-period', kind: 'duration', help: 'Samples with a timestamp more than this in the future are rejected.' },
  { name: 'tsdb.validation.past-grace-period', kind: 'duration', help: 'Samples older than now minus this (minus the out-of-order window) are rejected by the receiver (0: off; storage still rejects samples older than its head allows).' },
  { name: 'tsdb.validation.max-metadata-length', kind: 'int', min: 1, help: 'Maximum length of a metric family name or unit in metadata; longer HELP texts are truncated.' },
  { name: 'tsdb.ingester.max-global-series-per-user', kind: 'int', help: 'Series one tenant may have in the head; new series beyond it are rejected with 400 (0: unlimited).' },
  { name: 'tsdb.ingester.out-of-order-time-window', kind: 'duration', help: 'Samples older than a series\' newest sample are accepted within this window (0: out-of-order samples are rejected).' },
  { name: 'tsdb.querier.timeout', kind: 'duration', help: 'Default and longest timeout of a PromQL query; a query\'s timeout parameter may only shorten it (503 timeout beyond).' },
  { name: 'tsdb.querier.max-samples', kind: 'int', min: 1, help: 'Samples one PromQL query may hold in memory at once; beyond it the query fails.' },
  { name: 'tsdb.querier.lookback-delta', kind: 'duration', help: 'How far back an instant selector looks for a sample; a query\'s lookback_delta parameter overrides it.' },
  { name: 'tsdb.querier.default-evaluation-interval', kind: 'duration', help: 'Step of PromQL subqueries written without one (x[1h:]).' },
];

/** `server.http-listen-port` → ['server', 'httpListenPort']. */
export function configPath(flagName: string): string[] {
  return flagName.split('.').map((part) => part.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
}

/** `server.http-listen-port` → ['server', 'http_listen_port'] (the YAML key path). */
export function yamlPath(flagName: string): string[] {
  return flagName.split('.').map((part) => part.replaceAll('-', '_'));
}

export function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return cur;
}

export function setPath(obj: object, path: readonly string[], value: unknown): void {
  let cur = obj as Record<string, unknown>;
  for (const p of path.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[path[path.length - 1]!] = value;
}
