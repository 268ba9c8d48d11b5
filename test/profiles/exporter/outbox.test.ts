// The outbox on its own: durable appends, replay, idempotency against metastore replays, the
// bounded memory of exported names, rewrites and a torn tail.
import { appendFile, readFile, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OUTBOX_FILE, Outbox } from '../../../src/profiles/exporter/outbox.js';
import { recordingLogger, tempDir } from '../metastore/helpers.js';
import { commitEvent, jobState, simpleResult } from './helpers.js';

const dirs: string[] = [];
const open: Outbox[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function newDir(): Promise<string> {
  const d = await tempDir('kiln-outbox-');
  dirs.push(d);
  return d;
}

async function openOutbox(dir: string, options: Parameters<typeof Outbox.open>[1] = {}): Promise<Outbox> {
  const o = await Outbox.open(dir, { logger: recordingLogger(), ...options });
  open.push(o);
  return o;
}

async function reopen(dir: string, o: Outbox, options: Parameters<typeof Outbox.open>[1] = {}): Promise<Outbox> {
  await o.close();
  open.splice(open.indexOf(o), 1);
  return openOutbox(dir, options);
}

const jobA = jobState('job-a', 1, ['01A', '01B']);
const jobB = jobState('job-b', 1, ['01C', '01D']);

describe('outbox', () => {
  it('keeps a committed result durably and hands it back after reopening', async () => {
    const dir = await newDir();
    let o = await openOutbox(dir);
    await o.onJobCommitted(commitEvent(jobA, simpleResult(5000, 1, 'a', ['acme', 'globex']), 1234));
    expect(o.pending().map((e) => e.job)).toEqual(['job-a']);
    o = await reopen(dir, o);
    const [e] = o.pending();
    expect(e).toMatchObject({ job: 'job-a', shard: 1, firstSource: '01A', committedAt: 1234, timestampMs: 5000, durable: true });
    expect([...e!.tenants.keys()]).toEqual(['acme', 'globex']);
    expect(e!.tenants.get('acme')!.series[0]!.labels.map((l) => l.name)).toEqual(['__name__', 'job_name', 'profiles_rule_id']);
  });

  it('orders entries by first source, not by commit order', async () => {
    const o = await openOutbox(await newDir());
    await o.onJobCommitted(commitEvent(jobB, simpleResult(2, 1, 'b', ['acme'])));
    await o.onJobCommitted(commitEvent(jobA, simpleResult(1, 1, 'a', ['acme'])));
    expect(o.pending().map((e) => e.job)).toEqual(['job-a', 'job-b']);
  });

  it('appends a job once, however often the metastore delivers it', async () => {
    const dir = await newDir();
    let o = await openOutbox(dir);
    const ev = commitEvent(jobA, simpleResult(1, 1, 'a', ['acme']));
    await Promise.all([o.onJobCommitted(ev), o.onJobCommitted(ev), o.onJobCommitted({ ...ev, replayed: true })]);
    const size = o.byteLength;
    await o.onJobCommitted({ ...ev, replayed: true });
    expect(o.byteLength).toBe(size);
    expect(o.pending()).toHaveLength(1);

    // Exported, then replayed by the metastore after a restart: skipped.
    await o.completeTenant('job-a', 'acme', 'sent');
    expect(o.pending()).toEqual([]);
    expect(o.isExported('job-a')).toBe(true);
    o = await reopen(dir, o);
    await o.onJobCommitted({ ...ev, replayed: true });
    o.markReplayDone();
    expect(o.pending()).toEqual([]);
    expect(o.isExported('job-a')).toBe(true);
  });

  it('forgets exported names the metastore can no longer replay', async () => {
    const dir = await newDir();
    let o = await openOutbox(dir);
    await o.onJobCommitted(commitEvent(jobA, simpleResult(1, 1, 'a', ['acme'])));
    await o.onJobCommitted(commitEvent(jobB, simpleResult(2, 1, 'b', ['acme'])));
    await o.completeTenant('job-a', 'acme', 'sent');
    await o.completeTenant('job-b', 'acme', 'dropped');
    // After a restart the metastore replays only job-b (job-a's commit was rewritten away).
    o = await reopen(dir, o);
    expect(o.isExported('job-a') && o.isExported('job-b')).toBe(true);
    await o.onJobCommitted(commitEvent(jobB, simpleResult(2, 1, 'b', ['acme']), 1000, true));
    o.markReplayDone();
    expect(o.isExported('job-a')).toBe(false);
    expect(o.isExported('job-b')).toBe(true);
    // The metastore rewrites its log: nothing before it is replayable any more.
    o.onMetastoreLogRewritten();
    expect(o.isExported('job-b')).toBe(false);
  });

  it('does not remember a job exported after the metastore rewrote its commit away', async () => {
    const o = await openOutbox(await newDir());
    await o.onJobCommitted(commitEvent(jobA, simpleResult(1, 1, 'a', ['acme'])));
    o.onMetastoreLogRewritten();
    await o.completeTenant('job-a', 'acme', 'sent');
    expect(o.isExported('job-a')).toBe(false);
    expect(o.pending()).toEqual([]);
  });

  it('keeps a job until every tenant is done', async () => {
    const dir = await newDir();
    let o = await openOutbox(dir);
    await o.onJobCommitted(commitEvent(jobA, simpleResult(1, 1, 'a', ['acme', 'globex'])));
    await o.completeTenant('job-a', 'globex', 'sent');
    o = await reopen(dir, o);
    expect([...o.pending()[0]!.tenants.keys()]).toEqual(['acme']);
    expect(o.pendingTenants).toBe(1);
  });

  it('takes nothing for an empty result, and reports an undecodable one', async () => {
    const undecodable: string[] = [];
    const o = await openOutbox(await newDir(), { onUndecodable: (job) => undecodable.push(job) });
    await o.onJobCommitted(commitEvent(jobA, new Uint8Array()));
    await o.onJobCommitted(commitEvent(jobB, simpleResult(1, 1, 'b', [])));
    await o.onJobCommitted(commitEvent(jobState('bad', 1, ['01X']), new Uint8Array([0xff, 0xff, 0xff])));
    expect(o.pending()).toEqual([]);
    expect(undecodable).toEqual(['bad']);
  });

  it('rewrites itself when it grows, keeping pending entries and remembered names', async () => {
    const dir = await newDir();
    let o = await openOutbox(dir, { rewriteMinBytes: 4096 });
    for (let i = 0; i < 40; i++) {
      const job = jobState(`job-${String(i).padStart(2, '0')}`, 1, [`01S${String(i).padStart(3, '0')}`]);
      await o.onJobCommitted(commitEvent(job, simpleResult(i, 1, job.name, ['acme', 'globex'])));
      if (i < 30) await o.completeTenant(job.name, 'acme', 'sent');
      if (i < 20) await o.completeTenant(job.name, 'globex', 'sent');
    }
    const size = (await stat(path.join(dir, OUTBOX_FILE))).size;
    expect(size).toBeLessThan(8192 + 2048);
    const pending = o.pending().map((e) => [e.job, [...e.tenants.keys()]]);
    o = await reopen(dir, o);
    expect(o.pending().map((e) => [e.job, [...e.tenants.keys()]])).toEqual(pending);
    expect(pending).toHaveLength(20);
    expect(o.isExported('job-00') && o.isExported('job-19')).toBe(true);
  });

  it('drops a torn tail and keeps everything before it', async () => {
    const dir = await newDir();
    let o = await openOutbox(dir);
    await o.onJobCommitted(commitEvent(jobA, simpleResult(1, 1, 'a', ['acme'])));
    await o.close();
    open.splice(open.indexOf(o), 1);
    await appendFile(path.join(dir, OUTBOX_FILE), new Uint8Array([0, 0, 0, 50, 1, 2, 3]));
    const logger = recordingLogger();
    o = await openOutbox(dir, { logger });
    expect(o.pending().map((e) => e.job)).toEqual(['job-a']);
    expect(logger.warnings.map((w) => w.msg).join()).toMatch(/truncated/);
    expect((await readFile(path.join(dir, OUTBOX_FILE))).length).toBe(o.byteLength);
  });
});
