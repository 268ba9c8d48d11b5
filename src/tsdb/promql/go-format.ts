// Go's number and string formatting, as Prometheus prints values, labels and messages:
// - formatGoFloat: sample values in API responses (strconv 'f'/'e' switch at 1e-6 and 1e21);
// - formatGoFloatPlain: strconv.FormatFloat(v, 'f', -1, 64) (count_values labels, formatExpr);
// - formatGoG / formatGoF: fmt's %g and %f in annotations and errors;
// - goQuote: strconv.Quote / %q for strings in error messages.
//
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

/** fmt.Sprintf("%f", v): six decimals. */
export function formatGoF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toFixed(6);
}

/** Go's unicode.IsPrint, approximately: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isGoPrintable(c: string): boolean {
  return c === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c);
}

/** Go's strconv.Quote (`%q`): the form Prometheus prints strings and label values in. */
export function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    switch (c) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (isGoPrintable(c)) {
      out += c;
      continue;
    }
    const cp = c.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) out += `\\x${(cp - 0xdc00).toString(16)}`; // an escaped invalid byte (unquoteString)
    else if (cp >= 0xd800 && cp < 0xe000) out += '\\ufffd'; // another lone surrogate: Go would see invalid UTF-8
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}
