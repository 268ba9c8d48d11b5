// The real `kiln` binary (node dist/cli/main.js, built by the global setup) as a
// user runs it: help, version, flag errors, and start-up failures.

import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FLAGS } from '../../src/config/config.js';
import { KILN_MAIN, type KilnProcess, startKiln, tempDir } from '../helpers/kiln-process.js';

interface Run {
  code: number | null;
  /** True when kiln was still running at the timeout (and was sent SIGTERM). */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs kiln in a fresh temp dir; data and metastore stay inside it. */
function kiln(args: string[], timeoutMs = 20_000): Promise<Run> {
  const cwd = tempDir('kiln-cli-test-');
  dirs.push(cwd);
  return new Promise((resolve) => {
    execFile(process.execPath, [KILN_MAIN, ...args], { cwd, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, timedOut: err?.killed === true, stdout, stderr });
    });
  });
}

/** Flags that keep a serve run on loopback, on a free port, inside cwd. */
const LOCAL = ['-server.http-listen-address=127.0.0.1', '-server.http-listen-port=0', '-storage.filesystem.dir=data', '-metastore.data-dir=metastore'];

describe('kiln serve -help', () => {
  it('exits 0 and lists every flag with its default', async () => {
    const r = await kiln(['serve', '-help']);
    expect(r.code).toBe(0);
    for (const f of FLAGS) expect(r.stdout, f.name).toContain(`-${f.name} `);
    expect(r.stdout).toContain('-server.http-listen-port int');
    expect(r.stdout).toContain('(default 4040)');
    expect(r.stdout).toContain('(default "./data")');
    expect(r.stdout).toContain('-auth.multitenancy-enabled bool');
    expect(r.stdout).toContain('-storage.s3.force-path-style bool');
    expect(r.stdout).toContain('-config.file string');
  });

  it('--help and -h work too', async () => {
    const [a, b] = await Promise.all([kiln(['serve', '--help']), kiln(['serve', '-h'])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('-target list');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('-target list');
  });
});

describe('flag errors are rejected before anything starts', () => {
  it('an unknown flag', async () => {
    const r = await kiln(['serve', '-nope']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain('flag provided but not defined: -nope');
  });

  it('a bad integer', async () => {
    const r = await kiln(['serve', '-server.http-listen-port=abc']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('-server.http-listen-port');
    expect(r.stderr).toContain('"abc"');
  });

  it('a bad enum and a bad duration', async () => {
    const [a, b] = await Promise.all([
      kiln(['serve', '-storage.backend=gcs']),
      kiln(['serve', '-validation.reject-older-than=soon']),
    ]);
    expect(a.code).not.toBe(0);
    expect(a.stderr).toContain('-storage.backend');
    expect(a.stderr).toContain('"gcs"');
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('-validation.reject-older-than');
    expect(b.stderr).toContain('"soon"');
  });

  it('a missing config file', async () => {
    const missing = path.join(tempDir('kiln-cli-missing-'), 'nowhere', 'kiln.yaml');
    dirs.push(path.dirname(path.dirname(missing)));
    const r = await kiln(['serve', `-config.file=${missing}`]);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain(missing);
  });

  it('a stray positional argument', async () => {
    const r = await kiln(['serve', 'now']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('"now"');
  });

  it('a port out of range fails at start with a message naming it', async () => {
    const r = await kiln(['serve', ...LOCAL, '-server.http-listen-port=70000']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout + r.stderr).toContain('70000');
  });

  it('-distributor.num-shards=0 is rejected at start (shard ids are 1-based, so at least one shard is needed)', async () => {
    // Without the check kiln starts and would write segments/0/…; give it 5 s, then it counts as "started".
    const r = await kiln(['serve', ...LOCAL, '-distributor.num-shards=0'], 5_000);
    expect(r.timedOut, `kiln started instead of rejecting the flag:\n${r.stdout}${r.stderr}`).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('num-shards');
  });

  it('-storage.backend=s3 without a bucket fails at start', async () => {
    const r = await kiln(['serve', ...LOCAL, '-storage.backend=s3']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout + r.stderr).toMatch(/bucket/);
  });
});

describe('commands', () => {
  it('version prints the package version', async () => {
    const r = await kiln(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('kiln 0.1.0');
  });

  it('an unknown command is an error that names it', async () => {
    const r = await kiln(['frobnicate']);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toContain('kiln serve');
  });

  it('no command prints the usage and fails', async () => {
    const r = await kiln([]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain('kiln serve');
  });

  it('help prints the usage and succeeds', async () => {
    const r = await kiln(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kiln serve');
  });
});

describe('start-up and shutdown', () => {
  it('a port already in use: non-zero exit with a log line naming the problem', async () => {
    let first: KilnProcess | undefined;
    try {
      first = await startKiln();
      dirs.push(first.dir);
      const dir = tempDir('kiln-cli-busy-');
      dirs.push(dir);
      let error: Error | undefined;
      const second = await startKiln([`-server.http-listen-port=${first.port}`], dir).catch((e: Error) => {
        error = e;
        return undefined;
      });
      if (second) await second.kill();
      expect(second, 'the second kiln started on a busy port').toBeUndefined();
      // startKiln's error carries the child's exit code and every log line.
      expect(error!.message).toMatch(/exited with [1-9]/);
      expect(error!.message).toContain('EADDRINUSE');
      expect(error!.message).toContain(String(first.port));
      expect(error!.message).toContain('failed to start');
      // The first one is unaffected.
      const res = await fetch(`${first.url}/ready`);
      expect(res.status).toBe(200);
    } finally {
      await first?.kill();
    }
  });

  it('SIGTERM stops a running kiln with exit code 0', async () => {
    const k = await startKiln();
    dirs.push(k.dir);
    expect((await fetch(`${k.url}/ready`)).status).toBe(200);
    expect(await k.stop()).toBe(0);
    expect(k.logs.join('\n')).toContain('"stopped"');
  });
});

describe('kiln serve with a partial -target', () => {
  it('refuses a distributor without a segment writer address', () => {
    const r = spawnSync(process.execPath, [KILN_MAIN, 'serve', '-target=distributor', '-server.http-listen-port=0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('-distributor.segment-writer-address');
  });
});
