// Go's float formatting as Prometheus writes sample values: strconv.AppendFloat(v, fmt, -1, 64) with
// fmt 'e' when |v| < 1e-6 or |v| >= 1e21 and 'f' otherwise. JavaScript's Number#toString switches to
// exponent notation at exactly the same bounds and also prints the shortest round-trip digits, so
// only the exponent padding (Go prints at least two digits), infinities and -0 differ.

export function formatGoFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const sign = s[e + 1]!; // '+' or '-'
  const digits = s.slice(e + 2);
  return `${s.slice(0, e)}e${sign}${digits.length < 2 ? '0' + digits : digits}`;
}

/** strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent (count_values labels). */
export function formatGoFloatPlain(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const s = String(v);
  if (!s.includes('e')) return s;
  const [mantissa, expText] = s.split('e') as [string, string];
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const [int, frac = ''] = (negative ? mantissa.slice(1) : mantissa).split('.') as [string, string?];
  const digits = int + frac;
  const point = int.length + exp;
  const body = point <= 0 ? '0.' + '0'.repeat(-point) + digits : point >= digits.length ? digits + '0'.repeat(point - digits.length) : digits.slice(0, point) + '.' + digits.slice(point);
  return (negative ? '-' : '') + body;
}
