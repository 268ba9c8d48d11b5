// Go's fmt verbs as Prometheus' annotation and error texts use them: %g (shortest digits, exponent
// below 1e-4 or from 1e6 on, at least two exponent digits), %q (double-quoted string), %f.

/** fmt.Sprintf("%g", v). */
export function formatGoG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa, expText] = v.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const digits = String(Math.abs(exp));
    return `${mantissa}e${exp < 0 ? '-' : '+'}${digits.length < 2 ? '0' + digits : digits}`;
  }
  // Within the plain range JavaScript's shortest form is the same as Go's.
  return String(v);
}

/** fmt.Sprintf("%q", s) for the strings annotations quote (metric names, label values). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** fmt.Sprintf("%f", v): six decimals. */
export function formatGoF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toFixed(6);
}
