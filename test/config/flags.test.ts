import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FLAGS } from '../../src/config/config.js';
import { ConfigError, formatDuration, parseArgs, parseDuration, usage } from '../../src/config/flags.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-flags-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function yamlFile(text: string): string {
  const file = path.join(dir, `config-${++fileCounter}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** The ConfigError parseArgs throws for argv (fails the test when it does not throw one). */
function configError(argv: string[]): ConfigError {
  let caught: unknown;
  try {
    parseArgs(argv);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return caught as ConfigError;
}

describe('defaults', () => {
  const { config, help, positional } = parseArgs([]);

  it('match the documented Pyroscope-style defaults', () => {
    expect(help).toBe(false);
    expect(positional).toEqual([]);
    expect(config.target).toEqual(['all']);
    expect(config.config.file).toBe('');
    expect(config.server.httpListenPort).toBe(4040);
    expect(config.server.httpListenAddress).toBe('');
    expect(config.server.gracefulShutdownTimeout).toBe(30_000);
    expect(config.log.level).toBe('info');
    expect(config.storage.backend).toBe('filesystem');
    expect(config.storage.filesystem.dir).toBe('./data');
    expect(config.storage.s3).toEqual({
      endpoint: '',
      bucketName: '',
      region: 'us-east-1',
      accessKeyId: '',
      secretAccessKey: '',
      forcePathStyle: false,
    });
    expect(config.auth).toEqual({ multitenancyEnabled: false, noAuthTenant: 'anonymous' });
  });

  it('limits and timings', () => {
    expect(config.distributor.numShards).toBe(4);
    expect(config.distributor.ingestionRateLimitMb).toBe(4);
    expect(config.distributor.ingestionBurstSizeMb).toBe(2);
    expect(config.distributor.maxRecvMsgSize).toBe(100 * MiB);
    expect(config.validation.maxLabelNamesPerSeries).toBe(30);
    expect(config.validation.maxLengthLabelName).toBe(1024);
    expect(config.validation.maxLengthLabelValue).toBe(2048);
    expect(config.validation.maxProfileSizeBytes).toBe(4 * MiB);
    expect(config.validation.maxProfileStacktraceSamples).toBe(16000);
    expect(config.validation.rejectOlderThan).toBe(3_600_000);
    expect(config.validation.rejectNewerThan).toBe(600_000);
    expect(config.segmentWriter.segmentDuration).toBe(500);
  });

  it('are fresh objects each time (one parse cannot change the next)', () => {
    const a = parseArgs(['-server.http-listen-port=1234']).config;
    const b = parseArgs([]).config;
    expect(a.server.httpListenPort).toBe(1234);
    expect(b.server.httpListenPort).toBe(4040);
  });
});

describe('flag syntax', () => {
  it('-x=y, --x=y and -x y', () => {
    expect(parseArgs(['-server.http-listen-port=5000']).config.server.httpListenPort).toBe(5000);
    expect(parseArgs(['--server.http-listen-port=5001']).config.server.httpListenPort).toBe(5001);
    expect(parseArgs(['-server.http-listen-port', '5002']).config.server.httpListenPort).toBe(5002);
    expect(parseArgs(['--server.http-listen-port', '5003']).config.server.httpListenPort).toBe(5003);
    expect(parseArgs(['-storage.filesystem.dir', '/var/kiln']).config.storage.filesystem.dir).toBe('/var/kiln');
  });

  it('a value may contain "="', () => {
    const { config } = parseArgs(['-storage.s3.secret-access-key=abc=def==']);
    expect(config.storage.s3.secretAccessKey).toBe('abc=def==');
  });

  it('a bool flag alone means true and does not swallow the next argument', () => {
    const a = parseArgs(['-auth.multitenancy-enabled']);
    expect(a.config.auth.multitenancyEnabled).toBe(true);
    const b = parseArgs(['-auth.multitenancy-enabled', 'extra']);
    expect(b.config.auth.multitenancyEnabled).toBe(true);
    expect(b.positional).toEqual(['extra']);
    expect(parseArgs(['-auth.multitenancy-enabled=false']).config.auth.multitenancyEnabled).toBe(false);
    expect(parseArgs(['-auth.multitenancy-enabled=true']).config.auth.multitenancyEnabled).toBe(true);
    expect(parseArgs(['--storage.s3.force-path-style']).config.storage.s3.forcePathStyle).toBe(true);
  });

  it('accepts the boolean spellings of Go strconv.ParseBool, as Pyroscope flags do', () => {
    for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) {
      expect(parseArgs([`-auth.multitenancy-enabled=${v}`]).config.auth.multitenancyEnabled, v).toBe(true);
    }
    for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) {
      expect(parseArgs([`-auth.multitenancy-enabled=${v}`]).config.auth.multitenancyEnabled, v).toBe(false);
    }
  });

  it('the last occurrence of a flag wins', () => {
    const { config } = parseArgs(['-server.http-listen-port=1', '-server.http-listen-port=2']);
    expect(config.server.httpListenPort).toBe(2);
  });

  it('-h, -help and --help ask for help', () => {
    expect(parseArgs(['-h']).help).toBe(true);
    expect(parseArgs(['-help']).help).toBe(true);
    expect(parseArgs(['--help']).help).toBe(true);
  });

  it('non-flag arguments are positional; "--" ends the flags', () => {
    expect(parseArgs(['a', '-server.http-listen-port=7', 'b']).positional).toEqual(['a', 'b']);
    const r = parseArgs(['-server.http-listen-port=7', '--', '-storage.backend=s3']);
    expect(r.positional).toEqual(['-storage.backend=s3']);
    expect(r.config.storage.backend).toBe('filesystem');
  });

  it('every S3 flag, with -storage.s3.bucket as an alias of -storage.s3.bucket-name', () => {
    const { config } = parseArgs([
      '-storage.backend=s3',
      '-storage.s3.endpoint=http://127.0.0.1:9000',
      '-storage.s3.bucket=profiles',
      '-storage.s3.region=eu-west-1',
      '-storage.s3.access-key-id=AKID',
      '-storage.s3.secret-access-key=SECRET',
      '-storage.s3.force-path-style=true',
    ]);
    expect(config.storage.backend).toBe('s3');
    expect(config.storage.s3).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      bucketName: 'profiles',
      region: 'eu-west-1',
      accessKeyId: 'AKID',
      secretAccessKey: 'SECRET',
      forcePathStyle: true,
    });
    expect(parseArgs(['--storage.s3.bucket-name=other']).config.storage.s3.bucketName).toBe('other');
  });

  it('typed values: target list, float, duration, enum', () => {
    const { config } = parseArgs([
      '-target=distributor,segment-writer',
      '-distributor.ingestion-rate-limit-mb=0.5',
      '-distributor.ingestion-burst-size-mb=3',
      '-validation.reject-older-than=1h30m',
      '-validation.reject-newer-than=0',
      '-segment-writer.segment-duration=250ms',
      '-log.level=debug',
      '-distributor.num-shards=16',
    ]);
    expect(config.target).toEqual(['distributor', 'segment-writer']);
    expect(config.distributor.ingestionRateLimitMb).toBe(0.5);
    expect(config.distributor.ingestionBurstSizeMb).toBe(3);
    expect(config.validation.rejectOlderThan).toBe(5_400_000);
    expect(config.validation.rejectNewerThan).toBe(0);
    expect(config.segmentWriter.segmentDuration).toBe(250);
    expect(config.log.level).toBe('debug');
    expect(config.distributor.numShards).toBe(16);
  });
});

describe('rejected flags', () => {
  it('an unknown flag names the flag, with one or two dashes', () => {
    expect(configError(['-nope']).message).toContain('flag provided but not defined: -nope');
    expect(configError(['--nope=1']).message).toContain('flag provided but not defined: -nope');
    // A typo of a real flag is still unknown.
    expect(configError(['-server.http-listen-prot=1']).message).toContain('-server.http-listen-prot');
  });

  it('a non-bool flag without a value', () => {
    expect(configError(['-server.http-listen-port']).message).toContain('flag needs an argument: -server.http-listen-port');
  });

  it.each([
    ['-server.http-listen-port=abc', '-server.http-listen-port', '"abc"', 'integer'],
    ['-server.http-listen-port=1.5', '-server.http-listen-port', '"1.5"', 'integer'],
    ['-server.http-listen-port=-1', '-server.http-listen-port', '"-1"', 'negative'],
    ['-distributor.num-shards=', '-distributor.num-shards', '""', 'integer'],
    ['-distributor.ingestion-rate-limit-mb=fast', '-distributor.ingestion-rate-limit-mb', '"fast"', 'number'],
    ['-distributor.ingestion-rate-limit-mb=-2', '-distributor.ingestion-rate-limit-mb', '"-2"', 'negative'],
    ['-auth.multitenancy-enabled=yes', '-auth.multitenancy-enabled', '"yes"', 'true or false'],
    ['-validation.reject-older-than=1x', '-validation.reject-older-than', '"1x"', 'duration'],
    ['-validation.reject-older-than=10', '-validation.reject-older-than', '"10"', 'duration'],
    ['-segment-writer.segment-duration=1d', '-segment-writer.segment-duration', '"1d"', 'duration'],
    ['-storage.backend=gcs', '-storage.backend', '"gcs"', 'filesystem, s3'],
    ['-log.level=trace', '-log.level', '"trace"', 'debug, info, warn, error'],
    ['-target=all,querier', '-target', 'querier', 'valid targets'],
    ['-target=', '-target', '""', 'at least one target'],
  ])('%s → names the flag and the value', (arg, flag, value, why) => {
    const msg = configError([arg]).message;
    expect(msg).toContain(flag);
    expect(msg).toContain(value);
    expect(msg).toContain(why);
  });
});

describe('-config.file (YAML)', () => {
  it('nested keys override defaults; unset keys keep them', () => {
    const file = yamlFile(`
target: distributor,metastore
server:
  http_listen_port: 5050
storage:
  backend: s3
  s3:
    bucket_name: from-yaml
    force_path_style: true
auth:
  multitenancy_enabled: true
validation:
  reject_older_than: 2h
  max_label_names_per_series: 12
distributor:
  ingestion_rate_limit_mb: 0.25
segment_writer:
  segment_duration: 1s
`);
    const { config } = parseArgs([`-config.file=${file}`]);
    expect(config.config.file).toBe(file);
    expect(config.target).toEqual(['distributor', 'metastore']);
    expect(config.server.httpListenPort).toBe(5050);
    expect(config.storage.backend).toBe('s3');
    expect(config.storage.s3.bucketName).toBe('from-yaml');
    expect(config.storage.s3.forcePathStyle).toBe(true);
    expect(config.storage.s3.region).toBe('us-east-1');
    expect(config.auth.multitenancyEnabled).toBe(true);
    expect(config.validation.rejectOlderThan).toBe(7_200_000);
    expect(config.validation.rejectNewerThan).toBe(600_000);
    expect(config.validation.maxLabelNamesPerSeries).toBe(12);
    expect(config.distributor.ingestionRateLimitMb).toBe(0.25);
    expect(config.segmentWriter.segmentDuration).toBe(1000);
    expect(config.storage.filesystem.dir).toBe('./data');
  });

  it('a YAML list is accepted for target', () => {
    const file = yamlFile('target:\n  - segment-writer\n  - metastore\n');
    expect(parseArgs([`-config.file=${file}`]).config.target).toEqual(['segment-writer', 'metastore']);
  });

  it('flags override the file, wherever they stand on the command line', () => {
    const file = yamlFile('server:\n  http_listen_port: 5050\nlog:\n  level: warn\n');
    const before = parseArgs(['-server.http-listen-port=6060', `-config.file=${file}`]).config;
    expect(before.server.httpListenPort).toBe(6060);
    expect(before.log.level).toBe('warn');
    const after = parseArgs([`-config.file=${file}`, '-server.http-listen-port', '7070']).config;
    expect(after.server.httpListenPort).toBe(7070);
  });

  it('an empty file and -config.file= change nothing', () => {
    expect(parseArgs([`-config.file=${yamlFile('')}`]).config.server.httpListenPort).toBe(4040);
    expect(parseArgs(['-config.file=']).config.server.httpListenPort).toBe(4040);
  });

  it('an unknown key names the key and the file', () => {
    const file = yamlFile('server:\n  http_listen_port: 5050\n  nope: 1\n');
    const msg = configError([`-config.file=${file}`]).message;
    expect(msg).toContain('server.nope');
    expect(msg).toContain(file);
    expect(configError([`-config.file=${yamlFile('bogus: 1\n')}`]).message).toContain('unknown key bogus');
  });

  it('a flag-style key (dashes) is not a YAML key', () => {
    const msg = configError([`-config.file=${yamlFile('server:\n  http-listen-port: 5050\n')}`]).message;
    expect(msg).toContain('server.http-listen-port');
  });

  it('a bad value names the key, the value and the file', () => {
    const file = yamlFile('server:\n  http_listen_port: abc\n');
    const msg = configError([`-config.file=${file}`]).message;
    expect(msg).toContain('server.http_listen_port');
    expect(msg).toContain('"abc"');
    expect(msg).toContain(file);
    expect(configError([`-config.file=${yamlFile('storage:\n  backend: gcs\n')}`]).message).toContain('"gcs"');
    expect(configError([`-config.file=${yamlFile('validation:\n  reject_older_than: 5\n')}`]).message).toContain(
      'validation.reject_older_than',
    );
  });

  it('malformed YAML, a non-mapping document and a missing file are clear errors', () => {
    const bad = yamlFile('server:\n  http_listen_port: [1, 2\n');
    const m1 = configError([`-config.file=${bad}`]).message;
    expect(m1).toContain('cannot load config file');
    expect(m1).toContain(bad);
    const list = yamlFile('- a\n- b\n');
    expect(configError([`-config.file=${list}`]).message).toContain('expected a mapping');
    const missing = path.join(dir, 'does-not-exist.yaml');
    const m3 = configError([`-config.file=${missing}`]).message;
    expect(m3).toContain(missing);
  });

  it('a section given as a scalar is rejected', () => {
    const msg = configError([`-config.file=${yamlFile('server: 5050\n')}`]).message;
    expect(msg).toContain('server');
  });
});

describe('usage()', () => {
  const text = usage();

  it('lists every flag with its default', () => {
    const lines = text.split('\n');
    for (const f of FLAGS) {
      const at = lines.findIndex((l) => l.trimStart().startsWith(`-${f.name} `));
      expect(at, f.name).toBeGreaterThanOrEqual(0);
      expect(lines[at + 1], f.name).toMatch(/\(default .*\)$/);
    }
  });

  it('shows the documented defaults', () => {
    expect(text).toMatch(/-server\.http-listen-port int\n.*\(default 4040\)/);
    expect(text).toMatch(/-target list\n.*\(default all\)/);
    expect(text).toMatch(/-storage\.backend filesystem\|s3\n.*\(default "filesystem"\)/);
    expect(text).toMatch(/-storage\.filesystem\.dir string\n.*\(default "\.\/data"\)/);
    expect(text).toMatch(/-auth\.multitenancy-enabled bool\n.*\(default false\)/);
    expect(text).toMatch(/-validation\.reject-older-than duration\n.*\(default 1h\)/);
    expect(text).toMatch(/-validation\.reject-newer-than duration\n.*\(default 10m\)/);
    expect(text).toMatch(/-segment-writer\.segment-duration duration\n.*\(default 500ms\)/);
    expect(text).toMatch(/-validation\.max-profile-size-bytes int\n.*\(default 4194304\)/);
  });

  it('covers every flag the issue names', () => {
    for (const name of [
      'target',
      'server.http-listen-port',
      'storage.backend',
      'storage.filesystem.dir',
      'storage.s3.endpoint',
      'storage.s3.bucket-name',
      'storage.s3.region',
      'storage.s3.access-key-id',
      'storage.s3.secret-access-key',
      'storage.s3.force-path-style',
      'auth.multitenancy-enabled',
      'config.file',
      'distributor.max-recv-msg-size',
      'distributor.ingestion-rate-limit-mb',
      'distributor.ingestion-burst-size-mb',
      'distributor.num-shards',
      'validation.max-profile-size-bytes',
      'validation.max-label-names-per-series',
      'validation.max-length-label-name',
      'validation.max-length-label-value',
      'validation.reject-older-than',
      'validation.reject-newer-than',
    ]) {
      expect(text).toContain(`  -${name} `);
    }
  });
});

describe('parseDuration (Go syntax, milliseconds out)', () => {
  it.each([
    ['0', 0],
    ['0s', 0],
    ['500ms', 500],
    ['1s', 1000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['10s', 10_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2h45m30s', 9_930_000],
    ['1m0s', 60_000],
    ['1s500ms', 1500],
    ['1000us', 1],
    ['1000µs', 1],
    ['2000000ns', 2],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '1', '10', 'h', 'ms', '1d', '1H', '1h 30m', '1.2.3s', 'abc', '1s!', ' s'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [3_661_000, '1h1m1s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([1500, 90_500, 86_400_000, 3_600_001])('parseDuration(formatDuration(%d)) round-trips', (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
