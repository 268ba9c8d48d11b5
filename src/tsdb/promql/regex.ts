// PromQL regexes (RE2 syntax) as JavaScript RegExps with Prometheus' semantics: fully anchored
// (`^(?:re)$`), `.` matching newlines (flag `s`) and any code point, not half of a surrogate pair
// (flag `u`, which also gives `\p{L}`). Unicode mode is stricter than RE2 about escaped
// punctuation and literal `{ } ]`, so those are rewritten. The RE2 spellings that occur in practice and
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
  if (/\\[1-9]|\\k<|\(\?<?[=!]/.test(source)) {
    throw new InvalidRegexError('invalid or unsupported Perl syntax (backreferences and lookaround are not supported)');
  }
  return { body: translateBody(source), flags: 'su' };
}

/**
 * An RE2 escape `\<next>` in JavaScript's unicode mode, which (unlike RE2) refuses escaped
 * punctuation other than its own syntax characters: `\:` becomes `\x3a`.
 */
function escapeForUnicodeMode(next: string): string {
  if (/^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(next) && !'^$\\.*+?()[]{}|/'.includes(next)) {
    return `\\x${next.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
  return '\\' + next;
}

/** An RE2 `\p{…}` name as JavaScript spells it: categories (`L`, `Lu`) as they are, scripts as `Script=Greek`. */
function unicodeProperty(name: string): string {
  return /^[A-Z][a-z]?$/.test(name) || name === 'Any' ? name : `Script=${name}`;
}

/** Both cases of a letter as a class body (`aA`), or the character itself. */
function bothCases(c: string): string {
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  return lower !== upper && lower.length === 1 && upper.length === 1 ? lower + upper : c;
}

/**
 * RE2 → JavaScript syntax. Case-insensitive parts (`(?i)...`, `(?i:...)`; Node 20 has no inline
 * modifiers) become explicit classes: `(?i)ab` → `[aA][bB]`.
 */
function translateBody(src: string): string {
  let out = '';
  let ci = false;
  const saved: boolean[] = [];
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      // An escape: copied whole (\pL, \p{Greek}, \x{41} need no change in meaning here).
      const next = src[i + 1] ?? '';
      if ((next === 'p' || next === 'P') && src[i + 2] === '{') {
        const end = src.indexOf('}', i);
        out += `\\${next}{${unicodeProperty(src.slice(i + 3, end < 0 ? src.length : end))}}`;
        i = end < 0 ? src.length : end;
      } else if ((next === 'p' || next === 'P') && src[i + 2] !== undefined) {
        out += `\\${next}{${src[i + 2]}}`;
        i += 2;
      } else if (next === 'z') {
        out += '$';
        i++;
      } else if (next === 'A') {
        out += '^';
        i++;
      } else if (next === 'x' && src[i + 2] === '{') {
        const end = src.indexOf('}', i);
        out += `\\u{${src.slice(i + 3, end < 0 ? src.length : end)}}`;
        i = end < 0 ? src.length : end;
      } else if (ci && /[a-zA-Z]/.test(next) && !/[dDwWsSbBpPxuUntrfv0-9]/.test(next)) {
        out += `[${bothCases(next)}]`;
        i++;
      } else {
        out += escapeForUnicodeMode(next);
        i++;
      }
      continue;
    }
    if (c === '{') {
      // RE2 reads a `{` that starts no repetition as a literal; JavaScript's unicode mode refuses it.
      const repeat = /^\{\d+(?:,\d*)?\}/.exec(src.slice(i));
      if (repeat) {
        out += repeat[0];
        i += repeat[0].length - 1;
      } else out += '\\{';
      continue;
    }
    if (c === '}' || c === ']') {
      out += '\\' + c; // literals in RE2 outside a repetition or class
      continue;
    }
    if (c === '[') {
      // A character class, copied up to its closing bracket; letters get both cases under (?i).
      let j = i + 1;
      let body = '';
      if (src[j] === '^') body += src[j++];
      if (src[j] === ']') body += '\\' + src[j++];
      for (; j < src.length && src[j] !== ']'; j++) {
        const d = src[j]!;
        if (d === '\\') {
          body += src[j + 1] === '-' ? '\\-' : escapeForUnicodeMode(src[j + 1] ?? '');
          j++;
        } else if (src.startsWith('[:', j)) {
          const end = src.indexOf(':]', j);
          if (end < 0) throw new InvalidRegexError('missing closing ]');
          const name = src.slice(j + 2, end);
          const cls = name.startsWith('^') ? undefined : POSIX_CLASSES[name];
          if (!cls) throw new InvalidRegexError(`invalid character class range: [:${name}:]`);
          body += cls;
          j = end + 1;
        } else if (ci && src[j + 1] === '-' && src[j + 2] !== undefined && src[j + 2] !== ']') {
          const to = src[j + 2]!;
          body += `${d}-${to}`;
          if (bothCases(d) !== d && bothCases(to) !== to) body += `${bothCases(d).replace(d, '')}-${bothCases(to).replace(to, '')}`;
          j += 2;
        } else {
          body += ci ? bothCases(d) : d;
        }
      }
      if (j >= src.length) throw new InvalidRegexError('missing closing ]');
      out += `[${body}]`;
      i = j;
      continue;
    }
    if (c === '(') {
      const flags = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(src.slice(i));
      if (flags && (flags[1] || flags[2] !== undefined)) {
        const on = flags[1] ?? '';
        const off = flags[2] ?? '';
        if (/[mU]/.test(on + off)) throw new InvalidRegexError(`unsupported flags in ${flags[0]}`);
        const newCi: boolean = on.includes('i') ? true : off.includes('i') ? false : ci;
        if (flags[3] === ')') {
          ci = newCi; // (?i): to the end of the enclosing group
        } else {
          saved.push(ci);
          ci = newCi;
          out += '(?:';
        }
        i += flags[0].length - 1;
        continue;
      }
      saved.push(ci);
      if (src.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
      } else out += c;
      continue;
    }
    if (c === ')') {
      ci = saved.pop() ?? ci;
      out += c;
      continue;
    }
    out += ci ? (bothCases(c) === c ? c : `[${bothCases(c)}]`) : c;
  }
  return out;
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
