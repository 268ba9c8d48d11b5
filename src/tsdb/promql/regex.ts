// PromQL regexes (RE2 syntax) as JavaScript RegExps with Prometheus' semantics: fully anchored
// (`^(?:re)$`) and `.` matching newlines (flag `s`). The RE2 spellings that occur in practice and
// that JavaScript lacks are translated: leading flag groups `(?i)` / `(?s)` / `(?is)`, named
// groups `(?P<name>...)` and POSIX classes such as `[[:alpha:]]`. Constructs RE2 does not have
// (backreferences, lookaround) are refused, as Prometheus refuses them.

export class InvalidRegexError extends Error {
  override name = 'InvalidRegexError';
}

const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** The JavaScript source and flags for a PromQL regex (not yet anchored). Throws InvalidRegexError. */
export function translateRegex(source: string): { body: string; flags: string } {
  let body = source;
  let flags = 's';
  const leading = /^\(\?([is]+)\)/.exec(body);
  if (leading) {
    if (leading[1]!.includes('i')) flags += 'i';
    body = body.slice(leading[0].length);
  }
  if (/\\[1-9]|\\k<|\(\?<?[=!]/.test(body)) {
    throw new InvalidRegexError('invalid or unsupported Perl syntax (backreferences and lookaround are not supported)');
  }
  body = body.replaceAll('(?P<', '(?<').replace(/\[:(\^?)([a-z]+):\]/g, (all, negated: string, name: string) => {
    const cls = POSIX_CLASSES[name];
    if (!cls) throw new InvalidRegexError(`invalid character class range: ${all}`);
    if (negated) throw new InvalidRegexError(`negated POSIX class ${all} is not supported`);
    return cls;
  });
  return { body, flags };
}

/** Compiles a PromQL regex to an anchored RegExp. Throws InvalidRegexError if it is not valid. */
export function compilePromRegex(source: string): RegExp {
  const { body, flags } = translateRegex(source);
  try {
    return new RegExp(`^(?:${body})$`, flags);
  } catch (err) {
    throw new InvalidRegexError((err as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, ''));
  }
}
