// PromQL text → ast.ts syntax tree, with Prometheus' type checks and error messages.
//
// 1. lexer.ts scans the query like Prometheus' lexer; its first lexical error (`unclosed left
//    parenthesis`, `unterminated quoted string`, ...) is reported in Prometheus' words.
// 2. @prometheus-io/lezer-promql (the grammar of Prometheus' own UI) parses the query. It recovers
//    from syntax errors by inserting error nodes; the first one becomes `unexpected <token>`.
// 3. The concrete tree is converted to ast.ts nodes, applying the checks Prometheus' grammar
//    actions make (offset/@ placement, ranges only on selectors, durations > 0, unknown functions,
//    regexes), then the tree is type-checked as promql/parser/parse.go checkAST does.
//
// Errors are ParseError with Prometheus' format `<line>:<col>: parse error: <message>`, the column
// counted in UTF-8 bytes. Every input either parses or throws ParseError; nesting deeper than
// MAX_NESTING_DEPTH is refused so that nothing downstream recurses itself into a stack overflow.

import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type {
  AggregateExpr,
  AggregateOp,
  AtModifier,
  BinaryExpr,
  BinaryOp,
  Expr,
  MatrixSelector,
  SubqueryExpr,
  ValueType,
  VectorSelector,
} from './ast.js';
import { typeOf } from './ast.js';
import type { LabelMatcher } from '../storage.js';
import { ParseError } from './errors.js';
import { parseDuration } from './duration.js';
import { functionSignature } from './function-signatures.js';
import { describeToken, scan, unquoteString, type Token } from './lexer.js';
import { compilePromRegex } from './regex.js';

export { formatExpr } from './format-expr.js';

type Tree = ReturnType<typeof lezerParser.parse>;
type SyntaxNode = Tree['topNode'];

const strictParser = lezerParser.configure({ strict: true });

/**
 * Deepest expression nesting accepted: parentheses, calls, and operands of one operator chain
 * (`a + b + c` nests two deep). Lezer itself gives up at a few hundred left-associative operators
 * or a few thousand parentheses; a limit below both gives one clear message, and keeps the
 * recursive evaluation of the tree far from the stack limit.
 */
export const MAX_NESTING_DEPTH = 256;

/** Lezer nodes of modifiers written after their operand. */
const POSTFIX_NODES = new Set(['MatrixSelector', 'SubqueryExpr', 'OffsetExpr', 'StepInvariantExpr', 'AnchoredExpr', 'SmoothedExpr']);

/** Lezer node names that become ast.ts expressions (for the nesting depth). */
const EXPR_NODES = new Set([
  'AggregateExpr', 'BinaryExpr', 'FunctionCall', 'MatrixSelector', 'NumberDurationLiteral', 'OffsetExpr', 'ParenExpr',
  'StringLiteral', 'SubqueryExpr', 'UnaryExpr', 'VectorSelector', 'StepInvariantExpr',
]);

const METRIC_NAME = '__name__';

/** Prometheus' names for value types in messages (DocumentedType). */
export function documentedType(t: ValueType | 'none'): string {
  switch (t) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return t;
  }
}

/** `line:col` of a UTF-16 offset, counting columns in UTF-8 bytes as Prometheus does. */
function position(query: string, pos: number): string {
  if (query === '') return 'unknown position';
  let line = 1;
  let lineStart = 0;
  for (let i = query.indexOf('\n'); i >= 0 && i < pos; i = query.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `${line}:${utf8Length(query.slice(lineStart, pos)) + 1}`;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const BINARY_OPS: Record<string, BinaryOp> = {
  Pow: '^',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Atan2: 'atan2',
  Add: '+',
  Sub: '-',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

const COMPARISON_OPS = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);
const AGGREGATORS_WITH_PARAM = new Set<AggregateOp>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);

/** Parses and type-checks a PromQL expression. Throws ParseError. */
export function parseExpr(query: string): Expr {
  // A JavaScript string may hold lone surrogates, which have no UTF-8 form; a UTF-8 decoder would
  // have made them U+FFFD, so do the same.
  return new Parser(query.replace(/\p{Surrogate}/gu, '\ufffd')).parse();
}

interface Span {
  from: number;
  to: number;
}

class Parser {
  private tokens: Token[] = [];
  /** Source spans of the nodes built, for error positions in the type check. */
  private readonly spans = new WeakMap<Expr, Span>();

  constructor(private readonly query: string) {}

  private fail(pos: number, message: string): never {
    throw new ParseError(`${position(this.query, pos)}: parse error: ${message}`);
  }

  parse(): Expr {
    const { tokens, error: lexError } = scan(this.query);
    this.tokens = tokens;
    if (!lexError && tokens[0]!.kind === 'eof') this.fail(0, 'no expression found in input');

    // Lezer only needs the text before a lexical error. It runs in strict mode: the first syntax
    // error ends the parse at once (error recovery on long garbage takes seconds), and the message
    // is built from the tokens around it.
    const text = lezerText(lexError ? this.query.slice(0, lexError.pos) : this.query, tokens);
    let tree: Tree | undefined;
    let errorAt = 0;
    try {
      tree = strictParser.parse(text);
    } catch (err) {
      errorAt = Number(/No parse at (\d+)/.exec((err as Error).message)?.[1] ?? 0);
    }
    if (!tree) {
      // Lezer also stops at its own limits (a few hundred operators in a chain, a few thousand
      // parentheses), which are past ours.
      if (nestingEstimate(this.tokens, errorAt) > MAX_NESTING_DEPTH) this.fail(errorAt, `expression nesting is deeper than ${MAX_NESTING_DEPTH} levels`);
      if (lexError && errorAt >= text.length) this.fail(lexError.pos, lexError.message);
      this.syntaxError(errorAt);
    }
    if (lexError) this.fail(lexError.pos, lexError.message);

    // The nesting depth of expressions, found iteratively.
    let depth = 0;
    const cursor = tree.cursor();
    const entered: boolean[] = [];
    for (;;) {
      const isExpr = EXPR_NODES.has(cursor.name);
      if (isExpr && depth + 1 > MAX_NESTING_DEPTH) this.fail(cursor.from, `expression nesting is deeper than ${MAX_NESTING_DEPTH} levels`);
      if (cursor.firstChild()) {
        entered.push(isExpr);
        if (isExpr) depth++;
        continue;
      }
      let moved = false;
      while (!moved) {
        if (cursor.nextSibling()) moved = true;
        else if (cursor.parent()) depth -= entered.pop() ? 1 : 0;
        else break;
      }
      if (!moved) break;
    }

    const exprs = children(tree.topNode);
    if (exprs.length !== 1) this.fail(exprs[1]?.from ?? 0, 'unexpected expression');
    const expr = this.expr(exprs[0]!);
    this.check(expr);
    return expr;
  }

  // -------------------------------------------------------------------------------------------
  // Syntax errors

  /** The first token at or after `pos`. */
  private tokenAt(pos: number): { token: Token; index: number } {
    let lo = 0;
    let hi = this.tokens.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tokens[mid]!.to <= pos) lo = mid + 1;
      else hi = mid;
    }
    return { token: this.tokens[lo]!, index: lo };
  }

  private syntaxError(pos: number): never {
    const { token, index } = this.tokenAt(pos);
    const prev = index > 0 ? this.tokens[index - 1] : undefined;
    const what = `unexpected ${describeToken(token)}`;

    // `foo(...)` with a name that is not a function: Prometheus' grammar takes any identifier
    // followed by "(" as a call.
    if (token.text === '(' && prev && (prev.kind === 'identifier' || prev.kind === 'metric identifier' || prev.text === 'start' || prev.text === 'end')) {
      if (!functionSignature(prev.text)) this.fail(prev.from, `unknown function with name "${prev.text}"`);
    }
    if (token.text === ')' && prev?.text === ',') this.fail(prev.from, 'trailing commas not allowed in function call args');
    // Lezer's duration token enforces the unit order; Prometheus' lexer leaves that to the parser.
    if (token.kind === 'duration') {
      try {
        parseDuration(token.text);
      } catch (err) {
        this.fail(token.from, (err as Error).message);
      }
    }

    const context = this.contextAt(index);
    if (context === 'braces') {
      const expected =
        prev?.text === '{' || prev?.text === ','
          ? 'identifier or "}"'
          : isMatchOp(prev)
            ? 'string'
            : prev?.kind === 'identifier' || (prev?.kind === 'string' && !isMatchOp(this.tokens[index - 2]))
              ? 'label matching operator'
              : '"," or "}"';
      this.fail(token.from, `${what} in label matching, expected ${expected}`);
    }
    if (context === 'grouping') {
      this.fail(token.from, `${what} in grouping opts, expected ${prev?.text === '(' || prev?.text === ',' ? 'label' : '"," or ")"'}`);
    }
    if (prev?.text.toLowerCase() === 'offset') this.fail(token.from, `${what} in offset, expected number or duration`);
    if (prev?.text === '@') this.fail(token.from, `${what} in @, expected timestamp`);
    if (prev?.text === '[') this.fail(token.from, `${what} in subquery or range selector, expected number or duration`);
    if (prev?.kind === 'aggregator') this.fail(token.from, `${what} in aggregation`);
    if (context === 'brackets' && prev && prev.kind !== 'operator') {
      this.fail(token.from, `${what} in subquery or range, expected ":" or "]"`);
    }
    this.fail(token.from, what);
  }

  /** Whether the token at `index` is inside `{...}`, grouping labels `by (...)` or `[...]`. */
  private contextAt(index: number): 'braces' | 'grouping' | 'brackets' | undefined {
    let parens = 0;
    for (let i = index - 1; i >= 0; i--) {
      const t = this.tokens[i]!.text;
      if (t === '}' || t === ']') return undefined;
      if (t === '{') return 'braces';
      if (t === '[') return 'brackets';
      if (t === ')') parens++;
      else if (t === '(') {
        if (parens === 0) {
          const before = this.tokens[i - 1];
          return before?.kind === 'keyword' && before.text.toLowerCase() !== 'offset' && before.text.toLowerCase() !== 'bool' ? 'grouping' : undefined;
        }
        parens--;
      }
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Concrete tree → AST

  private span<T extends Expr>(e: T, from: number, to: number): T {
    this.spans.set(e, { from, to });
    return e;
  }

  private spanOf(e: Expr): Span {
    return this.spans.get(e) ?? { from: 0, to: 0 };
  }

  private text(n: { from: number; to: number }): string {
    return this.query.slice(n.from, n.to);
  }

  /**
   * Converts an expression node. `postfix` are modifier nodes (`offset`, `@`, `[range]`,
   * `[range:step]`, innermost first) that lezer attached to an enclosing node but that PromQL binds
   * tighter than any operator: `a - a offset 1d` is `a - (a offset 1d)` in Prometheus, while the
   * lezer grammar reads `(a - a) offset 1d`. They move down to the rightmost operand.
   */
  private expr(node: SyntaxNode, postfix: SyntaxNode[] = []): Expr {
    const kids = children(node);
    if (POSTFIX_NODES.has(node.name)) return this.expr(kids[0]!, [node, ...postfix]);
    if (postfix.length > 0 && node.name !== 'BinaryExpr' && node.name !== 'UnaryExpr') {
      let e = this.expr(node);
      for (const p of postfix) e = this.applyPostfix(p, e);
      return e;
    }
    switch (node.name) {
      case 'NumberDurationLiteral':
        return this.span({ type: 'NumberLiteral', value: this.signedNumber(node) }, node.from, node.to);
      case 'StringLiteral':
        return this.span({ type: 'StringLiteral', value: unquoteString(this.text(node)) }, node.from, node.to);
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'ParenExpr':
        return this.span({ type: 'ParenExpr', expr: this.expr(kids[0]!) }, node.from, node.to);
      case 'UnaryExpr': {
        const op = this.text(kids[0]!) as '-' | '+';
        const inner = this.expr(kids[1]!, postfix);
        if (inner.type === 'NumberLiteral') {
          // Prometheus folds a sign into a number literal: `-1` is the number -1, `-(1)` is not.
          return this.span({ type: 'NumberLiteral', value: op === '-' ? -inner.value : inner.value }, node.from, node.to);
        }
        return this.span({ type: 'UnaryExpr', op, expr: inner }, node.from, Math.max(node.to, this.spanOf(inner).to));
      }
      case 'BinaryExpr':
        return this.binaryExpr(node, kids, postfix);
      case 'AggregateExpr':
        return this.aggregateExpr(node, kids);
      case 'FunctionCall': {
        const name = this.text(kids[0]!);
        if (!functionSignature(name)) this.fail(kids[0]!.from, `unknown function with name "${name}"`);
        const args = children(kids[1]!).map((a) => this.expr(a));
        return this.span({ type: 'Call', func: name, args }, node.from, node.to);
      }
      case 'AnchoredExpr':
        return this.fail(node.from, 'anchored modifier is experimental and not enabled');
      case 'SmoothedExpr':
        return this.fail(node.from, 'smoothed modifier is experimental and not enabled');
      default:
        return this.fail(node.from, `unexpected ${node.name}`);
    }
  }

  /** The selector or subquery an offset / @ modifier applies to. */
  private modifierTarget(e: Expr, from: number, what: string): VectorSelector | SubqueryExpr {
    if (e.type === 'VectorSelector' || e.type === 'SubqueryExpr') return e;
    if (e.type === 'MatrixSelector') return e.vector;
    return this.fail(from, `${what} must be preceded by an instant vector selector or range vector selector or a subquery`);
  }

  private vectorSelector(node: SyntaxNode): VectorSelector {
    const identifier = node.getChild('Identifier');
    const matchers: LabelMatcher[] = [];
    let name: string | undefined;
    if (identifier) {
      name = this.text(identifier);
      matchers.push({ name: METRIC_NAME, type: '=', value: name });
    }
    let quotedNames = 0;
    let quotedName: string | undefined;
    for (const m of children(node.getChild('LabelMatchers'))) {
      if (m.name === 'QuotedLabelName') {
        // `{"my.metric"}`: a metric name that is not an identifier.
        const value = unquoteString(this.text(m));
        matchers.push({ name: METRIC_NAME, type: '=', value });
        quotedNames++;
        quotedName = value;
        continue;
      }
      const nameNode = m.getChild('LabelName') ?? m.getChild('QuotedLabelName');
      const opNode = m.getChild('MatchOp');
      const valueNode = m.getChild('StringLiteral');
      if (!nameNode || !opNode || !valueNode) this.fail(m.from, 'incomplete label matcher');
      const label = nameNode.name === 'LabelName' ? this.text(nameNode) : unquoteString(this.text(nameNode));
      const type = this.text(opNode) as LabelMatcher['type'];
      const value = unquoteString(this.text(valueNode));
      if (type === '=~' || type === '!~') {
        try {
          compilePromRegex(value);
        } catch (err) {
          this.fail(m.from, `invalid regular expression ${JSON.stringify(value)}: ${(err as Error).message}`);
        }
      }
      matchers.push({ name: label, type, value });
    }
    if (name === undefined && quotedNames === 1) name = quotedName;
    if (identifier) {
      for (const m of matchers.slice(1)) {
        if (m.name === METRIC_NAME) this.fail(node.from, `metric name must not be set twice: "${name}" or "${m.value}"`);
      }
    }
    return this.span({ type: 'VectorSelector', ...(name !== undefined ? { name } : {}), matchers, offsetMs: 0 }, node.from, node.to);
  }

  /** Applies one postfix modifier node to the already converted operand `inner`. */
  private applyPostfix(node: SyntaxNode, inner: Expr): Expr {
    const kids = children(node);
    const from = this.spanOf(inner).from;
    switch (node.name) {
      case 'MatrixSelector': {
        const bracket = this.query.lastIndexOf('[', kids[1]!.from);
        if (inner.type !== 'VectorSelector') this.fail(bracket, 'ranges only allowed for vector selectors');
        if (inner.offsetMs !== 0) this.fail(bracket, 'no offset modifiers allowed before range');
        if (inner.at) this.fail(bracket, 'no @ modifiers allowed before range');
        const rangeMs = this.positiveDuration(kids[1]!);
        return this.span<MatrixSelector>({ type: 'MatrixSelector', vector: inner, rangeMs }, from, node.to);
      }
      case 'SubqueryExpr': {
        const rangeMs = this.positiveDuration(kids[1]!);
        const stepMs = kids[2] ? this.positiveDuration(kids[2]) : 0;
        return this.span<SubqueryExpr>({ type: 'SubqueryExpr', expr: inner, rangeMs, stepMs, offsetMs: 0 }, from, node.to);
      }
      case 'OffsetExpr': {
        const offsetMs = this.offsetDuration(kids[2]!);
        const target = this.modifierTarget(inner, from, 'offset modifier');
        if (target.offsetMs !== 0) this.fail(from, 'offset may not be set multiple times');
        target.offsetMs = offsetMs;
        return this.span(inner, from, node.to);
      }
      case 'StepInvariantExpr': {
        const target = this.modifierTarget(inner, from, '@ modifier');
        if (target.at) this.fail(from, '@ <timestamp> may not be set multiple times');
        target.at = this.atModifier(kids[2]!);
        return this.span(inner, from, node.to);
      }
      case 'AnchoredExpr':
        return this.fail(from, 'anchored modifier is experimental and not enabled');
      default:
        return this.fail(from, 'smoothed modifier is experimental and not enabled');
    }
  }

  private binaryExpr(node: SyntaxNode, kids: SyntaxNode[], postfix: SyntaxNode[]): Expr {
    const [lhsNode, opNode] = kids as [SyntaxNode, SyntaxNode];
    const rhsNode = kids[kids.length - 1]!;
    const op = BINARY_OPS[opNode.name];
    if (!op) return this.fail(opNode.from, `unexpected ${describeToken(this.tokenAt(opNode.from).token)}`);

    let returnBool = false;
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    let card: 'one-to-one' | 'many-to-one' | 'one-to-many' = 'one-to-one';
    for (const m of kids.slice(2, -1)) {
      if (m.name === 'BoolModifier') returnBool = true;
      else if (m.name === 'MatchingModifierClause') {
        const parts = children(m);
        on = parts[0]!.name === 'On';
        labels = this.groupingLabels(parts[1]!);
        const group = parts[2];
        if (group) {
          card = group.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
          include = parts[3] ? this.groupingLabels(parts[3]) : [];
        }
      } else if (m.name === 'FillModifier') {
        this.fail(m.from, 'binop fill modifiers are experimental and not enabled');
      }
    }

    // Lezer reads `-1 ^ 2` as (-1)^2; in PromQL the sign binds looser than `^`: -(1^2).
    if (op === '^' && lhsNode.name === 'NumberDurationLiteral' && /^[-+]/.test(this.text(lhsNode))) {
      const signEnd = this.tokenAt(lhsNode.from).token.to;
      const sign = this.query[lhsNode.from] as '-' | '+';
      const numberToken = this.tokenAt(signEnd).token;
      const unsigned = this.span({ type: 'NumberLiteral', value: this.numberValue(numberToken) }, numberToken.from, lhsNode.to);
      const rhs = this.expr(rhsNode, postfix);
      const pow = this.span<BinaryExpr>({ type: 'BinaryExpr', op, lhs: unsigned, rhs, returnBool }, signEnd, this.spanOf(rhs).to);
      this.addMatching(pow, on, labels, include, card);
      return this.span({ type: 'UnaryExpr', op: sign, expr: pow }, node.from, node.to);
    }

    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode, postfix);
    const e = this.span<BinaryExpr>({ type: 'BinaryExpr', op, lhs, rhs, returnBool }, node.from, this.spanOf(rhs).to);
    this.addMatching(e, on, labels, include, card);
    return e;
  }

  private addMatching(e: BinaryExpr, on: boolean, labels: string[], include: string[], card: 'one-to-one' | 'many-to-one' | 'one-to-many'): void {
    // Kept during the type check, which drops it unless both sides are instant vectors.
    e.matching = { card, on, labels, include };
  }

  private aggregateExpr(node: SyntaxNode, kids: SyntaxNode[]): AggregateExpr {
    const op = this.text(kids[0]!).toLowerCase() as AggregateOp;
    let grouping: string[] = [];
    let without = false;
    let body: SyntaxNode | undefined;
    for (const k of kids.slice(1)) {
      if (k.name === 'AggregateModifier') {
        const [kw, labelsNode] = children(k);
        without = kw!.name === 'Without';
        grouping = this.groupingLabels(labelsNode!);
      } else if (k.name === 'FunctionCallBody') body = k;
    }
    const args = children(body ?? null).map((a) => this.expr(a));
    if (args.length === 0) this.fail(node.from, 'no arguments for aggregate expression provided');
    const wanted = AGGREGATORS_WITH_PARAM.has(op) ? 2 : 1;
    if (args.length !== wanted) {
      this.fail(node.from, `wrong number of arguments for aggregate expression provided, expected ${wanted}, got ${args.length}`);
    }
    const e: AggregateExpr = { type: 'AggregateExpr', op, expr: args[wanted - 1]!, grouping, without };
    if (wanted === 2) e.param = args[0]!;
    return this.span(e, node.from, node.to);
  }

  private groupingLabels(node: SyntaxNode): string[] {
    return children(node).map((l) => {
      if (l.name === 'LabelName') return this.text(l);
      const value = unquoteString(this.text(l));
      if (value === '') this.fail(l.from, `invalid label name for grouping: ""`);
      return value;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Numbers, durations, modifiers

  /** The value of a NumberDurationLiteral (or its in-duration variant), signs included, in seconds. */
  private signedNumber(node: SyntaxNode): number {
    let { index } = this.tokenAt(node.from);
    let negative = false;
    for (let t = this.tokens[index]!; t.kind === 'operator' && t.to <= node.to; t = this.tokens[++index]!) {
      if (t.text === '-') negative = !negative;
    }
    const token = this.tokens[index]!;
    const v = this.numberValue(token);
    return negative ? -v : v;
  }

  private numberValue(token: Token): number {
    const text = token.text;
    if (token.kind === 'duration') {
      try {
        return parseDuration(text) / 1000;
      } catch (err) {
        return this.fail(token.from, (err as Error).message);
      }
    }
    const v = parseGoNumber(text);
    if (v === undefined) this.fail(token.from, `error parsing number: strconv.ParseFloat: parsing "${text}": invalid syntax`);
    return v;
  }

  /** Seconds of a duration in a `[...]` or after `offset`: a literal with optional signs only. */
  private durationSeconds(node: SyntaxNode): number {
    let negative = false;
    let n: SyntaxNode = node;
    for (;;) {
      const kids = children(n);
      if (kids.length === 1 && (kids[0]!.name === 'DurationExpr' || kids[0]!.name === 'OffsetDurationExpr')) {
        // `offset (5m)`: parenthesised durations are duration expressions.
        return this.fail(n.from, 'experimental duration expression is not enabled');
      }
      if (kids.length === 2 && kids[0]!.name === 'UnaryOp') {
        if (this.text(kids[0]!) === '-') negative = !negative;
        n = kids[1]!;
        continue;
      }
      if (kids.length === 1 && kids[0]!.name === 'NumberDurationLiteralInDurationContext') {
        const v = this.numberValue(this.tokenAt(kids[0]!.from).token);
        const seconds = negative ? -v : v;
        if (!(Math.abs(seconds) <= 2 ** 63 / 1e9)) this.fail(n.from, 'duration out of range');
        return seconds;
      }
      return this.fail(n.from, 'experimental duration expression is not enabled');
    }
  }

  /** Milliseconds of a range or subquery step, which must be positive. */
  private positiveDuration(node: SyntaxNode): number {
    const seconds = this.durationSeconds(node);
    if (!(seconds > 0)) this.fail(node.from, 'duration must be greater than 0');
    return secondsToMs(seconds);
  }

  private offsetDuration(node: SyntaxNode): number {
    return secondsToMs(this.durationSeconds(node));
  }

  private atModifier(node: SyntaxNode): AtModifier {
    if (node.name === 'AtModifierPreprocessors') {
      return this.text(node).toLowerCase() === 'start' ? { kind: 'start' } : { kind: 'end' };
    }
    const seconds = this.signedNumber(node);
    if (!Number.isFinite(seconds) || seconds >= 2 ** 63 || seconds <= -(2 ** 63)) {
      this.fail(node.from, `timestamp out of bounds for @ modifier: ${goFormatF(seconds)}`);
    }
    return { kind: 'time', ms: Math.round(seconds * 1000) };
  }

  // -------------------------------------------------------------------------------------------
  // Type check (Prometheus' checkAST)

  private check(e: Expr): ValueType {
    const at = this.spanOf(e).from;
    switch (e.type) {
      case 'NumberLiteral':
      case 'StringLiteral':
        return typeOf(e);
      case 'ParenExpr':
        this.check(e.expr);
        return typeOf(e);
      case 'UnaryExpr': {
        const t = this.check(e.expr);
        if (t !== 'scalar' && t !== 'vector') {
          this.fail(at, `unary expression only allowed on expressions of type scalar or instant vector, got "${documentedType(t)}"`);
        }
        return t;
      }
      case 'VectorSelector':
        this.checkSelector(e);
        return 'vector';
      case 'MatrixSelector':
        this.checkSelector(e.vector);
        return 'matrix';
      case 'SubqueryExpr': {
        const t = this.check(e.expr);
        if (t !== 'vector') this.fail(at, `subquery is only allowed on instant vector, got ${documentedType(t)} instead`);
        return 'matrix';
      }
      case 'AggregateExpr': {
        this.expectType(e.expr, 'vector', 'aggregation expression');
        if (e.param) {
          this.expectType(e.param, e.op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
        }
        return 'vector';
      }
      case 'Call':
        return this.checkCall(e, at);
      case 'BinaryExpr':
        return this.checkBinary(e);
    }
  }

  private expectType(e: Expr, want: ValueType, context: string): void {
    const t = this.check(e);
    if (t !== want) this.fail(this.spanOf(e).from, `expected type ${documentedType(want)} in ${context}, got ${documentedType(t)}`);
  }

  private checkSelector(vs: VectorSelector): void {
    // A selector matching everything (even series without any label) is almost always a typo.
    const nonEmpty = vs.matchers.some((m) => !matchesEmpty(m));
    if (!nonEmpty) this.fail(this.spanOf(vs).from, 'vector selector must contain at least one non-empty matcher');
  }

  private checkCall(e: Expr & { type: 'Call' }, at: number): ValueType {
    const sig = functionSignature(e.func)!;
    const nargs = sig.argTypes.length;
    const variadic = sig.variadic ?? 0;
    if (variadic === 0) {
      if (nargs !== e.args.length) this.fail(at, `expected ${nargs} argument(s) in call to "${e.func}", got ${e.args.length}`);
    } else {
      const min = nargs - 1;
      if (min > e.args.length) this.fail(at, `expected at least ${min} argument(s) in call to "${e.func}", got ${e.args.length}`);
      else if (variadic > 0 && min + variadic < e.args.length) {
        this.fail(at, `expected at most ${min + variadic} argument(s) in call to "${e.func}", got ${e.args.length}`);
      }
    }
    if (e.func === 'info' && e.args.length > 1) {
      const selector = e.args[1]!;
      const t = typeOf(selector);
      if (t !== 'vector') this.fail(at, `expected type instant vector in call to function "info", got ${documentedType(t)}`);
      if (selector.type !== 'VectorSelector') this.fail(this.spanOf(selector).from, 'expected label selectors only');
      if (selector.matchers[0]?.name === METRIC_NAME && this.query[this.spanOf(selector).from] !== '{') {
        this.fail(this.spanOf(selector).from, 'expected label selectors only, got vector selector instead');
      }
    }
    e.args.forEach((arg, i) => {
      if (i >= nargs && variadic === 0) return;
      const want = sig.argTypes[Math.min(i, nargs - 1)]!;
      // info()'s second argument may select everything: it only names the info metrics' labels.
      const t = e.func === 'info' && i === 1 ? typeOf(arg) : this.check(arg);
      if (t !== want) {
        this.fail(this.spanOf(arg).from, `expected type ${documentedType(want)} in call to function "${e.func}", got ${documentedType(t)}`);
      }
    });
    return sig.returnType;
  }

  private checkBinary(e: BinaryExpr): ValueType {
    const lt = this.check(e.lhs);
    const rt = this.check(e.rhs);
    const span = this.spanOf(e);
    const opAt = this.operatorPosition(e);
    if (e.returnBool && !COMPARISON_OPS.has(e.op)) this.fail(opAt, 'bool modifier can only be used on comparison operators');
    if (COMPARISON_OPS.has(e.op) && !e.returnBool && lt === 'scalar' && rt === 'scalar') {
      this.fail(opAt, 'comparisons between scalars must use BOOL modifier');
    }
    const m = e.matching!;
    if (SET_OPS.has(e.op) && m.card === 'one-to-one') m.card = 'many-to-many';
    if (m.on) {
      for (const l of m.labels) {
        if (m.include.includes(l)) this.fail(opAt, `label "${l}" must not occur in ON and GROUP clause at once`);
      }
    }
    if (lt !== 'scalar' && lt !== 'vector') this.fail(this.spanOf(e.lhs).from, 'binary expression must contain only scalar and instant vector types');
    if (rt !== 'scalar' && rt !== 'vector') this.fail(this.spanOf(e.rhs).from, 'binary expression must contain only scalar and instant vector types');
    if (lt !== 'vector' || rt !== 'vector') {
      if (m.labels.length > 0) this.fail(span.from, 'vector matching only allowed between instant vectors');
      delete e.matching;
    } else if (SET_OPS.has(e.op)) {
      if (m.card === 'one-to-many' || m.card === 'many-to-one') this.fail(span.from, `no grouping allowed for "${e.op}" operation`);
    }
    if ((lt === 'scalar' || rt === 'scalar') && SET_OPS.has(e.op)) {
      this.fail(span.from, `set operator "${e.op}" not allowed in binary scalar expression`);
    }
    return lt === 'scalar' && rt === 'scalar' ? 'scalar' : 'vector';
  }

  /** Where the operator of a binary expression starts (the first token after the left operand). */
  private operatorPosition(e: BinaryExpr): number {
    return this.tokenAt(this.spanOf(e.lhs).to).token.from;
  }
}

/** Number spellings lezer's tokenizer knows; Prometheus also takes `1.`, `1.e3`, `0X1F`, `0x_1F`. */
const LEZER_NUMBER = /^(?:(?:\d+(?:_?\d)*(?:\.\d+(?:_?\d)*)?|\.\d+(?:_?\d)*)(?:[eE][-+]?\d+(?:_?\d)*)?|0x[\da-fA-F]+)$/;

/**
 * The query as lezer should see it: numbers its tokenizer does not know are replaced by digits
 * of the same length (values are read from our own tokens, offsets stay the same).
 */
function lezerText(text: string, tokens: readonly Token[]): string {
  let out = '';
  let from = 0;
  for (const t of tokens) {
    if (t.to > text.length) break;
    if (t.kind !== 'number' || !/^[\d.]/.test(t.text) || LEZER_NUMBER.test(t.text)) continue;
    out += text.slice(from, t.from) + '1'.repeat(t.to - t.from);
    from = t.to;
  }
  return from === 0 ? text : out + text.slice(from);
}

/**
 * An upper bound of the expression nesting at the token starting at or after `pos`, from tokens
 * alone: open parentheses plus the operators seen so far at each level (an operator chain nests
 * one level per operator).
 */
function nestingEstimate(tokens: readonly Token[], pos: number): number {
  const stack: number[] = [];
  let outer = 0; // sum of the operators counted at the enclosing levels
  let ops = 0;
  let max = 0;
  for (const t of tokens) {
    if (t.from > pos) break;
    if (t.text === '(' || t.text === '[' || t.text === '{') {
      stack.push(ops);
      outer += ops;
      ops = 0;
    } else if (t.text === ')' || t.text === ']' || t.text === '}') {
      ops = stack.pop() ?? 0;
      outer -= ops;
    } else if (t.text === ',') {
      ops = 0;
    } else if (t.kind === 'operator' && t.text !== '@') {
      ops++;
    }
    max = Math.max(max, outer + stack.length + ops);
  }
  return max;
}

function isMatchOp(t: Token | undefined): boolean {
  return t !== undefined && (t.text === '=' || t.text === '!=' || t.text === '=~' || t.text === '!~');
}

/** Children of a node without comments (comments may sit between any two tokens). */
function children(node: SyntaxNode | null): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node?.firstChild ?? null; c; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
  return out;
}

function matchesEmpty(m: LabelMatcher): boolean {
  switch (m.type) {
    case '=':
      return m.value === '';
    case '!=':
      return m.value !== '';
    case '=~':
      return compilePromRegex(m.value).test('');
    case '!~':
      return !compilePromRegex(m.value).test('');
  }
}

/**
 * Prometheus' number(): strconv.ParseInt(s, 0, 64) (so `0x1F` is hex and `017` octal), falling
 * back to strconv.ParseFloat (`1e3`, `.5`, `Inf`, `NaN`). Underscores between digits are allowed.
 */
export function parseGoNumber(text: string): number | undefined {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  if (/^0x_?[0-9a-f]+(_[0-9a-f]+)*$/.test(lower)) {
    const v = BigInt('0x' + lower.slice(2).replaceAll('_', ''));
    return v <= 0x7fffffffffffffffn ? Number(v) : undefined;
  }
  if (/^0_?[0-7]+(_[0-7]+)*$/.test(lower)) return Number(BigInt('0o' + lower.slice(1).replaceAll('_', '')));
  if (!/^(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)(e[-+]?\d+(_\d+)*)?$/.test(lower)) return undefined;
  return Number(lower.replaceAll('_', ''));
}

/** Seconds → whole milliseconds the way Prometheus gets there: round to ns, then truncate to ms. */
function secondsToMs(seconds: number): number {
  return Math.trunc(Math.round(seconds * 1e9) / 1e6);
}

/** Go's %f. */
function goFormatF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v.toFixed(6);
}
