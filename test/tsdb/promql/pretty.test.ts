import { describe, expect, it } from 'vitest';
import { PRETTY_LINE_LIMIT, formatExpr, prettyExpr } from '../../../src/tsdb/promql/format-expr.js';
import { parseExpr } from '../../../src/tsdb/promql/parser.js';
import { normalizeMatchers as normalize } from './normalize-ast.js';

/** The lines joined with newlines: keeps the expected layouts readable. */
const lines = (...ls: string[]): string => ls.join('\n');

// Expected layouts follow Prometheus' prettier_test.go, which splits at 10 characters so that
// short queries show the layout; PRETTY_LINE_LIMIT (100) is what format_query uses.
const AT_10: Array<[string, string]> = [
  // Fits: the one-line form.
  ['sum(foo)', 'sum(foo)'],
  ['a+b', 'a + b'],
  ['(1 + 2)', '(1 + 2)'],
  ['-vector_selector', '-vector_selector'],
  ['vector_selector @ start()', 'vector_selector @ start()'],
  // Aggregations: the head, the parameter and the operand each on their own line.
  ['sum (task:errors:rate10s{job="s"}) by(job,foo)', lines('sum by (job, foo) (', '  task:errors:rate10s{job="s"}', ')')],
  ['sum by() (task:errors:rate10s{job="s"})', lines('sum(', '  task:errors:rate10s{job="s"}', ')')],
  ['topk(10, ask:errors:rate10s{job="s"})', lines('topk(', '  10,', '  ask:errors:rate10s{job="s"}', ')')],
  [
    'sum by(job,foo) (sum(task:errors:rate10s{job="s"}) without(job,foo))',
    lines('sum by (job, foo) (', '  sum without (job, foo) (', '    task:errors:rate10s{job="s"}', '  )', ')'),
  ],
  // Binary expressions: the operator at the expression's level, the operands one level deeper.
  ['a == bool 1', lines('  a', '== bool', '  1')],
  ['foo + baar + foo_3', lines('  foo + baar', '+', '  foo_3')],
  [
    'foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4',
    lines('      foo_1', '    + ignoring (foo)', '      foo_2', '  + ignoring (job) group_left ()', '    foo_3', '+ on (instance) group_right ()', '  foo_4'),
  ],
  // Calls: one argument per line.
  ['histogram_quantile(0.9, rate(foo[1m]))', lines('histogram_quantile(', '  0.9,', '  rate(', '    foo[1m]', '  )', ')')],
  [
    'label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*")',
    lines('label_replace(', '  up{job="api-server",service="a:c"},', '  "foo",', '  "$1",', '  "service",', '  "(.*):.*"', ')'),
  ],
  // Subqueries: the operand split, the range and modifiers after its last line.
  [
    'max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m)',
    lines('max_over_time(', '  rate(', '    demo_api_request_duration_seconds_count[1m]', '  )[1m:] @ start() offset 1m', ')'),
  ],
  ['rate(long_vector_selector[10m:1m] @ start() offset 1m)', lines('rate(', '  long_vector_selector[10m:1m] @ start() offset 1m', ')')],
  // Parentheses.
  ['((_foo_long_))', lines('(', '  (', '    _foo_long_', '  )', ')')],
  ['((foo_long + bar_long) + bar_2_long)', lines('(', '    (', '        foo_long', '      +', '        bar_long', '    )', '  +', '    bar_2_long', ')')],
  // Unary: the operator replaces the operand's first indentation.
  ['(-vector_selector)', lines('(', '  -vector_selector', ')')],
  ['-histogram_quantile(0.9, -rate(foo[1m] @ start()))', lines('-histogram_quantile(', '  0.9,', '  -rate(', '    foo[1m] @ start()', '  )', ')')],
  // A larger one (a monitoring mixin alert).
  [
    '(count by (job) (changes(process_start_time_seconds{job="alertmanager"}[10m]) > 4) / count by (job) (up{job="alertmanager"})) >= 0.5',
    lines(
      '  (',
      '      count by (job) (',
      '          changes(',
      '            process_start_time_seconds{job="alertmanager"}[10m]',
      '          )',
      '        >',
      '          4',
      '      )',
      '    /',
      '      count by (job) (',
      '        up{job="alertmanager"}',
      '      )',
      '  )',
      '>=',
      '  0.5',
    ),
  ],
];

describe('prettyExpr', () => {
  it.each(AT_10)('%s (10 characters a line)', (query, expected) => {
    expect(prettyExpr(parseExpr(query), 10)).toBe(expected);
  });

  it('splits at 100 characters by default', () => {
    expect(PRETTY_LINE_LIMIT).toBe(100);
    const fits = `sum by (job) (rate(${'x'.repeat(100 - 'sum by (job) (rate([5m]))'.length)}[5m]))`;
    expect(fits).toHaveLength(100);
    expect(prettyExpr(parseExpr(fits))).toBe(fits);
    const long = fits.replace('xx', 'xxx');
    expect(prettyExpr(parseExpr(long))).toBe(lines('sum by (job) (', `  rate(${'x'.repeat(76)}[5m])`, ')'));
  });

  it('counts UTF-8 bytes, as Go does', () => {
    // é is one UTF-16 unit and two bytes, 😀 two units and four bytes: 99 units, 102 bytes.
    const base = 'foo{a="é😀"} + 1';
    const query = `foo{a="é😀${'x'.repeat(99 - base.length)}"} + 1`;
    expect(query.length).toBeLessThanOrEqual(100);
    expect(Buffer.byteLength(query)).toBeGreaterThan(100);
    expect(prettyExpr(parseExpr(query))).toBe(lines(`  ${query.slice(0, -4)}`, '+', '  1'));
  });

  it('leaves a subquery that fits unindented, as Prometheus does', () => {
    expect(prettyExpr(parseExpr('max_over_time(foo[5m:1m]) + another_long_name'), 20)).toBe(
      lines('  max_over_time(', 'foo[5m:1m]', '  )', '+', '  another_long_name'),
    );
  });

  it('prints group_left with no labels (ignoring () group_left ())', () => {
    expect(formatExpr(parseExpr('a + ignoring() group_left b'))).toBe('a + ignoring () group_left () b');
    expect(formatExpr(parseExpr('a + on("x.y") b'))).toBe('a + on ("x.y") b');
  });
});


const CORPUS = [
  'foo', 'foo:bar', '{"my.metric", a="b"}', '{__name__=~"a.*"}', 'foo{a="b",c=~"d|e",f!="g",h!~"i"}', 'foo{"la.bel"="x"}',
  'foo{a="quote\\"and\\\\backslash\\n"}', 'foo{a="é😀"}', 'foo @ end() offset 1d', 'foo[5m] @ 1609746000', 'foo[5m:30s] offset 1m @ start()',
  'rate(foo[5m])[30m:1m]', 'max_over_time(deriv(rate(foo[1m])[5m:1m])[10m:])', '-1', '1.5e-7', 'Inf', 'NaN', '"s"',
  '1 - -1', '-1 ^ 2', '2 ^ 3 ^ 2', '(2 ^ 3) ^ 2', '-(1 + 2)', '- -foo', '+foo', '1 + 2 * 3', '(1 + 2) * 3', '-a ^ b', '-(a + b) * c',
  'foo / on(a) group_left(b) bar', 'foo / on(a) group_right() bar', 'a + ignoring() group_left b', 'foo == bool on(a) bar',
  'foo and bar or baz unless qux', 'foo atan2 bar', 'sum without (a, b) (foo)', 'avg by () (foo)', 'sum by ("my.label") (foo)',
  'bottomk by (a) (2, foo)', 'quantile(0.99, foo)', 'count_values("value", foo)', 'limit_ratio(-0.5, foo)',
  'histogram_quantile(0.9, sum by (le) (rate(foo_bucket[5m])))', 'label_join(foo, "dst", ",", "a", "b")', 'time()', 'vector(1)',
  'info(foo, {a="b"})', 'a + b @ 10 offset 5m', '-a offset 1m', 'max_over_time((-rate(foo[5m]))[10m:])', 'sum(rate(foo[5m])) / sum(rate(bar[5m]))',
  '(foo + bar) * on(a) group_left(b) baz', '-sum by (job) (rate(x[5m]))', 'sum_over_time((-foo)[5m:] offset 1m)',
  '(node_filesystem_avail_bytes{job="node",fstype!=""} / node_filesystem_size_bytes{job="node",fstype!=""} * 100 < 40 and predict_linear(node_filesystem_avail_bytes{job="node",fstype!=""}[6h], 24*60*60) < 0 and node_filesystem_readonly{job="node",fstype!=""} == 0)',
  '(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)',
  '1 - ((node_memory_MemAvailable_bytes{job="node"} or (node_memory_Buffers_bytes{job="node"} + node_memory_Cached_bytes{job="node"} + node_memory_MemFree_bytes{job="node"} + node_memory_Slab_bytes{job="node"}) ) / node_memory_MemTotal_bytes{job="node"})',
  'min by (job, integration) (rate(alertmanager_notifications_failed_total{job="alertmanager", integration=~".*"}[5m]) / rate(alertmanager_notifications_total{job="alertmanager", integration="~.*"}[5m])) > 0.01',
  'sum by (namespace, pod) (max without (instance) (kube_pod_container_resource_requests{resource="cpu"} * on (namespace, pod) group_left (node) topk by (namespace, pod) (1, kube_pod_info{node!=""})))',
  'quantile_over_time(0.99, (sum by (le) (rate(http_request_duration_seconds_bucket{handler="/api/v1/query", code=~"2.."}[5m])))[1h:5m] @ end() offset 10m)',
];

describe('prettyExpr round trip', () => {
  it.each(CORPUS)('%s', (query) => {
    const parsed = normalize(parseExpr(query));
    for (const limit of [PRETTY_LINE_LIMIT, 40, 10, 0]) {
      const text = prettyExpr(parseExpr(query), limit);
      expect(normalize(parseExpr(text)), `limit ${limit}:\n${text}`).toEqual(parsed);
      // No trailing whitespace, and a fitting expression is its one-line form.
      expect(text).not.toMatch(/[ \t]$/m);
    }
    const flat = formatExpr(parseExpr(query));
    if (Buffer.byteLength(flat) <= PRETTY_LINE_LIMIT) expect(prettyExpr(parseExpr(query))).toBe(flat);
  });

  it('has a corpus of about 60 queries, several of them split at 100 characters', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(CORPUS.filter((q) => prettyExpr(parseExpr(q)).includes('\n')).length).toBeGreaterThanOrEqual(5);
  });
});
