import { describe, it, expect } from 'vitest';
import type { Expr, VectorSelector } from '../../../src/tsdb/promql/ast.js';
import { ParseError } from '../../../src/tsdb/promql/errors.js';
import { formatExpr, parseExpr } from '../../../src/tsdb/promql/parser.js';
import { FUNCTION_SIGNATURES } from '../../../src/tsdb/promql/function-signatures.js';
import { compilePromRegex } from '../../../src/tsdb/promql/regex.js';
import { normalizeMatchers as normalize } from './normalize-ast.js';

// Hand-written expected trees.
const sel = (name: string, extra: VectorSelector['matchers'] = [], mods: Partial<VectorSelector> = {}): VectorSelector => ({
  type: 'VectorSelector',
  name,
  matchers: [{ name: '__name__', type: '=', value: name }, ...extra],
  offsetMs: 0,
  ...mods,
});
const num = (value: number): Expr => ({ type: 'NumberLiteral', value });
const str = (value: string): Expr => ({ type: 'StringLiteral', value });
const oneToOne = { card: 'one-to-one' as const, on: false, labels: [], include: [] };
const bin = (op: string, lhs: Expr, rhs: Expr, extra: object = {}): Expr => ({ type: 'BinaryExpr', op, lhs, rhs, returnBool: false, ...extra }) as Expr;

describe('parseExpr: valid queries', () => {
  it.each<[string, Expr]>([
    ['1', num(1)],
    ['1.5', num(1.5)],
    ['.5', num(0.5)],
    ['1e3', num(1000)],
    ['1E-2', num(0.01)],
    ['0x1F', num(31)],
    ['010', num(8)], // Go's ParseInt(s, 0, 64): a leading 0 is octal
    ['09', num(9)], // not octal, so a float
    ['1_000', num(1000)],
    ['1.', num(1)], // Prometheus' lexer takes a trailing dot; lezer's does not
    ['2.e1', num(20)],
    ['0X1f', num(31)],
    ['0x_1F', num(31)],
    ['Inf', num(Infinity)],
    ['+inf', num(Infinity)],
    ['-INF', num(-Infinity)],
    ['-1', num(-1)],
    ['- 1', num(-1)],
    ['+-1', num(-1)],
    ['- -1', num(1)],
    ['5m', num(300)], // a duration where a number is expected is its seconds
    ['1h30m', num(5400)],
    ['"a\\nb"', str('a\nb')],
    ["'it\\'s'", str("it's")],
    ['`raw\\n`', str('raw\\n')],
    ['"\\x41\\101\\u00e9\\U0001F600"', str('AAé😀')],
    ['"\\a\\b\\f\\r\\t\\v\\\\\\""', str('\x07\b\f\r\t\v\\"')],
    ['foo', sel('foo')],
    ['foo:bar_baz', sel('foo:bar_baz')],
    ['sum', sel('sum')], // keywords are metric names where an expression is expected
    ['by', sel('by')],
    ['foo{a="b", c!="d", e=~"f.*", g!~"h"}', sel('foo', [
      { name: 'a', type: '=', value: 'b' },
      { name: 'c', type: '!=', value: 'd' },
      { name: 'e', type: '=~', value: 'f.*' },
      { name: 'g', type: '!~', value: 'h' },
    ])],
    ['foo{a="b",}', sel('foo', [{ name: 'a', type: '=', value: 'b' }])],
    ['foo{}', sel('foo')],
    ['{a="b"}', { type: 'VectorSelector', matchers: [{ name: 'a', type: '=', value: 'b' }], offsetMs: 0 }],
    ['{__name__=~"foo.+"}', { type: 'VectorSelector', matchers: [{ name: '__name__', type: '=~', value: 'foo.+' }], offsetMs: 0 }],
    ['{"my.metric"}', sel('my.metric')],
    ['{"my.metric", "my.label"="x"}', sel('my.metric', [{ name: 'my.label', type: '=', value: 'x' }])],
    ['foo{a=~"(?i:pro).*", b=~"[[:alpha:]]+", c=~"(?P<n>x)"}', sel('foo', [
      { name: 'a', type: '=~', value: '(?i:pro).*' },
      { name: 'b', type: '=~', value: '[[:alpha:]]+' },
      { name: 'c', type: '=~', value: '(?P<n>x)' },
    ])],
    ['foo{on="x", by="y"}', sel('foo', [{ name: 'on', type: '=', value: 'x' }, { name: 'by', type: '=', value: 'y' }])],
    ['foo offset 5m', sel('foo', [], { offsetMs: 300_000 })],
    ['foo offset -1h30m', sel('foo', [], { offsetMs: -5_400_000 })],
    ['foo offset 1.5', sel('foo', [], { offsetMs: 1500 })],
    ['foo @ 100', sel('foo', [], { at: { kind: 'time', ms: 100_000 } })],
    ['foo @ -1.5', sel('foo', [], { at: { kind: 'time', ms: -1500 } })],
    ['foo @ 1.0005', sel('foo', [], { at: { kind: 'time', ms: 1001 } })],
    ['foo @ start()', sel('foo', [], { at: { kind: 'start' } })],
    ['foo @ END()', sel('foo', [], { at: { kind: 'end' } })],
    ['foo offset 5m @ 10', sel('foo', [], { offsetMs: 300_000, at: { kind: 'time', ms: 10_000 } })],
    ['foo @ 10 offset 5m', sel('foo', [], { offsetMs: 300_000, at: { kind: 'time', ms: 10_000 } })],
    ['foo[5m]', { type: 'MatrixSelector', vector: sel('foo'), rangeMs: 300_000 }],
    ['foo[90]', { type: 'MatrixSelector', vector: sel('foo'), rangeMs: 90_000 }],
    ['foo[1h30m] offset 1m @ end()', { type: 'MatrixSelector', vector: sel('foo', [], { offsetMs: 60_000, at: { kind: 'end' } }), rangeMs: 5_400_000 }],
    ['foo[5m:]', { type: 'SubqueryExpr', expr: sel('foo'), rangeMs: 300_000, stepMs: 0, offsetMs: 0 }],
    ['foo[5m:1m] offset 10s @ 5', { type: 'SubqueryExpr', expr: sel('foo'), rangeMs: 300_000, stepMs: 60_000, offsetMs: 10_000, at: { kind: 'time', ms: 5000 } }],
    ['rate(foo[5m])[30m:1m]', {
      type: 'SubqueryExpr',
      expr: { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', vector: sel('foo'), rangeMs: 300_000 }] },
      rangeMs: 1_800_000, stepMs: 60_000, offsetMs: 0,
    }],
    ['(foo)', { type: 'ParenExpr', expr: sel('foo') }],
    ['-foo', { type: 'UnaryExpr', op: '-', expr: sel('foo') }],
    ['-(1)', { type: 'UnaryExpr', op: '-', expr: { type: 'ParenExpr', expr: num(1) } }],
    ['1 + 2 * 3', bin('+', num(1), bin('*', num(2), num(3)))],
    ['1 * 2 + 3', bin('+', bin('*', num(1), num(2)), num(3))],
    ['1 - 2 - 3', bin('-', bin('-', num(1), num(2)), num(3))],
    ['2 ^ 3 ^ 2', bin('^', num(2), bin('^', num(3), num(2)))],
    ['-1 ^ 2', { type: 'UnaryExpr', op: '-', expr: bin('^', num(1), num(2)) }],
    ['-foo ^ 2', { type: 'UnaryExpr', op: '-', expr: bin('^', sel('foo'), num(2)) }],
    ['2 * -1 ^ 2', bin('*', num(2), { type: 'UnaryExpr', op: '-', expr: bin('^', num(1), num(2)) })],
    ['1 - -1', bin('-', num(1), num(-1))],
    ['a or b and c', bin('or', sel('a'), bin('and', sel('b'), sel('c'), { matching: { ...oneToOne, card: 'many-to-many' } }), { matching: { ...oneToOne, card: 'many-to-many' } })],
    ['a == b + c', bin('==', sel('a'), bin('+', sel('b'), sel('c'), { matching: oneToOne }), { matching: oneToOne })],
    ['a atan2 b', bin('atan2', sel('a'), sel('b'), { matching: oneToOne })],
    ['a % 2', bin('%', sel('a'), num(2))],
    ['1 > bool 2', bin('>', num(1), num(2), { returnBool: true })],
    ['a >= bool b', bin('>=', sel('a'), sel('b'), { returnBool: true, matching: oneToOne })],
    ['a + on(x, y) b', bin('+', sel('a'), sel('b'), { matching: { card: 'one-to-one', on: true, labels: ['x', 'y'], include: [] } })],
    ['a + on() b', bin('+', sel('a'), sel('b'), { matching: { card: 'one-to-one', on: true, labels: [], include: [] } })],
    ['a + ignoring(x) b', bin('+', sel('a'), sel('b'), { matching: { card: 'one-to-one', on: false, labels: ['x'], include: [] } })],
    ['a * on(x) group_left(y, z) b', bin('*', sel('a'), sel('b'), { matching: { card: 'many-to-one', on: true, labels: ['x'], include: ['y', 'z'] } })],
    ['a / ignoring(x) group_right b', bin('/', sel('a'), sel('b'), { matching: { card: 'one-to-many', on: false, labels: ['x'], include: [] } })],
    ['a unless on(x) b', bin('unless', sel('a'), sel('b'), { matching: { card: 'many-to-many', on: true, labels: ['x'], include: [] } })],
    ['a == bool on(x) b', bin('==', sel('a'), sel('b'), { returnBool: true, matching: { card: 'one-to-one', on: true, labels: ['x'], include: [] } })],
    ['sum(foo)', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), grouping: [], without: false }],
    ['SUM(foo)', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), grouping: [], without: false }],
    ['sum by (a, b) (foo)', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), grouping: ['a', 'b'], without: false }],
    ['sum(foo) by (a,)', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), grouping: ['a'], without: false }],
    ['avg without (a) (foo)', { type: 'AggregateExpr', op: 'avg', expr: sel('foo'), grouping: ['a'], without: true }],
    ['count(foo) without ()', { type: 'AggregateExpr', op: 'count', expr: sel('foo'), grouping: [], without: true }],
    ['sum by ("my.label") (foo)', { type: 'AggregateExpr', op: 'sum', expr: sel('foo'), grouping: ['my.label'], without: false }],
    ['topk(3, foo)', { type: 'AggregateExpr', op: 'topk', param: num(3), expr: sel('foo'), grouping: [], without: false }],
    ['quantile(0.9, foo) by (a)', { type: 'AggregateExpr', op: 'quantile', param: num(0.9), expr: sel('foo'), grouping: ['a'], without: false }],
    ['count_values("v", foo)', { type: 'AggregateExpr', op: 'count_values', param: str('v'), expr: sel('foo'), grouping: [], without: false }],
    ['limitk(2, foo)', { type: 'AggregateExpr', op: 'limitk', param: num(2), expr: sel('foo'), grouping: [], without: false }],
    ['limit_ratio(0.5, foo)', { type: 'AggregateExpr', op: 'limit_ratio', param: num(0.5), expr: sel('foo'), grouping: [], without: false }],
    ['topk(scalar(bar), foo)', { type: 'AggregateExpr', op: 'topk', param: { type: 'Call', func: 'scalar', args: [sel('bar')] }, expr: sel('foo'), grouping: [], without: false }],
    ['time()', { type: 'Call', func: 'time', args: [] }],
    ['round(foo)', { type: 'Call', func: 'round', args: [sel('foo')] }],
    ['round(foo, 5)', { type: 'Call', func: 'round', args: [sel('foo'), num(5)] }],
    ['label_join(foo, "d", ",")', { type: 'Call', func: 'label_join', args: [sel('foo'), str('d'), str(',')] }],
    ['label_join(foo, "d", ",", "a", "b")', { type: 'Call', func: 'label_join', args: [sel('foo'), str('d'), str(','), str('a'), str('b')] }],
    ['sort_by_label(foo, "a", "b")', { type: 'Call', func: 'sort_by_label', args: [sel('foo'), str('a'), str('b')] }],
    ['histogram_quantile(0.9, rate(foo[5m]))', { type: 'Call', func: 'histogram_quantile', args: [num(0.9), { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', vector: sel('foo'), rangeMs: 300_000 }] }] }],
    ['double_exponential_smoothing(foo[5m], 0.5, 0.5)', { type: 'Call', func: 'double_exponential_smoothing', args: [{ type: 'MatrixSelector', vector: sel('foo'), rangeMs: 300_000 }, num(0.5), num(0.5)] }],
    ['info(foo, {k8s_cluster=~".+"})', { type: 'Call', func: 'info', args: [sel('foo'), { type: 'VectorSelector', matchers: [{ name: 'k8s_cluster', type: '=~', value: '.+' }], offsetMs: 0 }] }],
    ['vector(1)', { type: 'Call', func: 'vector', args: [num(1)] }],
    ['foo # comment\n + 1', bin('+', sel('foo'), num(1))],
    // Modifiers bind tighter than every operator.
    ['a - a offset 1d', bin('-', sel('a'), sel('a', [], { offsetMs: 86_400_000 }), { matching: oneToOne })],
    ['a + b @ 10 offset 5m', bin('+', sel('a'), sel('b', [], { offsetMs: 300_000, at: { kind: 'time', ms: 10_000 } }), { matching: oneToOne })],
    ['a * b + c offset 1m', bin('+', bin('*', sel('a'), sel('b'), { matching: oneToOne }), sel('c', [], { offsetMs: 60_000 }), { matching: oneToOne })],
    ['-a offset 1m', { type: 'UnaryExpr', op: '-', expr: sel('a', [], { offsetMs: 60_000 }) }],
    ['1 + max_over_time(rate(a[5m])[10m:1m] @ 5)', bin('+', num(1), { type: 'Call', func: 'max_over_time', args: [{
      type: 'SubqueryExpr', expr: { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', vector: sel('a'), rangeMs: 300_000 }] },
      rangeMs: 600_000, stepMs: 60_000, offsetMs: 0, at: { kind: 'time', ms: 5000 },
    }] })],
    ['sum(rate(a[5m] offset 1h))', { type: 'AggregateExpr', op: 'sum', grouping: [], without: false, expr: { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', vector: sel('a', [], { offsetMs: 3_600_000 }), rangeMs: 300_000 }] } }],
    ['foo{a="b"} # trailing comment', sel('foo', [{ name: 'a', type: '=', value: 'b' }])],
  ])('%s', (query, expected) => {
    expect(parseExpr(query)).toEqual(expected);
  });

  it('accepts every function in the signature table with well-typed arguments', () => {
    const argFor = { scalar: '1', vector: 'foo', matrix: 'foo[5m]', string: '"a"' } as const;
    for (const [name, sig] of Object.entries(FUNCTION_SIGNATURES)) {
      // info()'s second argument selects info metrics by labels only.
      const args = sig.argTypes.map((t, i) => (name === 'info' && i === 1 ? '{a="b"}' : argFor[t as keyof typeof argFor])).join(', ');
      const e = parseExpr(`${name}(${args})`);
      expect(e).toMatchObject({ type: 'Call', func: name });
    }
  });

  it('includes the experimental functions and the newer *_over_time ones', () => {
    for (const f of ['sort_by_label', 'sort_by_label_desc', 'double_exponential_smoothing', 'mad_over_time', 'first_over_time', 'ts_of_first_over_time', 'ts_of_last_over_time', 'ts_of_max_over_time', 'ts_of_min_over_time', 'info']) {
      expect(FUNCTION_SIGNATURES[f], f).toBeDefined();
    }
    expect(FUNCTION_SIGNATURES['holt_winters']).toBeUndefined(); // renamed in 3.x
  });
});

function parseError(query: string): string {
  try {
    parseExpr(query);
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).errorType).toBe('bad_data');
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(query)} to fail`);
}

describe('parseExpr: invalid queries', () => {
  it.each([
    // Lexical errors, with Prometheus' exact messages and positions.
    ['', 'unknown position: parse error: no expression found in input'],
    ['   ', '1:1: parse error: no expression found in input'],
    ['# only a comment', '1:1: parse error: no expression found in input'],
    ['(1', '1:3: parse error: unclosed left parenthesis'],
    ['sum(rate(foo[5m])', '1:18: parse error: unclosed left parenthesis'],
    ['1)', "1:2: parse error: unexpected right parenthesis ')'"],
    ['foo]', "1:4: parse error: unexpected right bracket ']'"],
    ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces'],
    ['foo{a="b}', '1:7: parse error: unterminated quoted string'],
    ['"abc', '1:1: parse error: unterminated quoted string'],
    ['`abc', '1:1: parse error: unterminated raw string'],
    ['"\\q"', "1:1: parse error: unknown escape sequence U+0071 'q'"],
    ['foo{a$="b"}', "1:6: parse error: unexpected character inside braces: '$'"],
    ['foo{a{}', "1:6: parse error: unexpected left brace '{'"],
    ['foo !~ bar', "1:5: parse error: unexpected character after '!': '~'"],
    ['foo =~ bar', "1:5: parse error: unexpected character after '=': '~'"],
    ['foo $ bar', "1:5: parse error: unexpected character: '$'"],
    ['foo\u0000', "1:4: parse error: unexpected character: '\\x00'"],
    ['1.2.3', '1:1: parse error: bad number or duration syntax: "1.2."'],
    ['5mm', '1:1: parse error: bad number or duration syntax: "5mm"'],
    ['foo[5m', '1:7: parse error: unexpected end of input in duration expression'],
    ['foo[:5m]', '1:5: parse error: unexpected colon before duration in duration expression'],
    ['foo[5m::1m]', '1:8: parse error: unexpected repeated colon in duration expression'],
    ['foo[5x]', '1:5: parse error: bad number or duration syntax: "5"'],
    ['a +\n  (b', '2:5: parse error: unclosed left parenthesis'],
    // Syntax errors.
    ['1 +', '1:4: parse error: unexpected end of input'],
    ['foo bar', '1:5: parse error: unexpected identifier "bar"'],
    ['foo 1', '1:5: parse error: unexpected number "1"'],
    ['sum(foo) by', '1:12: parse error: unexpected end of input'],
    ['foo{a}', '1:6: parse error: unexpected "}" in label matching, expected label matching operator'],
    ['foo{a=b}', '1:7: parse error: unexpected identifier "b" in label matching, expected string'],
    ['foo{a="b" c="d"}', '1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}"'],
    ['sum by (a b) (foo)', '1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"'],
    ['foo offset bar', '1:12: parse error: unexpected identifier "bar" in offset, expected number or duration'],
    ['foo @ bar', '1:7: parse error: unexpected identifier "bar" in @, expected timestamp'],
    ['foo(bar)', '1:1: parse error: unknown function with name "foo"'],
    ['holt_winters(foo[5m], 0.5, 0.5)', '1:1: parse error: unknown function with name "holt_winters"'],
    ['rate(foo[5m],)', '1:13: parse error: trailing commas not allowed in function call args'],
    ['sum(foo) by (a) by (b)', 'parse error: unexpected <by>'],
    ['foo + * bar', 'parse error: unexpected <op:*>'],
    // Checks made while building the tree.
    ['foo{a=~"("}', '1:5: parse error: invalid regular expression "("'],
    ['foo{a=~"(?=x)"}', '1:5: parse error: invalid regular expression "(?=x)"'],
    ['foo[0s]', '1:5: parse error: duration must be greater than 0'],
    ['foo[-5m]', '1:5: parse error: duration must be greater than 0'],
    ['foo[5m:0s]', 'parse error: duration must be greater than 0'],
    ['foo[1m5h]', 'parse error: not a valid duration string: "1m5h"'],
    ['foo[5m+1m]', 'parse error: experimental duration expression is not enabled'],
    ['foo offset (5m)', 'parse error: experimental duration expression is not enabled'],
    ['foo offset 5m offset 1m', '1:1: parse error: offset may not be set multiple times'],
    ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times'],
    ['foo @ start() @ end()', '1:1: parse error: @ <timestamp> may not be set multiple times'],
    ['foo @ Inf', '1:7: parse error: timestamp out of bounds for @ modifier: +Inf'],
    ['foo @ NaN', 'parse error: timestamp out of bounds for @ modifier: NaN'],
    ['foo @ 1e19', 'parse error: timestamp out of bounds for @ modifier: 10000000000000000000.000000'],
    ['foo offset 5m [1m]', '1:15: parse error: no offset modifiers allowed before range'],
    ['foo @ 1 [1m]', '1:9: parse error: no @ modifiers allowed before range'],
    ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors'],
    ['rate(foo[5m])[1m]', '1:14: parse error: ranges only allowed for vector selectors'],
    ['sum(foo) offset 5m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['(foo) @ 5', '1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"'],
    ['foo == fill(0) bar', 'parse error: binop fill modifiers are experimental and not enabled'],
    // Type checks (checkAST).
    ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a=~".*", b!="x"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['{a!~".+"}', '1:1: parse error: vector selector must contain at least one non-empty matcher'],
    ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector'],
    ['abs(foo[5m])', '1:5: parse error: expected type instant vector in call to function "abs", got range vector'],
    ['abs("a")', '1:5: parse error: expected type instant vector in call to function "abs", got string'],
    ['abs()', '1:1: parse error: expected 1 argument(s) in call to "abs", got 0'],
    ['abs(foo, bar)', '1:1: parse error: expected 1 argument(s) in call to "abs", got 2'],
    ['round(foo, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3'],
    ['label_join(foo, "a")', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 2'],
    ['clamp(foo, "a", 1)', '1:12: parse error: expected type scalar in call to function "clamp", got string'],
    ['info(foo, bar)', 'parse error: expected label selectors only, got vector selector instead'],
    ['sum(foo[5m])', '1:5: parse error: expected type instant vector in aggregation expression, got range vector'],
    ['topk("a", foo)', '1:6: parse error: expected type scalar in aggregation parameter, got string'],
    ['count_values(1, foo)', '1:14: parse error: expected type string in aggregation parameter, got scalar'],
    ['sum()', '1:1: parse error: no arguments for aggregate expression provided'],
    ['topk(foo)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1'],
    ['sum(a, b)', '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2'],
    ['1 > 2', '1:3: parse error: comparisons between scalars must use BOOL modifier'],
    ['foo + bool bar', '1:5: parse error: bool modifier can only be used on comparison operators'],
    ['foo[5m] + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types'],
    ['1 + "a"', '1:5: parse error: binary expression must contain only scalar and instant vector types'],
    ['foo and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression'],
    ['1 or 2', '1:1: parse error: set operator "or" not allowed in binary scalar expression'],
    ['foo and on(a) group_left bar', '1:1: parse error: no grouping allowed for "and" operation'],
    ['1 + on(a) foo', '1:1: parse error: vector matching only allowed between instant vectors'],
    ['foo + on(a) group_left(a) bar', '1:5: parse error: label "a" must not occur in ON and GROUP clause at once'],
    ['-"a"', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"'],
    ['-foo[5m]', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'],
    ['-foo[5m:]', '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"'],
    ['a + b[5m]', '1:5: parse error: binary expression must contain only scalar and instant vector types'],
    ['1 + rate(a[5m])[10m:1m] @ 5', '1:5: parse error: binary expression must contain only scalar and instant vector types'],
    ['(a + b) offset 5m', '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery'],
    ['foo[5m][10m:]', '1:1: parse error: subquery is only allowed on instant vector, got range vector instead'],
    ['"a"[5m:]', '1:1: parse error: subquery is only allowed on instant vector, got string instead'],
  ])('%j → %s', (query, expected) => {
    expect(parseError(query)).toContain(expected);
  });

  it('counts columns in UTF-8 bytes and lines from 1', () => {
    expect(parseError('{a="é"} $')).toBe("1:10: parse error: unexpected character: '$'");
    expect(parseError('foo +\nbar +\n  $')).toBe("3:3: parse error: unexpected character: '$'");
  });
});

describe('compilePromRegex (RE2 spellings)', () => {
  it.each<[string, string[], string[]]>([
    ['(?i:PRO).*', ['PRODUCTION', 'production', 'Pro'], ['xpro', '']],
    ['.*((?i)duc).*', ['proDUCt', 'duc'], ['du']],
    ['(?i)foo|bar', ['FOO', 'BAR'], ['foox']],
    ['a(?i)b', ['ab', 'aB'], ['Ab']],
    ['(?i)[a-c]x', ['bX', 'CX'], ['dx']],
    ['[[:alpha:]]+', ['abcXYZ'], ['a1']],
    ['[[:digit:]_]+', ['1_2'], ['a']],
    ['(?P<name>a)b', ['ab'], ['a']],
    ['a.b', ['a\nb', 'axb'], ['ab']], // `.` matches newlines
    ['a|b', ['a', 'b'], ['ab', 'xa']], // anchored at both ends
    ['.', ['😀', 'é'], ['', '😀😀']], // one code point, not one UTF-16 unit
    ['[^a]', ['😀'], ['a']],
    ['\\pL+', ['éa', 'Ω'], ['1', 'a b']],
    ['\\p{Greek}+', ['αβ'], ['ab']],
    ['\\PN', ['a'], ['7']],
    ['\\x{41}b', ['Ab'], ['x{41}b']],
    ['a\\-b\\:c\\_', ['a-b:c_'], ['ab:c_']], // RE2 escapes any punctuation
    ['[a\\-z]', ['-', 'a'], ['b']],
    ['a{', ['a{'], ['a']], // a brace that starts no repetition is a literal in RE2
    ['a{2}', ['aa'], ['a{2}']],
    ['x}]', ['x}]'], ['x']],
  ])('%s', (re, yes, no) => {
    const compiled = compilePromRegex(re);
    for (const s of yes) expect(compiled.test(s), s).toBe(true);
    for (const s of no) expect(compiled.test(s), s).toBe(false);
  });

  it('refuses what RE2 does not have', () => {
    expect(() => compilePromRegex('(a)\\1')).toThrow('backreferences');
    expect(() => compilePromRegex('a(?=b)')).toThrow('lookaround');
    expect(() => compilePromRegex('[[:nope:]]')).toThrow('invalid character class');
  });
});


const ROUND_TRIP = [
  'foo', 'foo:bar', '{"my.metric"}', '{"my.metric", a="b"}', '{__name__=~"a.*"}', 'foo{a="b",c=~"d|e",f!="g",h!~"i"}',
  'foo{"la.bel"="x"}', 'foo{a="quote\\"and\\\\backslash\\n"}', "foo{a='single'}", 'foo{a=`raw\\d`}', 'foo{a="é😀"}',
  'foo offset 5m', 'foo offset -1h30m', 'foo offset 1500ms', 'foo @ 100', 'foo @ -5.5', 'foo @ start()', 'foo @ end() offset 1d',
  'foo[5m]', 'foo[1h30m] offset 1w', 'foo[2y]', 'foo[90d]', 'foo[5m] @ 1609746000', 'foo[5m:]', 'foo[5m:30s]', 'foo[5m:30s] offset 1m @ start()',
  'rate(foo[5m])[30m:1m]', 'max_over_time(deriv(rate(foo[1m])[5m:1m])[10m:])',
  '1', '-1', '1.5e-7', '1e21', '0x10', 'Inf', '-Inf', 'NaN', '"s"', "'x\\ty'",
  '1 + 2', '1 - -1', '-1 ^ 2', '2 ^ 3 ^ 2', '(2 ^ 3) ^ 2', '-(1 + 2)', '- -foo', '+foo', '1 + 2 * 3', '(1 + 2) * 3', '1 / 2 % 3',
  'foo + bar', 'foo - on(a) bar', 'foo * ignoring(a, b) bar', 'foo / on(a) group_left(b) bar', 'foo / on(a) group_right() bar',
  'foo > bool 1', 'foo == bool on(a) bar', '1 < bool 2', 'foo != bar', 'foo >= 1', 'foo <= 1',
  'foo and bar', 'foo or bar', 'foo unless on(a) bar', 'foo and bar or baz unless qux', 'foo atan2 bar',
  'sum(foo)', 'sum by (a) (foo)', 'sum without (a, b) (foo)', 'sum(foo) by (a)', 'avg by () (foo)', 'count without () (foo)',
  'sum by ("my.label") (foo)', 'topk(5, foo)', 'bottomk by (a) (2, foo)', 'quantile(0.99, foo)', 'count_values("value", foo)',
  'limitk(1, foo)', 'limit_ratio(-0.5, foo)', 'stddev(foo)', 'stdvar(foo)', 'group(foo)', 'min(foo)', 'max(foo)',
  'rate(foo[5m])', 'irate(foo[1m])', 'increase(foo[1h])', 'histogram_quantile(0.9, sum by (le) (rate(foo_bucket[5m])))',
  'label_replace(foo, "dst", "$1", "src", "(.*)")', 'label_join(foo, "dst", ",", "a", "b")', 'round(foo, 0.1)', 'clamp(foo, 0, 1)',
  'time()', 'pi()', 'vector(1)', 'scalar(foo)', 'absent(foo{a="b"})', 'absent_over_time(foo[5m])', 'predict_linear(foo[1h], 3600)',
  'quantile_over_time(0.5, foo[5m])', 'sort_by_label(foo, "a")', 'info(foo, {a="b"})', 'days_in_month()', 'timestamp(foo)',
  'sum(rate(foo[5m])) / sum(rate(bar[5m]))', '(foo + bar) * on(a) group_left(b) baz', 'foo offset 5m + bar @ 10',
  '1 + foo # comment', 'sum(\n  foo\n)', 'foo - foo offset 1d', 'a + b @ 10 offset 5m', '-a offset 1m',
];

describe('formatExpr', () => {
  it.each([
    ['sum by(job)(rate(foo{a="b"}[5m]))', 'sum by (job) (rate(foo{a="b"}[5m]))'],
    ['sum(rate(foo[5m])) by (job)', 'sum by (job) (rate(foo[5m]))'],
    ['sum without(a,b)(foo)', 'sum without (a, b) (foo)'],
    ['topk(5,foo)', 'topk(5, foo)'],
    ['foo{b="1",a="2"}', 'foo{a="2",b="1"}'],
    ['{"my.metric","a.b"="c"}', '{"my.metric","a.b"="c"}'],
    ['foo @ 100 offset -5m', 'foo @ 100.000 offset -5m'],
    ['foo offset 90m', 'foo offset 1h30m'],
    ['foo[300]', 'foo[5m]'],
    ['foo[5m:60]', 'foo[5m:1m]'],
    ['foo+on(a)group_left(b)bar', 'foo + on (a) group_left (b) bar'],
    ['foo+ignoring(a)bar', 'foo + ignoring (a) bar'],
    ['foo+on()bar', 'foo + on () bar'],
    ['foo > bool 1', 'foo > bool 1'],
    ['1e21', '1000000000000000000000'],
    ['1.5e-7', '0.00000015'],
    ['-inf', '-Inf'],
    ['nan', 'NaN'],
    ["'a\"b'", '"a\\"b"'],
    ['"\\x01"', '"\\x01"'],
    ['-1^2', '-1 ^ 2'],
    ['sum by ("my.label", a) (foo)', 'sum by ("my.label", a) (foo)'],
  ])('%s → %s', (query, expected) => {
    expect(formatExpr(parseExpr(query))).toBe(expected);
  });

  it.each(ROUND_TRIP)('round trip: %s', (query) => {
    const parsed = parseExpr(query);
    const again = parseExpr(formatExpr(parsed));
    expect(normalize(again)).toEqual(normalize(parsed));
    // Formatting is a fixed point after one round.
    expect(formatExpr(again)).toBe(formatExpr(parsed));
  });

  it('has a corpus of about 100 queries', () => {
    expect(ROUND_TRIP.length).toBeGreaterThanOrEqual(100);
  });
});

describe('hostile input', () => {
  /** Runs the query and returns the outcome; the test fails if it takes too long. */
  function outcome(query: string, maxMs = 3000): 'ok' | string {
    const t0 = performance.now();
    let result: string;
    try {
      parseExpr(query);
      result = 'ok';
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      result = err.message;
    }
    expect(performance.now() - t0).toBeLessThan(maxMs);
    return result;
  }

  it('refuses 10,000 nested parentheses with a nesting error', () => {
    expect(outcome('('.repeat(10_000) + '1' + ')'.repeat(10_000))).toContain('expression nesting is deeper than 256 levels');
    expect(outcome('('.repeat(10_000))).toContain('parse error');
  });

  it('accepts moderate nesting', () => {
    expect(outcome('('.repeat(200) + '1' + ')'.repeat(200))).toBe('ok');
    expect(outcome(Array(200).fill('foo').join(' + '))).toBe('ok');
    expect(outcome('abs('.repeat(100) + 'foo' + ')'.repeat(100))).toBe('ok');
  });

  it('refuses 100,000-element operator chains without overflowing the stack', () => {
    expect(outcome(Array(100_000).fill('1').join(' + '))).toContain('expression nesting is deeper than 256 levels');
    expect(outcome(Array(100_000).fill('2').join('^'))).toContain('expression nesting is deeper than 256 levels');
    expect(outcome('-'.repeat(100_000) + '1')).toContain('expression nesting is deeper than 256 levels');
    expect(outcome('abs('.repeat(5000) + 'x' + ')'.repeat(5000))).toContain('expression nesting is deeper than 256 levels');
  });

  it('handles megabyte inputs', () => {
    expect(outcome('"' + 'a'.repeat(1 << 20) + '"')).toBe('ok');
    expect(outcome('foo{a="' + 'x'.repeat(1 << 20) + '"}')).toBe('ok');
    expect(outcome('1 #' + 'x'.repeat(1 << 20))).toBe('ok');
    expect(outcome('foo ' + '} ] ) ( [ {'.repeat(100_000))).toContain("1:5: parse error: unexpected character: '}'");
    expect(outcome('foo '.repeat(250_000))).toBe('1:5: parse error: unexpected identifier "foo"');
    expect(outcome(', '.repeat(500_000))).toContain('parse error');
    expect(outcome('foo{' + Array.from({ length: 50_000 }, (_, i) => `a${i}="b"`).join(',') + '}')).toBe('ok');
    expect(outcome('label_join(x' + ', "a"'.repeat(100_000) + ')')).toBe('ok');
  });

  it('handles NUL bytes and lone surrogates', () => {
    expect(outcome('foo\u0000')).toContain('unexpected character');
    expect(parseExpr('"a\u0000b"')).toEqual(str('a\u0000b'));
    expect(parseExpr('foo{a="\ud800"}')).toEqual(sel('foo', [{ name: 'a', type: '=', value: '\ufffd' }]));
    expect(outcome('\udfff')).toContain('unexpected character');
  });

  it('never throws anything but ParseError on pseudo-random input', () => {
    const alphabet = ['foo', 'sum', 'by', '(', ')', '{', '}', '[', ']', '5m', ':', ',', '"a"', 'a', '=', '=~', '!=', '+', '-', '*', '^', '@', 'offset', 'bool', 'on', 'group_left', '1', 'rate', ' ', '#', '\n', 'Inf', "'", '`', '\\', '.'];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      const q = Array.from({ length: 1 + rand(12) }, () => alphabet[rand(alphabet.length)]).join('');
      outcome(q, 1000);
    }
  });
});
