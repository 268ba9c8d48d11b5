// GET /tsdb/series?match=<metric name>[&start=<ms>][&end=<ms>]: the samples a tenant has for one
// metric, as JSON, for operators and tests until the PromQL API exists. Tenant-scoped like a push.
//
//   {"status":"success","data":[{"metric":{"__name__":"up","job":"x"},"values":[[1700000000000,"1"]]}]}
//
// Timestamps are milliseconds; values are strings as in Prometheus's API, and a stale marker is
// shown as "stale" (not "NaN") so the test of bit-exact storage can see it.

import type http from 'node:http';
import type http2 from 'node:http2';
import { IngestError } from '../../profiles/ingest/errors.js';
import type { Storage } from '../storage.js';
import type { TenantResolver } from './tenant.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

function formatValue(words: Uint32Array, i: number, v: number): string {
  if (words[2 * i + 1] === STALE_HI && words[2 * i] === STALE_LO) return 'stale';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function createSeriesHandler(storage: Storage, tenantOf: TenantResolver) {
  return async (req: Req, res: Res, url: URL): Promise<void> => {
    const fail = (status: number, message: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', error: message }));
    if (req.method !== 'GET') return void fail(405, 'use GET');
    let tenant: string;
    try {
      tenant = tenantOf(req);
    } catch (e) {
      return void fail(e instanceof IngestError ? e.status : 400, (e as Error).message);
    }
    const match = url.searchParams.get('match');
    if (!match) return void fail(400, 'missing parameter match=<metric name>');
    const start = Number(url.searchParams.get('start') ?? 0);
    const end = Number(url.searchParams.get('end') ?? Number.MAX_SAFE_INTEGER);
    if (!Number.isFinite(start) || !Number.isFinite(end)) return void fail(400, 'start and end must be millisecond timestamps');
    const series = await storage.querier(tenant).select([{ name: '__name__', type: '=', value: match }], start, end);
    const data = series.map((s) => {
      const words = new Uint32Array(s.values.buffer, s.values.byteOffset, s.values.length * 2);
      const values: [number, string][] = [];
      for (let i = 0; i < s.timestamps.length; i++) values.push([s.timestamps[i]!, formatValue(words, i, s.values[i]!)]);
      return { metric: Object.fromEntries(s.labels), values };
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
  };
}
