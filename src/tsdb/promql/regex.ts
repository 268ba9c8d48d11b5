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
  if (/\\[1-9]|\\k<|\(\?<?[=!]/.test(source)) {
    throw new InvalidRegexError('invalid or unsupported Perl syntax (backreferences and lookaround are not supported)');
  }
  return { body: translateBody(source), flags: 's' };
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
        out += src.slice(i, end < 0 ? src.length : end + 1);
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
      } else if (ci && /[a-zA-Z]/.test(next) && !/[dDwWsSbBpPxuUntrfv0-9]/.test(next)) {
        out += `[${bothCases(next)}]`;
        i++;
      } else {
        out += c + next;
        i++;
      }
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
          body += d + (src[j + 1] ?? '');
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
