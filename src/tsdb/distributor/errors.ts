// Mimir's error messages (spec/tsdb.md §2.4–2.7) with Kiln's ids and flags: the wording is
// Mimir's so runbooks and searches still work; `err-mimir-<id>` becomes `err-kiln-<id>` and the
// limit flags are ours (-tsdb.*).

import type { Labels } from '../storage.js';

/** `<message> (err-kiln-<id>)`. */
export function withId(message: string, id: string): string {
  return `${message} (err-kiln-${id})`;
}

/** For a per-tenant limit: also names the flag that changes it. */
export function withLimit(message: string, id: string, flag: string): string {
  return `${withId(message, id)}. To adjust the related per-tenant limit, configure -${flag}, or contact your service administrator.`;
}

/** The metric label of `kiln_tsdb_discarded_samples_total` for an error id ("label-invalid" → "label_invalid"). */
export function reasonOf(id: string): string {
  return id.replaceAll('-', '_');
}

/** Go's `%.Ns` for strings: at most N code points. */
export function truncate(s: string, n = 200): string {
  if (s.length <= n) return s;
  return Array.from(s).slice(0, n).join('');
}

/** A label set as Prometheus prints it: `{__name__="up", job="node"}`. */
export function formatLabels(labels: Labels): string {
  let out = '{';
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) out += ', ';
    out += `${labels[i]![0]}=${JSON.stringify(labels[i]![1])}`;
  }
  return `${out}}`;
}

/** Go's RFC 3339 with nanoseconds (trailing zeros dropped), as Mimir prints sample timestamps. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return String(ms);
  return d.toISOString().replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
}

/** A failed push (or part of one), with the HTTP status and the discard reason it maps to. */
export class PushError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Label of the discard metrics. */
    readonly reason: string,
    /** Seconds, for 429. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'PushError';
  }
}
