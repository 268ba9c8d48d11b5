// An in-memory Storage and the Prometheus API on a loopback HTTP server, for the API's tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrometheusApi } from '../../../src/tsdb/api/prometheus-api.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from '../../../src/tsdb/api/query-limits.js';
import { MetadataStore } from '../../../src/tsdb/distributor/metadata-store.js';
import { tenantResolver } from '../../../src/tsdb/distributor/tenant.js';
import { compileMatcher } from '../../../src/tsdb/head/matchers.js';
import type { LabelMatcher, Labels, Querier, SelectedSeries, Storage } from '../../../src/tsdb/storage.js';

export interface MemSeries {
  labels: Record<string, string>;
  samples: Array<[ms: number, value: number]>;
}

const sortedLabels = (l: Record<string, string>): Labels => Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const key = (l: Labels) => JSON.stringify(l);

/** Series per tenant; select/labelNames/labelValues as storage.ts promises (sorted, inclusive ranges). */
export class MemStorage implements Storage {
  readonly tenants = new Map<string, MemSeries[]>();

  add(tenant: string, ...series: MemSeries[]): this {
    const list = this.tenants.get(tenant) ?? [];
    list.push(...series);
    this.tenants.set(tenant, list);
    return this;
  }

  append(): never {
    throw new Error('MemStorage is read-only');
  }

  async close(): Promise<void> {}

  querier(tenant: string): Querier {
    const all = () => this.tenants.get(tenant) ?? [];
    const matching = (matchers: readonly LabelMatcher[]) => {
      const compiled = matchers.map(compileMatcher);
      return all()
        .map((s) => ({ labels: sortedLabels(s.labels), samples: s.samples }))
        .filter((s) => compiled.every((m) => m.matches(s.labels.find(([n]) => n === m.name)?.[1] ?? '')))
        .sort((a, b) => (key(a.labels) < key(b.labels) ? -1 : 1));
    };
    const sorted = (set: Set<string>) => [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return {
      select: async (matchers, minT, maxT): Promise<SelectedSeries[]> =>
        matching(matchers)
          .map((s) => {
            const inRange = s.samples.filter(([t]) => t >= minT && t <= maxT);
            return { labels: s.labels, timestamps: new Float64Array(inRange.map(([t]) => t)), values: new Float64Array(inRange.map(([, v]) => v)) };
          })
          .filter((s) => s.timestamps.length > 0),
      labelNames: async (matchers) => sorted(new Set(matching(matchers).flatMap((s) => s.labels.map(([n]) => n)))),
      labelValues: async (name, matchers) => sorted(new Set(matching(matchers).flatMap((s) => s.labels.filter(([n]) => n === name).map(([, v]) => v)))),
    };
  }
}

export interface ApiServer {
  url: string;
  storage: MemStorage;
  metadata: MetadataStore;
  close(): Promise<void>;
}

export interface ApiServerOptions {
  multitenancy?: boolean;
  limits?: Partial<QueryLimits>;
  now?: () => number;
}

/** The API on a loopback port; `url` is the API root (`…/prometheus/api/v1`). */
export async function startApi(storage = new MemStorage(), o: ApiServerOptions = {}): Promise<ApiServer> {
  const metadata = new MetadataStore();
  const api = createPrometheusApi({
    storage,
    metadata,
    tenantOf: tenantResolver({ multitenancyEnabled: o.multitenancy ?? false, noAuthTenant: 'anonymous' }, false),
    limits: { ...DEFAULT_QUERY_LIMITS, ...o.limits },
    ...(o.now && { now: o.now }),
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://kiln');
    api(req, res, url).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500).end(`unhandled: ${e.message}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/prometheus/api/v1`,
    storage,
    metadata,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Answer {
  status: number;
  contentType: string | null;
  text: string;
  /** The parsed JSON body, or undefined when it is not JSON. */
  body: { status?: string; data?: unknown; errorType?: string; error?: string; warnings?: string[]; infos?: string[] } | undefined;
}

export async function call(url: string, init?: RequestInit): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Answer['body'];
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text, body };
}

export const get = (base: string, path: string, params: Record<string, string | string[]> = {}, headers: Record<string, string> = {}) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  return call(`${base}/${path}${q.size > 0 ? `?${q}` : ''}`, { headers });
};

export const post = (base: string, path: string, params: Record<string, string | string[]> = {}, headers: Record<string, string> = {}) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  return call(`${base}/${path}`, { method: 'POST', body: q.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
};
