import { describe, expect, it } from 'vitest';

import { matcherMatches, matchesAll, parseSelector, SelectorSyntaxError, type LabelMatcher } from '../../../src/profiles/rules/selector.js';

describe('parseSelector', () => {
  it('parses braces, bare names and both', () => {
    expect(parseSelector('{a="b", c=~"d"}')).toEqual([
      { name: 'a', type: '=', value: 'b' },
      { name: 'c', type: '=~', value: 'd' },
    ]);
    expect(parseSelector('foo')).toEqual([{ name: '__name__', type: '=', value: 'foo' }]);
    expect(parseSelector('foo:bar{a!="b", c!~"d"}')).toEqual([
      { name: '__name__', type: '=', value: 'foo:bar' },
      { name: 'a', type: '!=', value: 'b' },
      { name: 'c', type: '!~', value: 'd' },
    ]);
    expect(parseSelector('{}')).toEqual([]);
    expect(parseSelector('  foo{a="b",}  ')).toHaveLength(2);
  });

  it('accepts PromQL keywords as label names and quoted names', () => {
    expect(parseSelector('{by="x", offset="y", bool="z"}').map((m) => m.name)).toEqual(['by', 'offset', 'bool']);
    expect(parseSelector('{"a.b"="x"}')).toEqual([{ name: 'a.b', type: '=', value: 'x' }]);
    expect(parseSelector('{"my.metric", a="b"}')[0]).toEqual({ name: '__name__', type: '=', value: 'my.metric' });
  });

  it('decodes string escapes as PromQL does', () => {
    const value = (s: string) => parseSelector(`{a=${s}}`)[0]!.value;
    expect(value(String.raw`"\"x\n\t\\"`)).toBe('"x\n\t\\');
    expect(value(String.raw`'it\'s'`)).toBe("it's");
    expect(value('`raw\\n"`')).toBe('raw\\n"');
    expect(value(String.raw`"\u00e9\303\251\x41\U0001F600"`)).toBe('ééA😀');
    expect(value('"日本語"')).toBe('日本語');
  });

  it('rejects bad escapes and invalid UTF-8', () => {
    for (const s of [String.raw`"\q"`, String.raw`"\'"`, String.raw`"\xff"`, String.raw`"\ud800"`, String.raw`"\12"`, String.raw`"\x4"`]) {
      expect(() => parseSelector(`{a=${s}}`), s).toThrow(SelectorSyntaxError);
    }
    expect(() => parseSelector('{a="\uD800"}')).toThrow(/UTF-8/);
  });

  it('rejects everything that is not one plain vector selector, with position and expectation', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty selector/],
      ['   ', /empty selector/],
      ['a + b', /1:1.*got a binary expression/],
      ['rate(x[5m])', /got a function call/],
      ['{a="b"}[5m]', /got a range selector/],
      ['sum by (a) (x)', /got an aggregation/],
      ['x offset 5m', /got an offset modifier/],
      ['foo @ 5', /got an @ modifier/],
      ['(foo)', /parenthesized/],
      ['-foo', /unary/],
      ['42', /got a number/],
      ['"foo"', /got a string/],
      ['{a="b"', /1:7.*unexpected end of input, expected a label matcher/],
      ['foo bar', /1:5.*unexpected "bar", expected end of input/],
      ['{a=b}', /expected a label matcher/],
      ['foo{"bar"}', /metric name must not be set twice/],
      ['{a=~"("}', /invalid regex "\("/],
      ['{a="x\ny"}', /2:1/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseSelector(text), text).toThrow(SelectorSyntaxError);
      expect(() => parseSelector(text), text).toThrow(message);
    }
  });

  it('rejects regex features RE2 does not have', () => {
    expect(() => parseSelector(String.raw`{a=~"(a)\\1"}`)).toThrow(/backreferences and lookaround/);
    expect(() => parseSelector('{a=~"(?=a)a"}')).toThrow(/backreferences and lookaround/);
    expect(parseSelector('{a=~"(?P<x>a)"}')).toHaveLength(1);
  });

  it('survives hostile input', () => {
    expect(() => parseSelector('{'.repeat(100_000))).toThrow(SelectorSyntaxError);
    const big = `{a="${'x'.repeat(1_000_000)}"}`;
    expect(parseSelector(big)[0]!.value).toHaveLength(1_000_000);
    expect(() => parseSelector(`{a=~"${'x'.repeat(5000)}"}`)).toThrow(/longer than 4096/);
    const message = (() => {
      try {
        parseSelector(`${'x'.repeat(1_000_000)} +`);
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message.length).toBeLessThan(500);
  });
});

describe('matching', () => {
  const m = (type: LabelMatcher['type'], value: string): LabelMatcher => ({ name: 'a', type, value });

  it('anchors regexes like Prometheus', () => {
    expect(matcherMatches(m('=~', 'api'), 'api')).toBe(true);
    expect(matcherMatches(m('=~', 'api'), 'api-gw')).toBe(false);
    expect(matcherMatches(m('=~', 'api'), 'my-api')).toBe(false);
    expect(matcherMatches(m('=~', 'a|b'), 'ab')).toBe(false); // ^(?:a|b)$, not ^a|b$
    expect(matcherMatches(m('=~', 'a|b'), 'b')).toBe(true);
    expect(matcherMatches(m('!~', 'api-.*'), 'api-gw')).toBe(false);
    expect(matcherMatches(m('=~', 'a.b'), 'a\nb')).toBe(true); // . matches newline
    expect(matcherMatches(m('=~', '(?i)API'), 'api')).toBe(true);
  });

  it('treats a missing label as the empty string', () => {
    const get = (labels: Record<string, string>) => (name: string) => labels[name] ?? '';
    expect(matchesAll([m('!=', 'x')], get({}))).toBe(true);
    expect(matchesAll([m('=', '')], get({}))).toBe(true);
    expect(matchesAll([m('=~', '')], get({}))).toBe(true);
    expect(matchesAll([m('=~', '')], get({ a: 'x' }))).toBe(false);
    expect(matchesAll([m('=~', '.+')], get({}))).toBe(false);
    expect(matchesAll([m('!~', '.+')], get({}))).toBe(true);
    expect(matchesAll([], get({}))).toBe(true);
  });

  it('ANDs matchers', () => {
    const ms = parseSelector('{a="1", b=~"x|y"}');
    expect(matchesAll(ms, (n) => ({ a: '1', b: 'y' })[n] ?? '')).toBe(true);
    expect(matchesAll(ms, (n) => ({ a: '1', b: 'z' })[n] ?? '')).toBe(false);
    expect(matchesAll(ms, (n) => ({ a: '2', b: 'x' })[n] ?? '')).toBe(false);
  });
});
