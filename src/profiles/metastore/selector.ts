// Label selectors for QueryMetadata: `{service_name="api", __profile_type__=~"process_cpu.*"}`.
// Prometheus semantics: =, !=, =~, !~; regexes are anchored; a missing label has value "".

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** For =~ and !~: the anchored regex. */
  re?: RegExp;
}

export class SelectorSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorSyntaxError';
  }
}

const NAME_RE = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const MAX_SELECTOR_LENGTH = 16 * 1024;

/** Parses `{...}`; "" and "{}" mean "every dataset". Throws SelectorSyntaxError. */
export function parseSelector(text: string): Matcher[] {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorSyntaxError(`selector is longer than ${MAX_SELECTOR_LENGTH} characters`);
  const s = text.trim();
  if (s === '') return [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new SelectorSyntaxError(`invalid selector ${JSON.stringify(text)}: ${msg} at position ${i}`);
  };
  const skipSpace = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  if (s[i] !== '{') fail('expected "{"');
  i++;
  const matchers: Matcher[] = [];
  skipSpace();
  while (s[i] !== '}') {
    NAME_RE.lastIndex = i;
    const m = NAME_RE.exec(s);
    if (m === null) fail('expected a label name');
    const name = m![0];
    i += name.length;
    skipSpace();
    const op = (['=~', '!~', '!=', '='] as const).find((o) => s.startsWith(o, i));
    if (op === undefined) fail('expected one of =, !=, =~, !~');
    i += op!.length;
    skipSpace();
    const value = readString();
    let re: RegExp | undefined;
    if (op === '=~' || op === '!~') {
      try {
        re = new RegExp(`^(?:${value})$`, 's');
      } catch (err) {
        fail(`bad regex ${JSON.stringify(value)}: ${(err as Error).message}`);
      }
    }
    matchers.push({ name, op: op!, value, ...(re ? { re } : {}) });
    skipSpace();
    if (s[i] === ',') {
      i++;
      skipSpace();
    } else if (s[i] !== '}') fail('expected "," or "}"');
  }
  i++;
  if (i !== s.length) fail('unexpected text after "}"');
  return matchers;

  function readString(): string {
    const quote = s[i];
    if (quote !== '"' && quote !== "'" && quote !== '`') fail('expected a quoted value');
    i++;
    let out = '';
    while (i < s.length && s[i] !== quote) {
      if (s[i] === '\\' && quote !== '`') {
        const c = s[i + 1];
        const esc: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
        if (c === undefined || esc[c] === undefined) fail('unsupported escape');
        out += esc[c!]!;
        i += 2;
      } else out += s[i++];
    }
    if (i >= s.length) fail('unterminated string');
    i++;
    return out;
  }
}

/** Does a label set (name → value) satisfy every matcher? */
export function matchesAll(matchers: readonly Matcher[], get: (name: string) => string): boolean {
  for (const m of matchers) {
    const v = get(m.name);
    switch (m.op) {
      case '=':
        if (v !== m.value) return false;
        break;
      case '!=':
        if (v === m.value) return false;
        break;
      case '=~':
        if (!m.re!.test(v)) return false;
        break;
      case '!~':
        if (m.re!.test(v)) return false;
        break;
    }
  }
  return true;
}
