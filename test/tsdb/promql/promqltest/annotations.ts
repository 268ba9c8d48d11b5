// The harness' rules for expected errors and annotations (test.go checkExpectedFailure and
// checkAnnotations, v3.5.0): `eval_warn`/`eval_info` need one annotation of their kind; each
// `expect warn|info` line must match an annotation and every annotation of that kind must match a
// line; `expect no_warn|no_info` forbid them; otherwise annotations are not checked.

import type { EvalCommand, MessageMatcher } from './script.js';

function matcherMatchesText(m: MessageMatcher, text: string): boolean {
  if (m.kind === 'any') return true;
  if (m.kind === 'msg') return m.message === text;
  return m.regex.test(text);
}

function describeMatcher(m: MessageMatcher): string {
  return m.kind === 'msg' ? `message ${JSON.stringify(m.message)}` : m.kind === 'regex' ? `pattern ${JSON.stringify(m.source)}` : 'anything';
}

/** The annotation rules of test.go checkAnnotations; undefined when satisfied. */
export function checkAnnotations(cmd: EvalCommand, warnings: readonly string[], infos: readonly string[]): string | undefined {
  if (cmd.warn && warnings.length === 0) return 'expected warnings but got none';
  if (cmd.info && infos.length === 0) return 'expected info annotations but got none';
  const ofType = (kind: string, expected: MessageMatcher[], actual: readonly string[]): string | undefined => {
    if (expected.length === 0) return undefined;
    if (actual.length === 0) return `expected ${kind} annotations but none were found`;
    for (const e of expected) {
      if (!actual.some((a) => matcherMatchesText(e, a))) return `expected ${kind} annotation matching ${describeMatcher(e)} but found only ${JSON.stringify(actual)}`;
    }
    for (const a of actual) if (!expected.some((e) => matcherMatchesText(e, a))) return `unexpected ${kind} annotation ${JSON.stringify(a)}`;
    return undefined;
  };
  const problem = ofType('warn', cmd.expectWarn, warnings) ?? ofType('info', cmd.expectInfo, infos);
  if (problem !== undefined) return problem;
  if (cmd.expectNoWarn && warnings.length > 0) return `unexpected warning annotations: ${JSON.stringify(warnings)}`;
  if (cmd.expectNoInfo && infos.length > 0) return `unexpected info annotations: ${JSON.stringify(infos)}`;
  return undefined;
}

/** The failure-expectation rules of test.go checkExpectedFailure; undefined when satisfied. */
export function checkExpectedFailure(cmd: EvalCommand, message: string): string | undefined {
  if (cmd.failMessage !== undefined && cmd.failMessage !== message) return `expected error ${JSON.stringify(cmd.failMessage)} but got ${JSON.stringify(message)}`;
  if (cmd.failRegexp !== undefined && !cmd.failRegexp.test(message)) return `expected error matching ${cmd.failRegexp} but got ${JSON.stringify(message)}`;
  const f = cmd.expectFail[0];
  if (f !== undefined && !matcherMatchesText(f, message)) return `expected error matching ${describeMatcher(f)} but got ${JSON.stringify(message)}`;
  return undefined;
}
