// The real @pyroscope/nodejs SDK (0.6.4, with @datadog/pprof's native addon)
// pushes to a real `kiln serve` through a capture proxy that records every
// request byte for byte. Each captured profile is decoded with the reference
// decoder (pprof-format) and compared with what Kiln stored: totals, stacks
// and labels, per sample type. A second test replays one captured body the
// way @pyroscope/nodejs 0.4.13 sends it (multipart/form-data, no format=pprof).

import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KilnProcess, startKiln } from '../helpers/kiln-process.js';
import { type ExpectedSeries, expectedSeries } from '../helpers/reference-profile.js';
import { type StoredProfile, dataDirOf, readStoredProfiles } from '../helpers/stored-profiles.js';

const CLIENT = path.resolve(import.meta.dirname, 'fixtures/pyroscope-client.mjs');
const APP = 'kiln-sdk-test';
const CLIENT_SECONDS = 4;

// Whether the SDK's native addon loads here; if not, the SDK tests are skipped with the reason.
const sdkUnavailable = await (async (): Promise<string | undefined> => {
  try {
    const pprof = await import('@datadog/pprof');
    if (typeof pprof.time.start !== 'function') return '@datadog/pprof has no time profiler';
    await import('@pyroscope/nodejs');
    return undefined;
  } catch (e) {
    return `@pyroscope/nodejs cannot load: ${(e as Error).message}`;
  }
})();
if (sdkUnavailable) console.log(`skipping the @pyroscope/nodejs tests: ${sdkUnavailable}`);

interface Captured {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Kiln's answer, passed back to the SDK. */
  status: number;
  responseBody: string;
}

/** A loopback proxy that records each request and forwards it unchanged to `target`. */
async function startCaptureProxy(target: string) {
  const captured: Captured[] = [];
  const pending = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    const done = (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'authorization', 'x-scope-orgid', 'user-agent']) {
        const v = req.headers[name];
        if (typeof v === 'string') headers[name] = v;
      }
      const entry: Captured = { method: req.method!, url: req.url!, headers: req.headers, body, status: 0, responseBody: '' };
      captured.push(entry);
      try {
        const r = await fetch(new URL(req.url!, target), { method: req.method, headers, body: body.length > 0 ? body : undefined });
        entry.status = r.status;
        entry.responseBody = await r.text();
      } catch (e) {
        entry.status = 599;
        entry.responseBody = `proxy could not reach kiln: ${(e as Error).message}`;
      }
      res.writeHead(entry.status, { 'content-type': 'text/plain' }).end(entry.responseBody);
    })();
    pending.add(done);
    void done.finally(() => pending.delete(done));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    captured,
    /** Waits for every request in flight, then closes. */
    async close() {
      await Promise.all([...pending]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs the fixture client; resolves with its exit code and output. */
function runClient(serverAddress: string, seconds: number): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PYROSCOPE_')) delete env[k];
  const child = spawn(process.execPath, [CLIENT, serverAddress, String(seconds)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

interface DecodedPush {
  capture: Captured;
  query: URLSearchParams;
  /** The profile's time as Kiln should store it: pprof time_nanos, or `from` when unset/1970. */
  timeNanos: bigint;
  /** The __name__ Pyroscope guesses from the sample types. */
  name: string;
  series: ExpectedSeries[];
  /** Per sample type: the total of the samples carrying endpoint="/a" (reference decoder). */
  endpointATotals: number[];
  /** Sample label names present in the pprof. */
  sampleLabelNames: Set<string>;
}

function decodePush(capture: Captured, pprofBytes: Uint8Array, query: URLSearchParams): DecodedPush {
  const raw = pprofBytes[0] === 0x1f && pprofBytes[1] === 0x8b ? gunzipSync(pprofBytes) : pprofBytes;
  const p = Profile.decode(raw);
  const str = (i: number | bigint) => p.stringTable.strings[Number(i)]!;
  const series = expectedSeries(pprofBytes);
  const types = series.map((s) => s.type);
  const name = types.includes('wall') ? 'wall' : types.some((t) => /^(inuse|alloc)_(space|objects)$/.test(t)) ? 'memory' : 'unknown';
  const endpointATotals = series.map(() => 0);
  const sampleLabelNames = new Set<string>();
  for (const s of p.sample) {
    const labels = new Map(s.label.map((l) => [str(l.key), str(l.str)]));
    for (const k of labels.keys()) sampleLabelNames.add(k);
    if (labels.get('endpoint') !== '/a') continue;
    s.value.forEach((v, t) => (endpointATotals[t]! += Number(v)));
  }
  const pprofTime = BigInt(p.timeNanos ?? 0);
  const timeNanos = pprofTime < 31_536_000_000_000_000n ? BigInt(query.get('from')!) * 1_000_000_000n : pprofTime;
  return { capture, query, timeNanos, name, series, endpointATotals, sampleLabelNames };
}

const profileType = (name: string, s: ExpectedSeries) => `${name}:${s.type}:${s.unit}:${s.periodType}:${s.periodUnit}`;

/** Sums stored rows (split by sample labels) per __profile_type__. */
function sumByProfileType(rows: StoredProfile[]): Map<string, { total: number; stacks: Map<string, number> }> {
  const out = new Map<string, { total: number; stacks: Map<string, number> }>();
  for (const r of rows) {
    const key = r.labels.__profile_type__!;
    let acc = out.get(key);
    if (!acc) out.set(key, (acc = { total: 0, stacks: new Map() }));
    acc.total += r.total;
    for (const [stack, v] of r.stacks) acc.stacks.set(stack, (acc.stacks.get(stack) ?? 0) + v);
  }
  return out;
}

/** Stored rows grouped by profile id: the rows of one push share one id. */
function groupByProfileId(rows: StoredProfile[]): Map<string, StoredProfile[]> {
  const groups = new Map<string, StoredProfile[]>();
  for (const r of rows) {
    const g = groups.get(r.profileId);
    if (g) g.push(r);
    else groups.set(r.profileId, [r]);
  }
  return groups;
}

/** The one stored profile (group of rows) with this push's time and __name__. */
function storedGroupFor(push: DecodedPush, groups: Map<string, StoredProfile[]>): StoredProfile[] {
  const matches = [...groups.values()].filter((g) => g[0]!.timeNanos === push.timeNanos && g[0]!.labels.__name__ === push.name);
  expect(matches, `stored profiles for the ${push.name} push ${push.capture.url}`).toHaveLength(1);
  const group = matches[0]!;
  for (const r of group) expect(r.timeNanos).toBe(push.timeNanos);
  return group;
}

/** Totals and stacks of every sample type equal the reference decoding of the pushed body. */
function expectSameContent(push: DecodedPush, group: StoredProfile[]) {
  const stored = sumByProfileType(group);
  const expectedTypes = push.series.filter((s) => s.total !== 0 || s.stacks.size > 0).map((s) => profileType(push.name, s));
  expect([...stored.keys()].sort()).toEqual(expectedTypes.sort());
  for (const s of push.series) {
    const got = stored.get(profileType(push.name, s)) ?? { total: 0, stacks: new Map<string, number>() };
    expect(got.total, `${profileType(push.name, s)} total`).toBe(s.total);
    expect(got.stacks, `${profileType(push.name, s)} stacks`).toEqual(s.stacks);
  }
}

/** Checks the labels of one stored row of this push; returns the row's sample labels (e.g. endpoint). */
function expectRowLabels(push: DecodedPush, row: StoredProfile, service: string, tags: Record<string, string>) {
  const s = push.series.find((x) => profileType(push.name, x) === row.labels.__profile_type__);
  expect(s, `row with unexpected __profile_type__ ${row.labels.__profile_type__}`).toBeDefined();
  const expected: Record<string, string> = {
    ...tags,
    service_name: service,
    pyroscope_spy: 'nodespy',
    __name__: push.name,
    __profile_type__: profileType(push.name, s!),
    __type__: s!.type,
    __unit__: s!.unit,
    __period_type__: s!.periodType,
    __period_unit__: s!.periodUnit,
  };
  // Pyroscope's segment-writer head also adds __service_name__ (spec/pyroscope.md §5.3); allowed, not required.
  if ('__service_name__' in row.labels) expected.__service_name__ = service;
  const sampleLabels = Object.fromEntries(Object.entries(row.labels).filter(([k]) => push.sampleLabelNames.has(k)));
  const rest = Object.fromEntries(Object.entries(row.labels).filter(([k]) => !push.sampleLabelNames.has(k)));
  expect(rest).toEqual(expected);
  return sampleLabels;
}

describe.skipIf(sdkUnavailable !== undefined)('@pyroscope/nodejs 0.6.4 → kiln', () => {
  let kiln: KilnProcess;
  let pushes: DecodedPush[] = [];
  let storedRows = 0;

  beforeAll(async () => {
    kiln = await startKiln();
  });

  afterAll(async () => {
    if (!kiln) return;
    const code = await kiln.stop();
    expect(code, kiln.logs.slice(-20).join('\n')).toBe(0);
  });

  it('stores exactly what the real SDK pushed: totals, stacks and labels per sample type', async () => {
    const proxy = await startCaptureProxy(kiln.url);
    let run: { code: number | null; output: string };
    try {
      run = await runClient(proxy.url, CLIENT_SECONDS);
    } finally {
      await proxy.close();
    }
    expect(run.code, run.output).toBe(0);

    const captured = proxy.captured;
    expect(captured.length).toBeGreaterThan(0);
    for (const c of captured) {
      expect(c.method).toBe('POST');
      expect(c.url.startsWith('/ingest?')).toBe(true);
      expect(c.headers['content-type']).toBe('application/octet-stream');
      expect(c.headers.authorization).toBe(`Basic ${Buffer.from('kiln-user:kiln-pass').toString('base64')}`);
      expect(c.status, `kiln answered ${c.status} ${c.responseBody} to ${c.url}`).toBe(200);
    }

    pushes = captured.map((c) => {
      const query = new URL(c.url, 'http://x').searchParams;
      expect(query.get('format')).toBe('pprof');
      expect(query.get('spyName')).toBe('nodespy');
      return decodePush(c, c.body, query);
    });
    const wall = pushes.filter((p) => p.name === 'wall');
    const heap = pushes.filter((p) => p.name === 'memory');
    // The 0.6.4 wall profiler's sampleRate bug (spec/ecosystem.md §7a): Kiln must not rescale by it.
    for (const p of wall) expect(p.query.get('sampleRate')).toBe('17');
    for (const p of heap) expect(p.query.has('sampleRate')).toBe(false);
    expect(wall.length).toBeGreaterThanOrEqual(1);
    expect(heap.length).toBeGreaterThanOrEqual(1);
    expect(wall.length + heap.length).toBe(pushes.length);
    // The SDK's wall profile has samples, wall and cpu (collectCpuTime) with period type wall.
    expect(wall[0]!.series.map((s) => `${s.type}:${s.unit}`)).toEqual(['samples:count', 'wall:nanoseconds', 'cpu:nanoseconds']);
    expect(heap[0]!.series.map((s) => `${s.type}:${s.unit}`)).toEqual(['inuse_objects:count', 'inuse_space:bytes']);
    // The burn loop ran under the profiler, so the pushes are not empty.
    expect(wall.some((p) => p.series[1]!.stacks.size > 0)).toBe(true);
    expect(heap.some((p) => p.series[1]!.total > 0)).toBe(true);
    expect(wall.some((p) => p.endpointATotals[1]! > 0)).toBe(true);

    const { profiles } = await readStoredProfiles(dataDirOf(kiln.dir));
    const rows = profiles.filter((r) => r.labels.service_name === APP);
    storedRows = rows.length;
    for (const r of rows) expect(r.tenant).toBe('anonymous');
    const groups = groupByProfileId(rows);
    const nonEmpty = pushes.filter((p) => p.series.some((s) => s.total !== 0 || s.stacks.size > 0));
    expect(groups.size).toBe(nonEmpty.length);

    const tags = {
      otel_scope_name: 'com.grafana.pyroscope/nodejs',
      otel_scope_version: '0.6.4',
      process_runtime_name: 'nodejs',
      process_runtime_version: process.versions.node,
      region: 'eu',
    };
    let endpointSeries = 0;
    for (const push of nonEmpty) {
      const group = storedGroupFor(push, groups);
      expectSameContent(push, group);
      const endpointA = push.series.map(() => 0);
      for (const row of group) {
        const sampleLabels = expectRowLabels(push, row, APP, tags);
        if (push.name === 'memory') expect(sampleLabels).toEqual({});
        if (sampleLabels.endpoint === '/a') {
          endpointSeries++;
          const t = push.series.findIndex((s) => profileType(push.name, s) === row.labels.__profile_type__);
          endpointA[t]! += row.total;
        }
      }
      // The endpoint="/a" series hold exactly the samples labelled /a in the pprof.
      expect(endpointA).toEqual(push.endpointATotals);
    }
    expect(endpointSeries).toBeGreaterThan(0);

    console.log(
      `@pyroscope/nodejs → kiln: ${captured.length} pushes captured (${wall.length} wall, ${heap.length} heap; ` +
        `${captured.reduce((n, c) => n + c.body.length, 0)} body bytes), ${storedRows} rows stored in ${groups.size} profiles, ` +
        `${endpointSeries} endpoint="/a" rows`,
    );
  });

  it('stores the 0.4.13-style multipart body (part "profile", no format=pprof) the same way', async () => {
    const wallPush = pushes.find((p) => p.name === 'wall' && p.series[1]!.stacks.size > 0);
    expect(wallPush, 'a non-empty wall push captured by the first test').toBeDefined();
    const body = wallPush!.capture.body;
    expect(body[0] === 0x1f && body[1] === 0x8b).toBe(true); // the SDK sends gzipped pprof

    const form = new FormData();
    form.append('profile', new Blob([body], { type: 'application/octet-stream' }), 'profile');
    const q = new URLSearchParams({
      from: wallPush!.query.get('from')!,
      name: 'kiln-multipart{}',
      spyName: 'nodespy',
      until: wallPush!.query.get('until')!,
      sampleRate: '17',
    });
    const res = await fetch(`${kiln.url}/ingest?${q}`, { method: 'POST', body: form });
    expect(res.status, await res.text()).toBe(200);

    const push = decodePush(wallPush!.capture, body, q);
    const { profiles } = await readStoredProfiles(dataDirOf(kiln.dir));
    const rows = profiles.filter((r) => r.labels.service_name === 'kiln-multipart');
    const groups = groupByProfileId(rows);
    expect(groups.size).toBe(1);
    const group = storedGroupFor(push, groups);
    expectSameContent(push, group);
    let endpointRows = 0;
    for (const row of group) {
      const sampleLabels = expectRowLabels(push, row, 'kiln-multipart', {});
      if (sampleLabels.endpoint === '/a') endpointRows++;
    }
    expect(endpointRows).toBeGreaterThan(0);
    console.log(`0.4.13-style multipart push: ${body.length} B part, ${rows.length} rows stored`);
  });
});
