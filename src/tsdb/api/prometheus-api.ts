// The Prometheus HTTP API under /prometheus/api/v1/ (Mimir's prefix), over the TSDB's storage
// and the PromQL engine: what Grafana's Prometheus data source calls (spec/tsdb.md §3, §3.5).
// Parameters, checks, error texts and JSON shapes follow Prometheus' web/api/v1; docs/query-api.md
// lists the endpoints and the few differences.
//
// Order of answers, as in Mimir: unknown path 404, wrong method 405 (both plain text, as Go's
// router writes them), then the tenant (401 `no org id` with multitenancy and no X-Scope-OrgID;
// buildinfo needs none), then the endpoint's own checks.

import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type http2 from 'node:http2';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { IngestError } from '../../profiles/ingest/errors.js';
import type { MetadataStore } from '../distributor/metadata-store.js';
import type { TenantResolver } from '../distributor/tenant.js';
import { InvalidMatcherError } from '../head/matchers.js';
import { Engine, type QueryResult } from '../promql/engine.js';
import { QueryError } from '../promql/errors.js';
import { parseExpr } from '../promql/parser.js';
import { prettyExpr } from '../promql/format-expr.js';
import type { Labels, LabelMatcher, Querier, Storage } from '../storage.js';
import { goQuote } from '../promql/go-format.js';
import { ApiError, invalidParam } from './api-error.js';
import { type Form, MAX_FORM_BYTES, MAX_TIME_MS, MIN_TIME_MS, goAtoi, limitParam, parseDurationParam, parseMatchSets, readForm, requiredTimeParam, timeParam } from './params.js';
import { TRUNCATED_WARNING, type QueryLimits, checkRange, effectiveTimeoutMs, truncateResult } from './query-limits.js';
import { QueryApiMetrics } from './metrics.js';
import { labelsJson, queryDataJson, sendBody, sendError, sendSuccess } from './response.js';
import { compareLabels } from '../head/labels.js';

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export const API_PREFIX = '/prometheus/api/v1/';

/** The Prometheus version whose PromQL and API Kiln follows; Grafana reads features from it (≥ 2.24: match[] on label endpoints). */
export const PROMETHEUS_VERSION = '3.5.0';

const KILN_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface PrometheusApiOptions {
  storage: Storage;
  /** Metric metadata received with remote writes (/metadata). */
  metadata: MetadataStore;
  tenantOf: TenantResolver;
  limits: QueryLimits;
  logger?: Logger;
  /** Where kiln_tsdb_query_* metrics are registered (none: not exported). */
  registry?: Registry;
  /** Clock of the default `time` of instant queries (tests). */
  now?: () => number;
}

/** What an endpoint answers: the JSON of `data` and the annotations. */
interface Answer {
  data: string;
  warnings?: string[];
  infos?: string[];
}

interface Call {
  form: Form;
  tenant: string;
  querier: Querier;
  /** Aborted when the client goes away (the query is canceled). */
  signal: AbortSignal;
  /** The path segment of /label/<name>/values. */
  labelName?: string;
}

interface Route {
  post: boolean;
  /** false: no tenant needed (buildinfo). */
  tenant: boolean;
  run(call: Call): Promise<Answer> | Answer;
}

const stringListJson = (list: readonly string[]): string => JSON.stringify(list);

/** Prometheus' UnescapeName for the `U__` value-encoding escaping of label names in paths; anything malformed stays as given. */
export function unescapeLabelName(name: string): string {
  if (!name.startsWith('U__')) return name;
  const escaped = name.slice(3);
  if (escaped === '') return name;
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const ch = escaped[i]!;
    if (ch !== '_') {
      out += ch;
      continue;
    }
    if (escaped[i + 1] === '_') {
      out += '_';
      i++;
      continue;
    }
    let code = 0;
    let closed = false;
    for (let digits = 0; i + 1 < escaped.length; digits++) {
      if (digits >= 6) return name;
      i++;
      const c = escaped[i]!.toLowerCase();
      if (c === '_') {
        closed = true;
        break;
      }
      if (!/^[0-9a-f]$/.test(c)) return name;
      code = code * 16 + parseInt(c, 16);
    }
    if (!closed || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return name;
    out += String.fromCodePoint(code);
  }
  return out;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function createPrometheusApi(o: PrometheusApiOptions) {
  const engine = new Engine({
    lookbackDeltaMs: o.limits.lookbackDeltaMs,
    maxSamples: o.limits.maxSamples,
    timeoutMs: o.limits.timeoutMs,
    defaultSubqueryStepMs: o.limits.defaultEvaluationIntervalMs,
  });
  const now = o.now ?? Date.now;

  /** The per-query options common to query and query_range: timeout and lookback_delta. */
  const queryOptions = (call: Call) => {
    /** An optional duration parameter in ms; a bad one throws the error that `invalid` builds. */
    const optionalDuration = (name: string, invalid: (why: string) => ApiError): number | undefined => {
      const text = call.form.get(name);
      if (text === '') return undefined;
      try {
        return parseDurationParam(text);
      } catch (e) {
        throw invalid((e as Error).message);
      }
    };
    const requestedTimeout = optionalDuration('timeout', (why) => invalidParam('timeout', why));
    const lookbackDeltaMs = optionalDuration('lookback_delta', (why) => new ApiError('bad_data', `error parsing lookback delta duration: ${why}`));
    const timeoutMs = effectiveTimeoutMs(requestedTimeout, o.limits);
    // A deadline already passed: Prometheus' context is done before evaluation starts.
    if (!(timeoutMs > 0)) throw new ApiError('timeout', 'query timed out in query execution');
    return {
      timeoutMs: Math.max(1, Math.floor(timeoutMs)),
      // 0 or less: the engine's default, as Prometheus.
      ...(lookbackDeltaMs !== undefined && lookbackDeltaMs > 0 && { lookbackDeltaMs: Math.max(1, Math.round(lookbackDeltaMs)) }),
      signal: call.signal,
    };
  };

  /** An engine run: its errors become API errors; bad_data is a bad `query` parameter, as Prometheus reports parse and type errors. */
  const runQuery = async (run: () => Promise<QueryResult>, limit: number): Promise<Answer> => {
    let result: QueryResult;
    try {
      result = await run();
    } catch (e) {
      if (e instanceof QueryError) {
        if (e.errorType === 'bad_data' && !e.message.startsWith('invalid parameter')) throw invalidParam('query', e.message);
        throw new ApiError(e.errorType, e.message);
      }
      throw e;
    }
    const { value, truncated } = truncateResult(result.value, limit);
    const warnings = truncated ? [...result.warnings, TRUNCATED_WARNING] : result.warnings;
    return { data: queryDataJson(value), warnings, infos: result.infos };
  };

  /** Label names or values of several matcher sets: the union, sorted; then `limit`. */
  const limited = (list: string[], limit: number): Answer => {
    if (limit > 0 && list.length > limit) return { data: stringListJson(list.slice(0, limit)), warnings: [TRUNCATED_WARNING] };
    return { data: stringListJson(list) };
  };
  const union = async (sets: LabelMatcher[][], one: (m: LabelMatcher[]) => Promise<string[]>): Promise<string[]> => {
    if (sets.length <= 1) return one(sets[0] ?? []);
    const all = new Set<string>();
    for (const set of sets) for (const v of await one(set)) all.add(v);
    return [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  };
  const matchSetsOrBadData = (form: Form): LabelMatcher[][] => {
    try {
      return parseMatchSets(form.all('match[]'));
    } catch (e) {
      throw new ApiError('bad_data', (e as Error).message);
    }
  };

  const routes: Record<string, Route> = {
    query: {
      post: true,
      tenant: true,
      run: (call) => {
        const limit = limitParam(call.form);
        const timeMs = timeParam(call.form, 'time', now());
        const options = queryOptions(call);
        return runQuery(() => engine.instantQuery(call.querier, call.form.get('query'), timeMs, options), limit);
      },
    },
    query_range: {
      post: true,
      tenant: true,
      run: (call) => {
        const limit = limitParam(call.form);
        const startMs = requiredTimeParam(call.form, 'start');
        const endMs = requiredTimeParam(call.form, 'end');
        if (endMs < startMs) throw invalidParam('end', 'end timestamp must not be before start time');
        let stepMs: number;
        try {
          stepMs = parseDurationParam(call.form.get('step'));
        } catch (e) {
          throw invalidParam('step', (e as Error).message);
        }
        const engineStepMs = checkRange(startMs, endMs, stepMs);
        const options = queryOptions(call);
        return runQuery(() => engine.rangeQuery(call.querier, call.form.get('query'), startMs, endMs, engineStepMs, options), limit);
      },
    },
    query_exemplars: {
      post: true,
      tenant: true,
      run: (call) => {
        const startMs = timeParam(call.form, 'start', MIN_TIME_MS);
        const endMs = timeParam(call.form, 'end', MAX_TIME_MS);
        if (endMs < startMs) throw new ApiError('bad_data', 'end timestamp must not be before start timestamp');
        try {
          parseExpr(call.form.get('query'));
        } catch (e) {
          throw new ApiError('bad_data', (e as Error).message);
        }
        // Exemplars are received but not stored (docs/tsdb.md): there are never any to return.
        return { data: '[]' };
      },
    },
    format_query: {
      post: true,
      tenant: true,
      run: (call) => {
        let text: string;
        try {
          text = prettyExpr(parseExpr(call.form.get('query')));
        } catch (e) {
          throw invalidParam('query', (e as Error).message);
        }
        return { data: JSON.stringify(text) };
      },
    },
    series: {
      post: true,
      tenant: true,
      run: async (call) => {
        if (call.form.parseError !== undefined) throw new ApiError('bad_data', `error parsing form values: ${call.form.parseError}`);
        if (call.form.all('match[]').length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
        const limit = limitParam(call.form);
        const startMs = timeParam(call.form, 'start', MIN_TIME_MS);
        const endMs = timeParam(call.form, 'end', MAX_TIME_MS);
        let sets: LabelMatcher[][];
        try {
          sets = parseMatchSets(call.form.all('match[]'));
        } catch (e) {
          throw invalidParam('match[]', (e as Error).message);
        }
        let found: Labels[];
        if (sets.length === 1) {
          found = (await call.querier.select(sets[0]!, startMs, endMs)).map((s) => s.labels);
        } else {
          const byKey = new Map<string, Labels>();
          for (const set of sets) for (const s of await call.querier.select(set, startMs, endMs)) byKey.set(JSON.stringify(s.labels), s.labels);
          found = [...byKey.values()].sort(compareLabels);
        }
        const warnings: string[] = [];
        if (limit > 0 && found.length > limit) {
          found = found.slice(0, limit);
          warnings.push(TRUNCATED_WARNING);
        }
        return { data: `[${found.map(labelsJson).join(',')}]`, warnings };
      },
    },
    labels: {
      post: true,
      tenant: true,
      run: async (call) => {
        const limit = limitParam(call.form);
        const startMs = timeParam(call.form, 'start', MIN_TIME_MS);
        const endMs = timeParam(call.form, 'end', MAX_TIME_MS);
        const sets = matchSetsOrBadData(call.form);
        return limited(await union(sets, (m) => call.querier.labelNames(m, startMs, endMs)), limit);
      },
    },
    'label/:name/values': {
      post: false,
      tenant: true,
      run: async (call) => {
        const name = unescapeLabelName(call.labelName!);
        if (name === '' || LONE_SURROGATE.test(name) || name.includes('\ufffd')) throw new ApiError('bad_data', `invalid label name: ${goQuote(name)}`);
        const limit = limitParam(call.form);
        const startMs = timeParam(call.form, 'start', MIN_TIME_MS);
        const endMs = timeParam(call.form, 'end', MAX_TIME_MS);
        const sets = matchSetsOrBadData(call.form);
        return limited(await union(sets, (m) => call.querier.labelValues(name, m, startMs, endMs)), limit);
      },
    },
    metadata: {
      post: false,
      tenant: true,
      run: (call) => {
        const number = (param: string): number => {
          const s = call.form.get(param);
          if (s === '') return -1;
          try {
            return goAtoi(s);
          } catch {
            throw new ApiError('bad_data', `${param} must be a number`);
          }
        };
        const limit = number('limit');
        number('limit_per_metric'); // one entry per metric family here: any limit ≥ 1 keeps it
        const metric = call.form.get('metric');
        const entries: string[] = [];
        for (const [name, md] of o.metadata.get(call.tenant, metric === '' ? undefined : metric)) {
          if (limit >= 0 && entries.length >= limit) break;
          entries.push(`${JSON.stringify(name)}:[${JSON.stringify({ type: md.type, help: md.help, unit: md.unit })}]`);
        }
        return { data: `{${entries.join(',')}}` };
      },
    },
    'status/buildinfo': {
      post: false,
      tenant: false,
      run: () => ({
        data: JSON.stringify({
          application: 'Kiln',
          version: PROMETHEUS_VERSION,
          revision: `kiln-${KILN_VERSION}`,
          branch: 'HEAD',
          buildUser: 'kiln',
          buildDate: '',
          goVersion: `node ${process.version}`,
          // A features map, as Mimir returns one: Grafana then asks features rather than versions.
          // Kiln serves no ruler or Alertmanager configuration API, so Grafana must not call them.
          features: { ruler_config_api: 'false', alertmanager_config_api: 'false', query_sharding: 'false', federated_rules: 'false' },
        }),
      }),
    },
    rules: {
      post: false,
      tenant: true,
      run: (call) => {
        if (call.form.parseError !== undefined) throw new ApiError('bad_data', `error parsing form values: ${call.form.parseError}`);
        if (call.form.all('match[]').length > 0) matchSetsOrBadData(call.form);
        const type = call.form.get('type').toLowerCase();
        if (type !== '' && type !== 'alert' && type !== 'record') throw invalidParam('type', `not supported value ${goQuote(type)}`);
        const exclude = call.form.get('exclude_alerts').toLowerCase();
        if (exclude !== '' && !['1', 't', 'true', '0', 'f', 'false'].includes(exclude)) {
          throw invalidParam('exclude_alerts', `error converting exclude_alerts: strconv.ParseBool: parsing ${goQuote(exclude)}: invalid syntax`);
        }
        return { data: '{"groups":[]}' };
      },
    },
    alerts: { post: false, tenant: true, run: () => ({ data: '{"alerts":[]}' }) },
  };

  const routeOf = (path: string): { route: Route; name: string; labelName?: string } | undefined => {
    const rest = path.slice(API_PREFIX.length);
    const direct = Object.hasOwn(routes, rest) && !rest.includes(':') ? routes[rest] : undefined;
    if (direct) return { route: direct, name: rest };
    const m = /^label\/([^/]+)\/values$/.exec(rest);
    if (!m) return undefined;
    let labelName: string;
    try {
      labelName = decodeURIComponent(m[1]!);
    } catch {
      labelName = m[1]!;
    }
    return { route: routes['label/:name/values']!, name: 'label_values', labelName };
  };

  const metrics = new QueryApiMetrics(o.registry);
  return async (req: Req, res: Res, url: URL): Promise<void> => {
    const found = routeOf(url.pathname);
    const endpoint = found?.name ?? 'other';
    const stopTimer = metrics.duration.startTimer({ endpoint });
    res.once('finish', () => {
      stopTimer();
      metrics.requests.inc({ endpoint, status_code: String(res.statusCode) });
    });
    const method = req.method ?? 'GET';
    if (!found) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    const allowed = found.route.post ? 'GET, OPTIONS, POST' : 'GET, OPTIONS';
    if (method === 'OPTIONS') {
      res.writeHead(204, { allow: allowed }).end();
      return;
    }
    if (method !== 'GET' && !(found.route.post && method === 'POST')) {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: allowed }).end('Method Not Allowed\n');
      return;
    }
    let tenant = '';
    if (found.route.tenant) {
      try {
        tenant = o.tenantOf(req);
      } catch (e) {
        const status = e instanceof IngestError ? e.status : 400;
        await sendBody(req, res, status, 'text/plain; charset=utf-8', `${(e as Error).message}\n`);
        return;
      }
    }
    const aborter = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) aborter.abort();
    };
    res.once('close', onClose);
    try {
      const form = await readForm(req, url, MAX_FORM_BYTES);
      const call: Call = { form, tenant, querier: o.storage.querier(tenant), signal: aborter.signal, ...(found.labelName !== undefined && { labelName: found.labelName }) };
      const answer = await found.route.run(call);
      await sendSuccess(req, res, answer.data, answer.warnings, answer.infos);
    } catch (e) {
      if (e instanceof ApiError) {
        await sendError(req, res, e.errorType, e.message);
      } else if (e instanceof QueryError) {
        await sendError(req, res, e.errorType, e.message);
      } else if (e instanceof InvalidMatcherError) {
        await sendError(req, res, 'bad_data', e.message);
      } else {
        o.logger?.error({ err: (e as Error).message, path: url.pathname }, 'Prometheus API request failed');
        await sendError(req, res, 'internal', (e as Error).message);
      }
    } finally {
      res.removeListener('close', onClose);
    }
  };
}
