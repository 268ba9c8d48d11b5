// `from` / `until` of the legacy /ingest API, in Pyroscope's "attime" forms.
//
// Accepted (after trimming):
//   - missing or empty → now
//   - digits only, by digit COUNT as Pyroscope's attime does (not by magnitude):
//       8 digits that form a valid YYYYMMDD date with year > 1900 → that day, 00:00 UTC
//       13 digits → unix milliseconds, 16 → microseconds, 19 → nanoseconds,
//       any other count → unix seconds
//   - `now`, and `now` or nothing followed by +/- and one or more <number><unit>
//     (`now-1h`, `now-1h30m`, `-10s`); units: s/sec/second(s), m/min/minute(s),
//     h/hour(s), d/day(s), w/week(s), M/mon/month(s) (30 days), y/year(s) (365 days)
//   - RFC 3339 (`2024-01-02T03:04:05.123Z`, `...+02:00`), which Pyroscope lacks.
// Pyroscope maps anything else to "now"; Kiln answers 400 so a client bug is visible.
// As in Pyroscope, `_`, `,` and spaces are ignored in the numeric and relative forms.

import { IngestError, quoteInput } from './errors.js';

const UNIT_SECONDS: Record<string, number> = {};
for (const [names, secs] of [
  [['s', 'sec', 'secs', 'second', 'seconds'], 1],
  [['m', 'min', 'mins', 'minute', 'minutes'], 60],
  [['h', 'hour', 'hours'], 3600],
  [['d', 'day', 'days'], 86400],
  [['w', 'week', 'weeks'], 7 * 86400],
  [['M', 'mon', 'month', 'months'], 30 * 86400],
  [['y', 'year', 'years'], 365 * 86400],
] as const) {
  for (const n of names) UNIT_SECONDS[n] = secs;
}

const RELATIVE_RE = /^(?:now)?(?:([+-])((?:\d{1,12}[a-zA-Z]+)+))?$/;
const TERM_RE = /(\d{1,12})([a-zA-Z]+)/g;
const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function checked(ms: number, value: string, param: string): Date {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) {
    throw new IngestError(400, `invalid ${param} parameter ${quoteInput(value)}: time out of range`, 'invalid_request');
  }
  return d;
}

/**
 * Parse a `from`/`until` value. `param` only names the parameter in the error message.
 * Throws IngestError 400 for anything that is not one of the forms above.
 */
export function parseAttime(value: string | null, now: Date, param = 'from/until'): Date {
  const raw = (value ?? '').trim();
  if (raw === '') return new Date(now.getTime());
  const bad: (why: string) => never = (why) => {
    throw new IngestError(400, `invalid ${param} parameter ${quoteInput(raw)}: ${why}`, 'invalid_request');
  };

  const rfc = RFC3339_RE.exec(raw);
  if (rfc) {
    const [year, month, day, hour, min, sec] = rfc.slice(1, 7).map(Number) as [number, number, number, number, number, number];
    const offH = rfc[7] === undefined ? 0 : Number(rfc[7]);
    const offM = rfc[8] === undefined ? 0 : Number(rfc[8]);
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || min > 59 || sec > 59 || offH > 23 || offM > 59) {
      bad('not a valid RFC 3339 time');
    }
    // Date.parse wants 'T' and 'Z'; only millisecond precision is kept anyway.
    return checked(Date.parse(raw.toUpperCase().replace(' ', 'T').replace(/(\.\d{3})\d+/, '$1')), raw, param);
  }

  const s = raw.replace(/[_, ]/g, '');
  if (/^\d+$/.test(s)) {
    if (s.length === 8) {
      const year = Number(s.slice(0, 4));
      const month = Number(s.slice(4, 6));
      const day = Number(s.slice(6, 8));
      if (year > 1900 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)) {
        return checked(Date.UTC(year, month - 1, day), raw, param);
      }
    }
    if (s.length > 19) bad('too many digits for a unix time');
    const n = BigInt(s);
    switch (s.length) {
      case 13:
        return checked(Number(n), raw, param);
      case 16:
        return checked(Number(n / 1000n), raw, param);
      case 19:
        return checked(Number(n / 1_000_000n), raw, param);
      default:
        return checked(Number(n) * 1000, raw, param);
    }
  }

  const rel = RELATIVE_RE.exec(s);
  if (!rel) bad('expected unix seconds/milliseconds, now[-+]<n><unit> or RFC 3339');
  let offsetSeconds = 0;
  if (rel[2] !== undefined) {
    for (const m of rel[2].matchAll(TERM_RE)) {
      const unit = UNIT_SECONDS[m[2]!];
      if (unit === undefined) bad(`unknown time unit ${quoteInput(m[2]!)}`);
      offsetSeconds += Number(m[1]) * unit;
    }
    if (rel[1] === '-') offsetSeconds = -offsetSeconds;
  } else if (s !== 'now') {
    // RELATIVE_RE also matches the empty string; `s` is non-empty only if it was all separators.
    bad('expected unix seconds/milliseconds, now[-+]<n><unit> or RFC 3339');
  }
  return checked(now.getTime() + offsetSeconds * 1000, raw, param);
}
