// label_replace and label_join: rewrite one label of every series, once per series (labels do not
// change across steps). Errors are Prometheus' (422 execution).

import { QueryError } from '../errors.js';
import { compilePromRegex } from '../regex.js';
import type { StepSeries, StepVector } from '../values.js';
import type { CustomFunction, EvaluatedArg } from './types.js';
import { getLabel, labelsKey, setLabel } from '../label-set.js';
import { isValidLabelName } from './label-name.js';

/**
 * label_replace's regex: RE2 syntax fully anchored with `.` matching newlines, as Prometheus'
 * `^(?s:re)$` (translated by regex.ts, like selector matchers). Undefined when it does not compile.
 */
export function compileAnchoredRegex(pattern: string): RegExp | undefined {
  try {
    return compilePromRegex(pattern);
  } catch {
    return undefined;
  }
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

/**
 * Go's Regexp.Expand template: `$1`, `${1}`, `$name`, `${name}`, `$$`. A bare reference takes the
 * longest run of letters, digits and underscores (`$1x` is group "1x"); an unknown or unmatched
 * group expands to nothing; a `$` not followed by a valid reference stays literal.
 */
export function expandTemplate(template: string, match: RegExpExecArray): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length) {
      const cp = template.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    const name = template.slice(nameStart, j);
    if (name === '' || (brace && template[j] !== '}')) {
      out += '$';
      continue;
    }
    if (brace) j++;
    i = j;
    out += groupValue(match, name);
  }
  return out;
}

function groupValue(match: RegExpExecArray, name: string): string {
  if (/^[0-9]+$/.test(name)) {
    // Leading zeros (other than "0" itself) make it a name, not a number, in Go.
    if (name.length > 1 && name[0] === '0') return match.groups?.[name] ?? '';
    const index = Number(name);
    return index < match.length ? (match[index] ?? '') : '';
  }
  return match.groups?.[name] ?? '';
}

function stringArg(arg: EvaluatedArg | undefined): string {
  if (typeof arg !== 'string') throw new QueryError('bad_data', 'expected a string argument');
  return arg;
}

function assertUniqueLabelSets(out: StepVector): void {
  const seen = new Set<string>();
  for (const s of out) {
    const key = labelsKey(s.labels);
    if (seen.has(key)) throw new QueryError('execution', 'vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
}

/** label_replace(v, dst, replacement, src, regex). */
export const labelReplace: CustomFunction = {
  kind: 'custom',
  call(args) {
    const input = args[0] as StepVector;
    const dst = stringArg(args[1]);
    const replacement = stringArg(args[2]);
    const src = stringArg(args[3]);
    const pattern = stringArg(args[4]);
    const regex = compileAnchoredRegex(pattern);
    if (regex === undefined) throw new QueryError('execution', `invalid regular expression in label_replace(): ${pattern}`);
    if (!isValidLabelName(dst)) throw new QueryError('execution', `invalid destination label name in label_replace(): ${dst}`);
    const out: StepVector = input.map((s): StepSeries => {
      const match = regex.exec(getLabel(s.labels, src));
      if (match === null) return s;
      return {
        labels: setLabel(s.labels, dst, expandTemplate(replacement, match)),
        values: s.values,
        present: s.present,
        // Writing the name explicitly cancels a pending name removal.
        dropName: dst === '__name__' ? false : s.dropName,
      };
    });
    assertUniqueLabelSets(out);
    return out;
  },
};

/** label_join(v, dst, separator, src...). */
export const labelJoin: CustomFunction = {
  kind: 'custom',
  call(args) {
    const input = args[0] as StepVector;
    const dst = stringArg(args[1]);
    const separator = stringArg(args[2]);
    const sources: string[] = [];
    for (let i = 3; i < args.length; i++) {
      const src = stringArg(args[i]);
      if (!isValidLabelName(src)) throw new QueryError('execution', `invalid source label name in label_join(): ${src}`);
      sources.push(src);
    }
    if (!isValidLabelName(dst)) throw new QueryError('execution', `invalid destination label name in label_join(): ${dst}`);
    const out: StepVector = input.map((s): StepSeries => ({
      labels: setLabel(s.labels, dst, sources.map((src) => getLabel(s.labels, src)).join(separator)),
      values: s.values,
      present: s.present,
      dropName: dst === '__name__' ? false : s.dropName,
    }));
    assertUniqueLabelSets(out);
    return out;
  },
};
