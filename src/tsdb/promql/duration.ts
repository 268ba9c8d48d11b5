// Prometheus durations (prometheus/common model.Duration): `1h30m`, `5m`, `100ms`, `2w`, `1y`.
// Units from largest to smallest, each at most once: y (365d) w d h m s ms. A bare `0` is
// allowed. Values are milliseconds here; Prometheus keeps nanoseconds and refuses anything that
// does not fit an int64 of them (about 292 years), so we refuse the same.

const UNITS: ReadonlyArray<readonly [unit: string, ms: number]> = [
  ['y', 365 * 24 * 3_600_000],
  ['w', 7 * 24 * 3_600_000],
  ['d', 24 * 3_600_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Largest duration Prometheus can represent: (2^63 − 1) ns, in ms. */
export const MAX_DURATION_MS = 9_223_372_036_854;

/** Parses a Prometheus duration into milliseconds. Throws an Error for bad syntax or overflow. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new Error('empty duration string');
  const invalid = (): Error => new Error(`not a valid duration string: ${JSON.stringify(s)}`);
  let total = 0;
  let lastUnit = -1;
  let i = 0;
  while (i < s.length) {
    const digitsFrom = i;
    while (i < s.length && s[i]! >= '0' && s[i]! <= '9') i++;
    if (i === digitsFrom) throw invalid();
    const digits = s.slice(digitsFrom, i);
    const unitFrom = i;
    while (i < s.length && !(s[i]! >= '0' && s[i]! <= '9')) i++;
    if (i === unitFrom) throw invalid();
    const unit = s.slice(unitFrom, i);
    const index = UNITS.findIndex(([u]) => u === unit);
    if (index < 0) throw new Error(`unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`);
    if (index <= lastUnit) throw invalid();
    lastUnit = index;
    // Go parses the digits as a uint64 first; longer numbers are syntax errors there.
    if (digits.length > 20 || BigInt(digits) > 18_446_744_073_709_551_615n) throw invalid();
    const value = Number(digits) * UNITS[index]![1];
    total += value;
    if (value > MAX_DURATION_MS || total > MAX_DURATION_MS) throw new Error('duration out of range');
  }
  return total;
}

/** model.Duration's String(): `1h30m`, `5m`, `100ms`, `0s`; years and weeks only when exact. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new Error(`cannot format duration ${ms}`);
  let rest = Math.trunc(ms);
  if (rest === 0) return '0s';
  if (rest < 0) return '-' + formatDuration(-rest);
  let out = '';
  for (const [unit, mult] of UNITS) {
    // 90d reads better than 12w6d: years and weeks only when nothing is left over.
    if ((unit === 'y' || unit === 'w') && rest % mult !== 0) continue;
    const v = Math.floor(rest / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      rest -= v * mult;
    }
  }
  return out;
}
