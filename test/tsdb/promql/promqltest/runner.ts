// Runs promqltest scripts against Kiln's PromQL engine the way Prometheus' harness does
// (promql/promqltest/test.go, v3.5.0, facts only):
//
// * lookback 5m, at most 10,000 samples per query, subquery default step 1m; loads go into real Kiln storage (loader.ts);
// * an instant eval runs at its time T, then again with `@ T` pinned on every selector and
//   subquery that has no numeric `@` (step invariance) at the times −10T, 0, T/5, T, 10T
//   (−1s, 0, 1s when T = 0), unless the query calls a function whose result depends on the
//   evaluation time; every one of these instant queries is also run as a range query from
//   t−1m to t+1m step 1m and its middle step compared with the same expectation;
// * `eval_fail` needs a QueryError (parse errors count), with the given message if any;
// * `eval_warn` / `eval_info` need at least one warning / info annotation; `expect warn|info`
//   lines must each match an annotation and every annotation of that kind must match one;
//   `expect no_warn|no_info` forbid them.
//
// A script file is run command by command on demand (`outcome(i)`), so a vitest test per eval
// can drive it in order and a CLI can run only some evals.

import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Expr } from '../../../../src/tsdb/promql/ast.js';
import { Engine, type EngineOptions, type QueryResult } from '../../../../src/tsdb/promql/engine.js';
import { QueryError } from '../../../../src/tsdb/promql/errors.js';
import { formatExpr, parseExpr } from '../../../../src/tsdb/promql/parser.js';
import { AT_MODIFIER_UNSAFE_FUNCTIONS, RANGE_CONTEXT_FUNCTIONS, callsAnyOf, pinAt, selectorWindows, seriesMatches, stepInvarianceTimes } from './ast-walk.js';
import { compareResult, formatActual, formatExpected, formatLabels, vectorAt, type ActualValue } from './compare.js';
import { checkAnnotations, checkExpectedFailure } from './annotations.js';
import { ScriptStorage } from './loader.js';
import { isFail, isOrdered, parseScript, type Command, type EvalCommand, type TimeRange } from './script.js';

/** Where the conformance scripts live (Prometheus v3.5.0 testdata, kept out of the repo). */
export const PROMQLTEST_DIR = process.env.KILN_PROMQLTEST_DIR ?? path.resolve(import.meta.dirname, '../../../../../shared/promqltest');

export interface SkipEntry {
  file: string;
  line: number;
  expr: string;
  reason: string;
}

export type EvalStatus = 'pass' | 'fail' | 'skip';

export interface EvalOutcome {
  file: string;
  line: number;
  expr: string;
  status: EvalStatus;
  /** Why it failed: the query run, the first problem, expected and actual. Multi-line. */
  failure?: string;
  /** Skip reason. */
  reason?: string;
}

const MINUTE = 60_000;
/** Prometheus' default lookback delta, which the harness uses and the engine defaults to. */
const LOOKBACK_MS = 300_000;

/** Converts the engine's result, keeping values in Float64Arrays for the comparison. */
function toActual(r: QueryResult): ActualValue {
  const v = r.value;
  switch (v.resultType) {
    case 'scalar':
      return { resultType: 'scalar', value: Float64Array.of(v.value) };
    case 'string':
      return { resultType: 'string', value: v.value };
    case 'vector':
      return { resultType: 'vector', series: v.series.map((s) => ({ labels: s.labels, value: Float64Array.of(s.value) })) };
    case 'matrix':
      return { resultType: 'matrix', series: v.series.map((s) => ({ labels: s.labels, timestamps: s.timestamps, values: s.values })) };
  }
}

class EvalFailure extends Error {}

function describeError(err: unknown): string {
  if (err instanceof QueryError) return `${err.errorType}: ${err.message}`;
  return `NOT A QueryError (${err instanceof Error ? `${err.name}: ${err.message}${err.stack === undefined ? '' : `\n    ${err.stack.split('\n').slice(1, 4).join('\n    ').trim()}`}` : String(err)})`;
}

function safeFormat(e: Expr): string {
  try {
    return formatExpr(e);
  } catch {
    return '(formatExpr failed)';
  }
}

/** The engine settings of Prometheus' test engine (promqltest.NewTestEngine as promql_test.go calls it). */
export const HARNESS_ENGINE_OPTIONS: EngineOptions = {
  lookbackDeltaMs: 300_000,
  maxSamples: 10_000,
  timeoutMs: 100_000,
  defaultSubqueryStepMs: 60_000,
};

export interface ScriptRunnerOptions {
  engine?: Engine;
  skips?: readonly SkipEntry[];
  /** Evaluate only these evals (the rest report 'skip'); loads and clears always run. */
  select?: (cmd: EvalCommand) => boolean;
  /** Run listed skips too (to see whether they would pass). */
  ignoreSkips?: boolean;
}

/** One script file, executed in order as outcomes are asked for. */
export class ScriptRunner {
  readonly commands: Command[];
  readonly evals: EvalCommand[];
  private readonly skips = new Map<number, SkipEntry>();
  private readonly engine: Engine;
  private storage: ScriptStorage | undefined;
  private next = 0;
  private readonly outcomes = new Map<EvalCommand, EvalOutcome>();
  /** A load that failed poisons the evals after it (until the next clear). */
  private loadError: string | undefined;
  private readonly select: ((cmd: EvalCommand) => boolean) | undefined;
  private readonly ignoreSkips: boolean;

  constructor(
    readonly file: string,
    text: string,
    options: ScriptRunnerOptions = {},
  ) {
    this.commands = parseScript(text);
    this.evals = this.commands.filter((c): c is EvalCommand => c.kind === 'eval');
    this.engine = options.engine ?? new Engine(HARNESS_ENGINE_OPTIONS);
    this.select = options.select;
    this.ignoreSkips = options.ignoreSkips ?? false;
    for (const s of options.skips ?? []) if (s.file === file) this.skips.set(s.line, s);
  }

  static fromFile(file: string, options: ScriptRunnerOptions = {}): ScriptRunner {
    return new ScriptRunner(file, readFileSync(path.join(PROMQLTEST_DIR, file), 'utf8'), options);
  }

  /** The skip entry for an eval, if listed; throws when the entry names a different expression (the scripts changed). */
  skipFor(cmd: EvalCommand): SkipEntry | undefined {
    const s = this.skips.get(cmd.line);
    if (s !== undefined && s.expr !== cmd.expr) {
      throw new Error(`skip list entry ${this.file}:${s.line} names ${JSON.stringify(s.expr)} but the eval there is ${JSON.stringify(cmd.expr)}`);
    }
    return s;
  }

  /** Skip entries for lines that hold no eval. */
  staleSkips(): SkipEntry[] {
    const lines = new Set(this.evals.map((e) => e.line));
    return [...this.skips.values()].filter((s) => !lines.has(s.line));
  }

  /** Runs commands up to and including `cmd` (which must be one of this file's evals) and returns its outcome. */
  async outcome(cmd: EvalCommand): Promise<EvalOutcome> {
    const target = this.commands.indexOf(cmd);
    if (target < 0) throw new Error('not an eval of this script');
    while (this.next <= target) {
      const c = this.commands[this.next++]!;
      await this.execute(c);
    }
    return this.outcomes.get(cmd)!;
  }

  /** Runs every command; outcomes of all evals in order. */
  async runAll(): Promise<EvalOutcome[]> {
    const out: EvalOutcome[] = [];
    for (const e of this.evals) out.push(await this.outcome(e));
    return out;
  }

  async close(): Promise<void> {
    await this.storage?.close();
    this.storage = undefined;
  }

  /**
   * Native-histogram series this eval would read (a skip candidate: Kiln's TSDB stores floats
   * only), or undefined. Needs the loads before it to have run.
   */
  histogramUse(cmd: EvalCommand): string | undefined {
    if (cmd.expectsHistogram) return 'expects a native histogram result';
    const hs = this.storage?.histogramSeries ?? [];
    if (hs.length === 0) return undefined;
    let expr: Expr;
    try {
      expr = parseExpr(cmd.expr);
    } catch {
      return undefined;
    }
    // An instant eval is also run as a range query one minute either side (its pinned variants read at the eval time).
    const slack = cmd.range === undefined ? MINUTE : 0;
    const from = (cmd.range?.startMs ?? cmd.atMs) - slack;
    const to = (cmd.range?.endMs ?? cmd.atMs) + slack;
    for (const w of selectorWindows(expr, LOOKBACK_MS)) {
      for (const h of hs) {
        if (!seriesMatches(h.labels, w.matchers)) continue;
        const lo = from - w.backMs;
        const hi = to + w.forwardMs;
        if (w.anyTime || h.timestamps.some((t) => t >= lo && t <= hi)) return `reads native histogram samples of ${formatLabels(h.labels)}`;
      }
    }
    return undefined;
  }

  private async execute(c: Command): Promise<void> {
    this.storage ??= await ScriptStorage.open();
    switch (c.kind) {
      case 'clear':
        this.storage.clear();
        this.loadError = undefined;
        return;
      case 'load':
        try {
          await this.storage.load(c);
        } catch (err) {
          this.loadError = (err as Error).message;
        }
        return;
      case 'eval':
        this.outcomes.set(c, await this.evaluate(c));
        return;
    }
  }

  private async evaluate(cmd: EvalCommand): Promise<EvalOutcome> {
    const base = { file: this.file, line: cmd.line, expr: cmd.expr };
    const skip = this.skipFor(cmd);
    if (skip !== undefined && !this.ignoreSkips) return { ...base, status: 'skip', reason: skip.reason };
    if (this.select !== undefined && !this.select(cmd)) return { ...base, status: 'skip', reason: 'not selected' };
    if (this.loadError !== undefined) return { ...base, status: 'fail', failure: `load failed: ${this.loadError}` };
    try {
      if (cmd.range !== undefined) await this.rangeEval(cmd, cmd.range);
      else await this.instantEval(cmd);
      return { ...base, status: 'pass' };
    } catch (err) {
      if (!(err instanceof EvalFailure)) throw err;
      const hint = this.histogramUse(cmd);
      return { ...base, status: 'fail', failure: err.message + (hint === undefined ? '' : `\n  note: ${hint} (not loaded: Kiln stores floats only)`) };
    }
  }

  private fail(cmd: EvalCommand, query: string, problem: string, actual?: ActualValue): never {
    const lines = [`  query:    ${query}`, `  problem:  ${problem}`];
    if (actual !== undefined) lines.push(`  expected: ${formatExpected(cmd)}`, `  actual:   ${formatActual(actual)}`);
    throw new EvalFailure(lines.join('\n'));
  }

  private async rangeEval(cmd: EvalCommand, r: TimeRange): Promise<void> {
    const query = `range ${r.startMs}..${r.endMs} step ${r.stepMs}: ${cmd.expr}`;
    let res: QueryResult;
    try {
      res = await this.engine.rangeQuery(this.storage!.querier(), cmd.expr, r.startMs, r.endMs, r.stepMs);
    } catch (err) {
      if (isFail(cmd) && err instanceof QueryError) {
        const p = checkExpectedFailure(cmd, err.message);
        if (p !== undefined) this.fail(cmd, query, p);
        return;
      }
      this.fail(cmd, query, `error: ${describeError(err)}`);
    }
    if (isFail(cmd)) this.fail(cmd, query, 'expected an error but got none', toActual(res));
    const annotations = checkAnnotations(cmd, res.warnings, res.infos);
    if (annotations !== undefined) this.fail(cmd, query, `${annotations} (warnings ${JSON.stringify(res.warnings)}, infos ${JSON.stringify(res.infos)})`);
    const actual = toActual(res);
    const problem = compareResult(cmd, actual, r);
    if (problem !== undefined) this.fail(cmd, query, problem, actual);
  }

  private async instantEval(cmd: EvalCommand): Promise<void> {
    const runs: Array<{ query: string | Expr; text: string; timeMs: number }> = [{ query: cmd.expr, text: cmd.expr, timeMs: cmd.atMs }];
    let parsed: Expr | undefined;
    try {
      parsed = parseExpr(cmd.expr);
    } catch {
      parsed = undefined; // the plain run reports the parse error
    }
    if (parsed !== undefined && !callsAnyOf(parsed, AT_MODIFIER_UNSAFE_FUNCTIONS)) {
      const pinned = pinAt(parsed, cmd.atMs);
      const text = safeFormat(pinned);
      for (const t of stepInvarianceTimes(cmd.atMs)) runs.push({ query: pinned, text, timeMs: t });
    }
    const rangeMode = parsed === undefined || !callsAnyOf(parsed, RANGE_CONTEXT_FUNCTIONS);
    for (const run of runs) await this.instantRun(cmd, run.query, run.text, run.timeMs, rangeMode && cmd.expectedString === undefined && cmd.expectRange === undefined);
  }

  private async instantRun(cmd: EvalCommand, query: string | Expr, text: string, timeMs: number, rangeMode: boolean): Promise<void> {
    const label = `instant at ${timeMs}: ${text}`;
    let res: QueryResult;
    try {
      res = await this.engine.instantQuery(this.storage!.querier(), query, timeMs);
    } catch (err) {
      if (isFail(cmd) && err instanceof QueryError) {
        const p = checkExpectedFailure(cmd, err.message);
        if (p !== undefined) this.fail(cmd, label, p);
        return;
      }
      this.fail(cmd, label, `error: ${describeError(err)}`);
    }
    if (isFail(cmd)) this.fail(cmd, label, 'expected an error but got none', toActual(res));
    const annotations = checkAnnotations(cmd, res.warnings, res.infos);
    if (annotations !== undefined) this.fail(cmd, label, `${annotations} (warnings ${JSON.stringify(res.warnings)}, infos ${JSON.stringify(res.infos)})`);
    const actual = toActual(res);
    const problem = compareResult(cmd, actual, cmd.expectRange);
    if (problem !== undefined) this.fail(cmd, label, problem, actual);
    if (!rangeMode) return;

    // The same query as a range query around the instant must give the same result at its middle step.
    const rangeLabel = `range ${timeMs - MINUTE}..${timeMs + MINUTE} step ${MINUTE} (middle step compared): ${text}`;
    let rangeRes: QueryResult;
    try {
      rangeRes = await this.engine.rangeQuery(this.storage!.querier(), query, timeMs - MINUTE, timeMs + MINUTE, MINUTE);
    } catch (err) {
      this.fail(cmd, rangeLabel, `error in range mode: ${describeError(err)}`);
    }
    if (isOrdered(cmd)) return; // range results are sorted by labels, not in the expected order
    const matrix = toActual(rangeRes);
    if (matrix.resultType !== 'matrix') this.fail(cmd, rangeLabel, `range query returned a ${matrix.resultType}`, matrix);
    const middle = vectorAt(matrix, timeMs);
    let asInstant: ActualValue = middle;
    if (actual.resultType === 'scalar') {
      if (middle.series.length === 0) this.fail(cmd, rangeLabel, 'range query of a scalar has no point at the middle step', matrix);
      asInstant = { resultType: 'scalar', value: middle.series[0]!.value };
    }
    const rangeProblem = compareResult(cmd, asInstant, undefined);
    if (rangeProblem !== undefined) this.fail(cmd, rangeLabel, rangeProblem, asInstant);
  }
}

/** The script files present, sorted. */
export function scriptFiles(dir = PROMQLTEST_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test'))
    .sort();
}
