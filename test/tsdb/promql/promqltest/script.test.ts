// The promqltest harness' own pieces: script parsing, series notation, result comparison and the
// step-invariance rewrite. Expected values are written out by hand from the format's rules.
import { describe, expect, it } from 'vitest';
import type { Expr, VectorSelector } from '../../../../src/tsdb/promql/ast.js';
import { pinAt, selectorWindows, selectorsOf, stepInvarianceTimes, seriesMatches } from './ast-walk.js';
import { almostEqualAt, compareResult, formatLabels, vectorAt } from './compare.js';
import { customBucketHistogramSeries } from './loader.js';
import { checkAnnotations } from './annotations.js';
import { isStaleNaN, parseScalarLine, parseScript, parseScriptDuration, parseSequence, parseSeriesLine, setStaleNaN, unquoteString, type EvalCommand, type LoadCommand } from './script.js';

const values = (s: string): Array<number | '_' | 'stale'> => {
  const q = parseSequence(s);
  return Array.from(q.values, (v, i) => (q.present[i] === 0 ? '_' : isStaleNaN(q.values, i) ? 'stale' : v));
};

describe('series notation', () => {
  it('expands a+bxn to n+1 values and axn to n+1 copies', () => {
    expect(values('0+10x3')).toEqual([0, 10, 20, 30]);
    expect(values('5x2')).toEqual([5, 5, 5]);
    expect(values('10-2x2')).toEqual([10, 8, 6]);
    expect(values('-2+1x2')).toEqual([-2, -1, 0]);
  });

  it('adds the increment step by step as Prometheus does', () => {
    // 0.1 added ten times is 0.9999999999999999, while 10 * 0.1 is exactly 1.
    expect(values('0+0.1x10')[10]).toBe(0.9999999999999999);
  });

  it('reads gaps, stale markers, Inf and NaN', () => {
    expect(values('1 _ stale 2 _x3 Inf -Inf')).toEqual([1, '_', 'stale', 2, '_', '_', '_', Infinity, -Infinity]);
    expect(Number.isNaN(values('NaN')[0])).toBe(true);
    expect(values('1e3 12.34e-6 .5')).toEqual([1000, 12.34e-6, 0.5]);
  });

  it('keeps the stale marker bits 0x7ff0000000000002', () => {
    const q = parseSequence('stale 1 NaN');
    const bits = new DataView(q.values.buffer).getBigUint64(0, true);
    expect(bits).toBe(0x7ff0000000000002n);
    expect(isStaleNaN(q.values, 2)).toBe(false);
  });

  it('flags native histogram literals and keeps their slots', () => {
    const q = parseSequence('1 {{schema:0 sum:1 count:1 buckets:[1]}} {{count:1}}+{{count:2}}x2 3');
    expect(q.histogram).toBe(true);
    expect(q.histogramSlots).toEqual([1, 2, 3, 4]);
    expect(q.values.length).toBe(6);
    expect(Array.from(q.present)).toEqual([1, 0, 0, 0, 0, 1]);
  });

  it('rejects malformed values', () => {
    expect(() => parseSequence('1+2')).toThrow(/increment but no repetition/);
    expect(() => parseSequence('abc')).toThrow(/invalid series value/);
  });

  it('parses label sets, quoted names and escapes, dropping empty values', () => {
    const s = parseSeriesLine(`foo{b="x\\"y", a='1', c=""} 1`, 7);
    expect(s.labels).toEqual([
      ['__name__', 'foo'],
      ['a', '1'],
      ['b', 'x"y'],
    ]);
    expect(s.line).toBe(7);
    expect(parseSeriesLine('{"my.metric", job="j"} 2', 1).labels).toEqual([
      ['__name__', 'my.metric'],
      ['job', 'j'],
    ]);
    expect(parseSeriesLine('{} 3', 1).labels).toEqual([]);
    expect(() => parseSeriesLine('foo{a="1"', 1)).toThrow(/line 1/);
  });

  it('unquotes Go strings', () => {
    expect(unquoteString('"a\\tb\\u00e9\\x41"')).toBe('a\tbéA');
    expect(unquoteString('`raw\\n`')).toBe('raw\\n');
  });
});

describe('durations and scalars', () => {
  it('parses script durations', () => {
    expect(parseScriptDuration('0')).toBe(0);
    expect(parseScriptDuration('5m')).toBe(300_000);
    expect(parseScriptDuration('10s53ms')).toBe(10_053);
    expect(parseScriptDuration('1h30m')).toBe(5_400_000);
    expect(parseScriptDuration('2d')).toBe(172_800_000);
    expect(() => parseScriptDuration('5x')).toThrow();
    expect(() => parseScriptDuration('m5')).toThrow();
  });

  it('recognises a bare number line as a scalar', () => {
    expect(parseScalarLine('-0.0000002')).toBe(-0.0000002);
    expect(parseScalarLine('0x10')).toBe(16);
    expect(parseScalarLine('-Inf')).toBe(-Infinity);
    expect(Number.isNaN(parseScalarLine('NaN'))).toBe(true);
    expect(parseScalarLine('{} 1')).toBeUndefined();
    expect(parseScalarLine('foo')).toBeUndefined();
  });
});

const SCRIPT = `
# comment
load 5m
  http_requests{job="a"} 0+10x2
  http_requests{job="b"} 1 _ 3

eval instant at 10m http_requests
  http_requests{job="a"} 20
  http_requests{job="b"} 3

eval range from 0 to 10m step 5m sum(http_requests)
  {} 1 10 23

eval_fail instant at 0m foo / on() bar
  expected_fail_message found duplicate series

eval_ordered instant at 5m sort(http_requests)
  http_requests{job="a"} 10

eval instant at 1m 3.5
  3.5

clear

eval instant at 0 foo
  expect warn msg: something odd
  expect info regex: ^PromQL info
  expect no_warn

eval instant at 1m rate(x[1m])
  expect range vector from 0 to 1m step 30s
  x 1 _ 3

eval instant at 0 "hi"
  expect string "hi"
`;

describe('script commands', () => {
  it('parses loads, evals, expectations and clears with 1-based lines', () => {
    let cmds: ReturnType<typeof parseScript> | undefined;
    expect(() => (cmds = parseScript(SCRIPT))).toThrow(/warn and no_warn cannot be used together/);
    cmds = parseScript(SCRIPT.replace('  expect no_warn\n', '  expect no_info\n').replace('expect info regex', 'expect warn regex'));
    expect(cmds.map((c) => c.kind)).toEqual(['load', 'eval', 'eval', 'eval', 'eval', 'eval', 'clear', 'eval', 'eval', 'eval']);
    const load = cmds[0] as LoadCommand;
    expect(load).toMatchObject({ line: 3, intervalMs: 300_000, withNhcb: false });
    expect(load.series.map((s) => s.line)).toEqual([4, 5]);

    const [inst, rng, fail, ordered, scalar, anno, rv, str] = cmds.filter((c): c is EvalCommand => c.kind === 'eval');
    expect(inst).toMatchObject({ line: 7, expr: 'http_requests', atMs: 600_000 });
    expect(inst!.range).toBeUndefined();
    expect(inst!.expectedSeries.map((s) => [s.pos, s.values[0]])).toEqual([
      [1, 20],
      [2, 3],
    ]);
    expect(rng!.range).toEqual({ startMs: 0, endMs: 600_000, stepMs: 300_000 });
    expect(rng!.expr).toBe('sum(http_requests)');
    expect(fail).toMatchObject({ fail: true, failMessage: 'found duplicate series', expr: 'foo / on() bar' });
    expect(ordered).toMatchObject({ ordered: true, atMs: 300_000 });
    expect(scalar!.expectedScalar).toBe(3.5);
    expect(anno!.expectWarn).toHaveLength(2);
    expect(anno!.expectWarn[0]).toEqual({ kind: 'msg', message: 'something odd' });
    expect(anno!.expectNoInfo).toBe(true);
    expect(rv!.expectRange).toEqual({ startMs: 0, endMs: 60_000, stepMs: 30_000 });
    expect(rv!.atMs).toBe(60_000);
    expect(str!.expectedString).toBe('hi');
  });

  it('refuses multiple values for an instant eval and unknown commands', () => {
    expect(() => parseScript('eval instant at 0 foo\n  foo 1 2\n')).toThrow(/multiple values/);
    expect(() => parseScript('evaluate foo\n')).toThrow(/invalid evaluation command/);
    expect(() => parseScript('frobnicate\n')).toThrow(/invalid command/);
  });

  it('derives the native histograms load_with_nhcb adds', () => {
    const [load] = parseScript('load_with_nhcb 1m\n  h_bucket{le="1",job="j"} 1\n  h_bucket{le="+Inf",job="j"} 2\n  h_count{job="j"} 2\n  other 1\n') as [LoadCommand];
    expect(load.withNhcb).toBe(true);
    expect(customBucketHistogramSeries(load)).toEqual([
      {
        labels: [
          ['__name__', 'h'],
          ['job', 'j'],
        ],
        timestamps: [0],
      },
    ]);
  });
});

describe('result comparison', () => {
  const f = (...v: number[]): Float64Array => Float64Array.from(v);
  const stale = (): Float64Array => {
    const a = new Float64Array(1);
    setStaleNaN(a, 0);
    return a;
  };

  it('uses a relative epsilon of 1e-6, NaN equals NaN, stale only equals stale', () => {
    expect(almostEqualAt(f(1), 0, f(1 + 1e-7), 0)).toBe(true);
    expect(almostEqualAt(f(1), 0, f(1 + 1e-5), 0)).toBe(false);
    expect(almostEqualAt(f(0), 0, f(1e-300), 0)).toBe(false);
    expect(almostEqualAt(f(NaN), 0, f(NaN), 0)).toBe(true);
    expect(almostEqualAt(stale(), 0, f(NaN), 0)).toBe(false);
    expect(almostEqualAt(stale(), 0, stale(), 0)).toBe(true);
    expect(almostEqualAt(f(Infinity), 0, f(Infinity), 0)).toBe(true);
    expect(almostEqualAt(f(Infinity), 0, f(-Infinity), 0)).toBe(false);
  });

  const [inst, rng, , ordered] = parseScript(SCRIPT.replace('  expect no_warn\n', '')).filter((c): c is EvalCommand => c.kind === 'eval');
  const a = [['__name__', 'http_requests'] as const, ['job', 'a'] as const];
  const b = [['__name__', 'http_requests'] as const, ['job', 'b'] as const];

  it('compares instant vectors unordered, by exact label set', () => {
    expect(compareResult(inst!, { resultType: 'vector', series: [{ labels: b, value: f(3) }, { labels: a, value: f(20) }] }, undefined)).toBeUndefined();
    expect(compareResult(inst!, { resultType: 'vector', series: [{ labels: a, value: f(20) }] }, undefined)).toMatch(/expected metric http_requests\{job="b"\} with 3 not found/);
    expect(compareResult(inst!, { resultType: 'vector', series: [{ labels: a, value: f(21) }, { labels: b, value: f(3) }] }, undefined)).toMatch(/expected 20 .* but got 21/);
    expect(compareResult(inst!, { resultType: 'vector', series: [{ labels: [['job', 'a']], value: f(20) }, { labels: b, value: f(3) }] }, undefined)).toMatch(/unexpected metric \{job="a"\}/);
    expect(compareResult(inst!, { resultType: 'scalar', value: f(20) }, undefined)).toMatch(/got scalar/);
  });

  it('checks positions for ordered evals and refuses matrices there', () => {
    expect(compareResult(ordered!, { resultType: 'vector', series: [{ labels: a, value: f(10) }] }, undefined)).toBeUndefined();
    expect(compareResult(ordered!, { resultType: 'matrix', series: [] }, undefined)).toMatch(/ordered/);
  });

  it('compares matrices step by step, `_` meaning no point', () => {
    const r = rng!.range!;
    const ok = { resultType: 'matrix' as const, series: [{ labels: [], timestamps: f(0, 300_000, 600_000), values: f(1, 10, 23) }] };
    expect(compareResult(rng!, ok, r)).toBeUndefined();
    const shifted = { resultType: 'matrix' as const, series: [{ labels: [], timestamps: f(0, 300_000, 660_000), values: f(1, 10, 23) }] };
    expect(compareResult(rng!, shifted, r)).toMatch(/at t=600000 but it is at t=660000/);
    const gap = parseScript('eval range from 0 to 2m step 1m x\n  x 1 _ 3\n')[0] as EvalCommand;
    const xs = [['__name__', 'x'] as const];
    expect(compareResult(gap, { resultType: 'matrix', series: [{ labels: xs, timestamps: f(0, 120_000), values: f(1, 3) }] }, gap.range)).toBeUndefined();
    expect(compareResult(gap, { resultType: 'matrix', series: [{ labels: xs, timestamps: f(0, 60_000, 120_000), values: f(1, 2, 3) }] }, gap.range)).toMatch(/expected 2 points/);
  });

  it('requires matrices sorted by labels', () => {
    const two = parseScript('eval range from 0 to 0 step 1m x\n  x{a="2"} 1\n  x{a="1"} 1\n')[0] as EvalCommand;
    const s = (v: string): { labels: Array<readonly [string, string]>; timestamps: Float64Array; values: Float64Array } => ({
      labels: [['__name__', 'x'], ['a', v]],
      timestamps: f(0),
      values: f(1),
    });
    expect(compareResult(two, { resultType: 'matrix', series: [s('1'), s('2')] }, two.range)).toBeUndefined();
    expect(compareResult(two, { resultType: 'matrix', series: [s('2'), s('1')] }, two.range)).toMatch(/sorted/);
  });

  it('takes the middle step of a range-mode rerun', () => {
    const m = { resultType: 'matrix' as const, series: [{ labels: a, timestamps: f(0, 60_000), values: f(5, 6) }, { labels: b, timestamps: f(0), values: f(7) }] };
    const v = vectorAt(m, 60_000);
    expect(v.series).toHaveLength(1);
    expect(v.series[0]!.value[0]).toBe(6);
  });

  it('formats labels as Prometheus prints them', () => {
    expect(formatLabels(a)).toBe('http_requests{job="a"}');
    expect(formatLabels([['__name__', 'a.b']])).toBe('{__name__="a.b"}');
    expect(formatLabels([])).toBe('{}');
  });
});

describe('annotations', () => {
  const evalWith = (lines: string, mod = ''): EvalCommand => parseScript(`eval${mod} instant at 0 foo\n${lines}`)[0] as EvalCommand;

  it('eval_warn and eval_info need at least one of their kind', () => {
    expect(checkAnnotations(evalWith('', '_warn'), [], ['i'])).toMatch(/expected warnings/);
    expect(checkAnnotations(evalWith('', '_warn'), ['w'], [])).toBeUndefined();
    expect(checkAnnotations(evalWith('', '_info'), ['w'], [])).toMatch(/expected info/);
  });

  it('a plain eval tolerates annotations (as Prometheus v3.5 does)', () => {
    expect(checkAnnotations(evalWith(''), ['w'], ['i'])).toBeUndefined();
  });

  it('expect lines must match every annotation of their kind', () => {
    const e = evalWith('  expect info msg: PromQL info: x\n');
    expect(checkAnnotations(e, [], ['PromQL info: x'])).toBeUndefined();
    expect(checkAnnotations(e, [], [])).toMatch(/none were found/);
    expect(checkAnnotations(e, [], ['PromQL info: x', 'PromQL info: y'])).toMatch(/unexpected info annotation/);
    expect(checkAnnotations(evalWith('  expect no_warn\n'), ['w'], [])).toMatch(/unexpected warning/);
  });
});

describe('step-invariance rewrite', () => {
  const sel = (name: string, at?: VectorSelector['at']): VectorSelector => ({
    type: 'VectorSelector',
    name,
    matchers: [{ name: '__name__', type: '=', value: name }],
    offsetMs: 0,
    ...(at === undefined ? {} : { at }),
  });

  it('pins selectors without a numeric @, leaves numeric ones and subquery insides alone', () => {
    const e: Expr = {
      type: 'BinaryExpr',
      op: '+',
      returnBool: false,
      lhs: { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', rangeMs: 60_000, vector: sel('a') }] },
      rhs: {
        type: 'BinaryExpr',
        op: '*',
        returnBool: false,
        lhs: sel('b', { kind: 'time', ms: 5 }),
        rhs: { type: 'SubqueryExpr', expr: sel('c'), rangeMs: 60_000, stepMs: 0, offsetMs: 0, at: { kind: 'start' } },
      },
    };
    const p = pinAt(e, 1000) as Extract<Expr, { type: 'BinaryExpr' }>;
    const rate = p.lhs as Extract<Expr, { type: 'Call' }>;
    expect((rate.args[0] as Extract<Expr, { type: 'MatrixSelector' }>).vector.at).toEqual({ kind: 'time', ms: 1000 });
    const mul = p.rhs as Extract<Expr, { type: 'BinaryExpr' }>;
    expect((mul.lhs as VectorSelector).at).toEqual({ kind: 'time', ms: 5 });
    const sq = mul.rhs as Extract<Expr, { type: 'SubqueryExpr' }>;
    expect(sq.at).toEqual({ kind: 'time', ms: 1000 });
    expect((sq.expr as VectorSelector).at).toBeUndefined();
    // the original is untouched
    expect((((e.lhs as Extract<Expr, { type: 'Call' }>).args[0] as Extract<Expr, { type: 'MatrixSelector' }>).vector.at)).toBeUndefined();
    expect(selectorsOf(e).map((m) => m[0]!.value)).toEqual(['a', 'b', 'c']);
  });

  it('computes the time window each selector reads', () => {
    // max_over_time(rate(a[2m] offset 1m)[10m:1m] offset 5m) + b
    const inner: Expr = { type: 'Call', func: 'rate', args: [{ type: 'MatrixSelector', rangeMs: 120_000, vector: { ...sel('a'), offsetMs: 60_000 } }] };
    const e: Expr = {
      type: 'BinaryExpr',
      op: '+',
      returnBool: false,
      lhs: { type: 'Call', func: 'max_over_time', args: [{ type: 'SubqueryExpr', expr: inner, rangeMs: 600_000, stepMs: 60_000, offsetMs: 300_000 }] },
      rhs: sel('b', { kind: 'end' }),
    };
    const w = selectorWindows(e, 300_000);
    expect(w.map((x) => [x.matchers[0]!.value, x.backMs, x.forwardMs, x.anyTime])).toEqual([
      ['a', 300_000 + 600_000 + 60_000 + 120_000, -300_000 - 60_000, false],
      ['b', 300_000, 0, true],
    ]);
  });

  it('uses Prometheus extra evaluation times', () => {
    expect(stepInvarianceTimes(0)).toEqual([-1000, 0, 1000]);
    expect(stepInvarianceTimes(3_000)).toEqual([-30_000, 0, 600, 3_000, 30_000]);
    expect(stepInvarianceTimes(7)).toEqual([-70, 0, 1, 7, 70]);
  });

  it('matches series against selectors, absent labels as empty', () => {
    const labels = [['__name__', 'h'] as const, ['job', 'x'] as const];
    expect(seriesMatches(labels, [{ name: '__name__', type: '=~', value: 'h|g' }])).toBe(true);
    expect(seriesMatches(labels, [{ name: '__name__', type: '=~', value: 'h.+' }])).toBe(false);
    expect(seriesMatches(labels, [{ name: 'le', type: '=', value: '' }])).toBe(true);
    expect(seriesMatches(labels, [{ name: 'job', type: '!=', value: 'x' }])).toBe(false);
  });
});
