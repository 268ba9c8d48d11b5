// Our remote write 1.0 sender (spec/tsdb.md §1, spec/ecosystem.md §5): one POST per call,
// with the headers a 1.0 sender must send, the tenant in X-Scope-OrgID, optional basic or
// bearer auth and a timeout. It never retries by itself: it classifies the answer (done,
// retry, drop) and the exporter decides when to try again, because a retry must keep the
// head of its (tenant, shard) line in front of everything after it.
import { readFileSync } from 'node:fs';
import { encodeWriteRequest, encodedSeriesSize, type RemoteWriteSeries } from './remote-write-encoding.js';
import { snappyCompress } from './snappy.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
export const USER_AGENT = `kiln-metrics-exporter/${VERSION}`;

/** Error bodies are kept (for logs) up to this many bytes; Prometheus logs about as much. */
const MAX_ERROR_BODY = 1024;

export interface RemoteWriteAuth {
  basicAuth?: { username: string; password: string };
  bearerToken?: string;
}

export interface RemoteWriteClientOptions extends RemoteWriteAuth {
  /** Per request, from sending the headers to the end of the response. */
  timeoutMs: number;
}

export type RetryReason = 'network' | 'timeout' | '5xx' | '429';

export type SendOutcome =
  /** 2xx: written. */
  | { kind: 'ok'; status: number }
  /** Network error, timeout, 5xx or 429: send the same request again later. */
  | { kind: 'retry'; reason: RetryReason; status?: number; retryAfterMs?: number; message: string }
  /** Any other status (4xx but 429, or an unexpected 1xx/3xx): the receiver will never take it. */
  | { kind: 'drop'; status: number; message: string };

export class RemoteWriteClient {
  private readonly headers: Record<string, string>;

  constructor(private readonly options: RemoteWriteClientOptions) {
    this.headers = {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': USER_AGENT,
    };
    if (options.basicAuth !== undefined) {
      const { username, password } = options.basicAuth;
      this.headers['Authorization'] = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    } else if (options.bearerToken) {
      this.headers['Authorization'] = `Bearer ${options.bearerToken}`;
    }
  }

  /** Encodes `series` as one WriteRequest and posts it. */
  send(url: string, tenant: string, series: readonly RemoteWriteSeries[]): Promise<SendOutcome> {
    return this.post(url, tenant, snappyCompress(encodeWriteRequest(series)));
  }

  /** Posts an already snappy-compressed WriteRequest. Never throws. */
  async post(url: string, tenant: string, body: Uint8Array): Promise<SendOutcome> {
    const headers = { ...this.headers };
    if (tenant !== '') headers['X-Scope-OrgID'] = tenant;
    let res: Response;
    // One signal for the whole exchange: the body read below is covered too.
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    try {
      res = await fetch(url, { method: 'POST', headers, body, signal });
    } catch (err) {
      return networkFailure(err, this.options.timeoutMs);
    }
    let text: string;
    try {
      // Always read the body: an unread body keeps the connection from being reused.
      text = await res.text();
    } catch (err) {
      if (res.ok) return { kind: 'ok', status: res.status };
      return networkFailure(err, this.options.timeoutMs);
    }
    if (res.ok) return { kind: 'ok', status: res.status };
    const message = firstBytes(text);
    if (res.status === 429 || res.status >= 500) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), Date.now());
      return { kind: 'retry', reason: res.status === 429 ? '429' : '5xx', status: res.status, message, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    return { kind: 'drop', status: res.status, message };
  }
}

function networkFailure(err: unknown, timeoutMs: number): SendOutcome {
  const e = err as Error;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return { kind: 'retry', reason: 'timeout', message: `no answer within ${timeoutMs} ms` };
  const cause = (e?.cause as Error | undefined)?.message;
  return { kind: 'retry', reason: 'network', message: cause ? `${e.message}: ${cause}` : String(e?.message ?? err) };
}

function firstBytes(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= MAX_ERROR_BODY ? text.trim() : `${buf.subarray(0, MAX_ERROR_BODY).toString('utf8')}…`;
}

/**
 * Retry-After as milliseconds from `now`: either delay-seconds ("120") or an HTTP date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"). Undefined when absent or unreadable; a date in the past
 * gives 0.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // Date.parse reads "-5" as a year: anything number-like that is not delay-seconds is garbage.
  if (/^[-+]?[\d.]+$/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Splits series into consecutive requests of at most `maxSeries` series and `maxBytes` bytes of
 * encoded WriteRequest (a single larger series still goes, alone). Order is kept, so sending
 * the parts one after another keeps every series' samples in order.
 */
export function splitIntoRequests<T extends RemoteWriteSeries>(series: readonly T[], maxSeries: number, maxBytes: number): T[][] {
  const parts: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const s of series) {
    const size = encodedSeriesSize(s);
    if (current.length > 0 && (current.length >= maxSeries || bytes + size > maxBytes)) {
      parts.push(current);
      current = [];
      bytes = 0;
    }
    current.push(s);
    bytes += size;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}
