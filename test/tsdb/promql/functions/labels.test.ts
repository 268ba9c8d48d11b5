import { describe, it, expect } from 'vitest';
import { FUNCTIONS } from '../../../../src/tsdb/promql/functions/index.js';
import { compileAnchoredRegex, expandTemplate } from '../../../../src/tsdb/promql/functions/labels.js';
import type { CustomFunction } from '../../../../src/tsdb/promql/functions/types.js';
import type { StepVector } from '../../../../src/tsdb/promql/values.js';
import { QueryError } from '../../../../src/tsdb/promql/errors.js';
import { contextOf, seriesOf } from './helpers.js';

const custom = (name: string) => FUNCTIONS[name] as CustomFunction;

function input(): StepVector {
  return [
    seriesOf(
      [
        ['__name__', 'testmetric'],
        ['dst', 'original'],
        ['src', 'source-value-10'],
      ],
      [0],
    ),
    seriesOf(
      [
        ['__name__', 'testmetric'],
        ['dst', 'original'],
        ['src', 'source-value-20'],
      ],
      [1],
    ),
  ];
}

const replace = (...args: string[]) => custom('label_replace').call([input(), ...args], contextOf(1)) as StepVector;
const join = (...args: string[]) => custom('label_join').call([input(), ...args], contextOf(1)) as StepVector;

function errorOf(f: () => unknown): QueryError {
  try {
    f();
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

describe('label_replace', () => {
  it('replaces on a full match with capture groups, keeping labels sorted', () => {
    const out = replace('a_new', 'v-$1', 'src', 'source-value-(.*)');
    expect(out.map((s) => s.labels)).toEqual([
      [
        ['__name__', 'testmetric'],
        ['a_new', 'v-10'],
        ['dst', 'original'],
        ['src', 'source-value-10'],
      ],
      [
        ['__name__', 'testmetric'],
        ['a_new', 'v-20'],
        ['dst', 'original'],
        ['src', 'source-value-20'],
      ],
    ]);
    expect(Array.from(out[1]!.values)).toEqual([1]);
  });

  it('does not match substrings', () => {
    const out = replace('dst', 'x-$1', 'src', 'value-(.*)');
    expect(out.map((s) => s.labels[1])).toEqual([
      ['dst', 'original'],
      ['dst', 'original'],
    ]);
  });

  it('matches a missing source label as the empty string', () => {
    expect(replace('dst', 'value-$1', 'nonexistent', '(.*)')[0]!.labels[1]).toEqual(['dst', 'value-']);
    expect(replace('dst', 'value-$1', 'nonexistent', 'source-value-(.*)')[0]!.labels[1]).toEqual(['dst', 'original']);
  });

  it('removes a label set to the empty string', () => {
    expect(replace('dst', '', 'dst', '.*')[0]!.labels).toEqual([
      ['__name__', 'testmetric'],
      ['src', 'source-value-10'],
    ]);
  });

  it('writing __name__ cancels a pending name removal; other labels keep it', () => {
    const pending = input().map((s) => ({ ...s, dropName: true }));
    const named = custom('label_replace').call([pending, '__name__', 'renamed', 'src', '.*'], contextOf(1)) as StepVector;
    expect(named[0]!.dropName).toBe(false);
    expect(named[0]!.labels[0]).toEqual(['__name__', 'renamed']);
    const other = custom('label_replace').call([pending, 'x', 'y', 'src', '.*'], contextOf(1)) as StepVector;
    expect(other[0]!.dropName).toBe(true);
  });

  it('fails on an invalid regex, an invalid destination, or duplicate label sets', () => {
    const bad = errorOf(() => replace('dst', 'value-$1', 'src', '(.*'));
    expect(bad.errorType).toBe('execution');
    expect(bad.message).toBe('invalid regular expression in label_replace(): (.*');
    expect(errorOf(() => replace('\ufffd', '', 'src', '(.*)')).message).toBe('invalid destination label name in label_replace(): \ufffd');
    expect(errorOf(() => replace('', '', 'src', '(.*)')).message).toBe('invalid destination label name in label_replace(): ');
    expect(errorOf(() => replace('src', '', '', '')).message).toBe('vector cannot contain metrics with the same labelset');
  });

  it('accepts UTF-8 label names', () => {
    expect(replace('ä.b', 'x', 'src', '.*')[0]!.labels.map(([n]) => n)).toEqual(['__name__', 'dst', 'src', 'ä.b']);
  });
});

describe('Go regex and template semantics', () => {
  it('anchors, lets . match newlines, and accepts (?P<name>)', () => {
    expect(compileAnchoredRegex('a.c')!.test('a\nc')).toBe(true);
    expect(compileAnchoredRegex('b')!.test('abc')).toBe(false);
    expect(compileAnchoredRegex('a|b')!.test('ab')).toBe(false);
    expect(compileAnchoredRegex('(?i)abc')!.test('ABC')).toBe(true);
    const m = compileAnchoredRegex('(?P<first>\\w+)-(\\w+)')!.exec('foo-bar')!;
    expect(expandTemplate('${first}:$2', m)).toBe('foo:bar');
  });

  it('expands like Go Regexp.Expand', () => {
    const m = compileAnchoredRegex('(a)(b)?')!.exec('a')!;
    expect(expandTemplate('$1', m)).toBe('a');
    expect(expandTemplate('${1}x', m)).toBe('ax');
    expect(expandTemplate('$1x', m)).toBe(''); // group "1x" does not exist
    expect(expandTemplate('$2', m)).toBe(''); // did not participate
    expect(expandTemplate('$9', m)).toBe(''); // out of range
    expect(expandTemplate('$$1', m)).toBe('$1');
    expect(expandTemplate('cost $', m)).toBe('cost $');
    expect(expandTemplate('${1', m)).toBe('${1');
    expect(expandTemplate('$-', m)).toBe('$-');
  });
});

describe('label_join', () => {
  it('joins source values in order, missing ones as empty strings', () => {
    expect(join('dst', '-', 'src', 'nope', '__name__')[0]!.labels[1]).toEqual(['dst', 'source-value-10--testmetric']);
  });

  it('creates the destination, and removes it when the result is empty', () => {
    expect(join('new', ', ', 'dst', 'dst')[0]!.labels[2]).toEqual(['new', 'original, original']);
    expect(join('dst', '-')[0]!.labels).toEqual([
      ['__name__', 'testmetric'],
      ['src', 'source-value-10'],
    ]);
  });

  it('fails on invalid names and duplicate label sets', () => {
    expect(errorOf(() => join('dst', '-', '')).message).toBe('invalid source label name in label_join(): ');
    expect(errorOf(() => join('', '-', 'src')).message).toBe('invalid destination label name in label_join(): ');
    expect(errorOf(() => join('src', '', 'dst')).message).toBe('vector cannot contain metrics with the same labelset');
  });
});
