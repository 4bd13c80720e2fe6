/**
 * Check a circuitBreaker `expression` before Traefik does: it refuses a bad one only when it builds the
 * middleware, in its log. Mirrors Traefik v3.6 (vulcand/oxy v2.0.3 on vulcand/predicate v1.2.0): a Go
 * expression with only &&, || and the six comparisons (no `!`, no unary minus); a comparison is a metric
 * on the left and a number literal of the metric's Go type on the right (ratios are float64: `> 0.5`, not
 * `> 1`; the latency is int milliseconds: `> 100`, not `> 100.0`); arguments are typed likewise. Go's
 * order is kept: syntax first, then the leftmost evaluation problem. Beyond Traefik, arguments that make a
 * breaker that never trips (quantile outside (0, 100], empty or out-of-range status range) are refused. Pure.
 */
import { suggest } from '../errors.js';

export interface ExpressionProblem {
  /** 1-based offset within the expression (a line break counts as one column). */
  readonly column: number;
  readonly message: string;
}

type NumberKind = 'integer' | 'decimal';

/** Parameter names; the Go type (int or float64) of every parameter and of the result, hence of the number it is compared to. */
interface Metric { readonly params: readonly string[]; readonly argument: NumberKind; readonly result: NumberKind }

const METRICS: Readonly<Record<string, Metric>> = {
  NetworkErrorRatio: { params: [], argument: 'decimal', result: 'decimal' },
  ResponseCodeRatio: { params: ['from', 'to', 'dividedFrom', 'dividedTo'], argument: 'integer', result: 'decimal' },
  LatencyAtQuantileMS: { params: ['quantile'], argument: 'decimal', result: 'integer' },
};

/** The metric functions, with their parameter lists, for messages and docs. */
export const BREAKER_FUNCTIONS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(Object.entries(METRICS).map(([name, { params }]) => [name, params]));
const SIGNATURES = Object.entries(BREAKER_FUNCTIONS).map(([name, params]) => `${name}(${params.join(', ')})`).join(', ');
const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='];
const LEXEME = /([A-Za-z_]\w*)|((?:\d|\.\d)(?:[eE][+-]|[\w.])*)|(&&|\|\||[<>=!]=|[<>(),!-])|([ \t\r\n]+)/y;
/** Go's int literals that strconv.Atoi reads (Go refuses 08; Atoi reads 010 as ten, harmlessly). */
const INTEGER = /^(?:0[0-7]*|[1-9]\d*)$/;
const DECIMAL = /^(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][+-]?\d+)?$/;
const MEANT: Readonly<Record<string, string>> = { '&': '&&', '|': '||', '=': '==' };
interface Token { readonly kind: 'name' | NumberKind | 'symbol' | 'break' | 'end'; readonly text: string; readonly column: number }

/** A parsed operand; `kind` is a number's own kind or the kind of a metric's result. */
interface Value { readonly type: 'condition' | 'metric' | 'number'; readonly text: string; readonly column: number; readonly kind?: NumberKind }

class Problem extends Error {
  constructor(readonly column: number, message: string) {
    super(message);
  }
}

/** null when Traefik would accept `expression` (and the breaker can trip); otherwise the first problem, with its column. */
export function checkBreakerExpression(expression: string): ExpressionProblem | null {
  if (expression.trim() === '') return { column: 1, message: 'empty expression; expected a condition such as NetworkErrorRatio() > 0.30' };
  try {
    new Parser(expression, tokenize(expression)).parseAll();
    return null;
  } catch (error) {
    if (error instanceof Problem) return { column: error.column, message: error.message };
    throw error;
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (let at = 0; at < text.length; ) {
    LEXEME.lastIndex = at;
    const match = LEXEME.exec(text);
    if (!match) {
      const char = text[at]!;
      const hint = MEANT[char] ? ` (did you mean ${MEANT[char]}?)` : '';
      throw new Problem(at + 1, `unexpected character "${char}" at column ${at + 1}; expected a metric function, a number, a comparison, &&, || or parentheses${hint}`);
    }
    const [lexeme, name, number, , space] = match;
    at += lexeme.length;
    if (space !== undefined) {
      // Go ends the expression at a line break after a name, a number or ")", and refuses what follows.
      const last = tokens.at(-1);
      if (space.includes('\n') && last && (last.kind !== 'symbol' || last.text === ')') && at < text.length) tokens.push({ kind: 'break', text: '\n', column: at - lexeme.length + space.indexOf('\n') + 1 });
      continue;
    }
    const column = at - lexeme.length + 1;
    if (number !== undefined && !INTEGER.test(number) && !DECIMAL.test(number)) {
      throw new Problem(column, `malformed number "${number}" at column ${column}; expected an integer such as 100 or a decimal number such as 0.5`);
    }
    tokens.push({ kind: name ? 'name' : number === undefined ? 'symbol' : INTEGER.test(number) ? 'integer' : 'decimal', text: lexeme, column });
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1 });
  return tokens;
}

function describe(token: Token): string {
  if (token.kind === 'end') return `the end of the expression at column ${token.column}`;
  if (token.kind === 'break') return `a line break at column ${token.column} (Go ends the expression there: put && or || before the line break)`;
  return `"${token.text}" at column ${token.column}`;
}

/** Recursive descent over Go's grammar; evaluation problems wait until the whole syntax is good, as in Go. */
class Parser {
  private index = 0;
  private firstProblem: Problem | undefined;

  constructor(private readonly source: string, private readonly tokens: readonly Token[]) {}

  parseAll(): void {
    const value = this.parseBinary(1);
    const next = this.peek();
    if (next.kind !== 'end') throw new Problem(next.column, `expected ${this.expectedAfter(value)} or the end of the expression, found ${describe(next)}`);
    this.requireCondition(value);
    if (this.firstProblem) throw this.firstProblem;
  }

  private peek = (): Token => this.tokens[this.index]!;
  private take = (): Token => this.tokens[this.index++]!;
  private record = (column: number, message: string): void => void (this.firstProblem ??= new Problem(column, message));
  private expectedAfter = (value: Value): string => (value.type === 'metric' ? `a comparison (${COMPARISONS.join(', ')})` : '&&, ||');

  /** The source from `column` to the last token taken, for messages. */
  private textFrom(column: number): string {
    const last = this.tokens[this.index - 1]!;
    return this.source.slice(column - 1, last.column - 1 + last.text.length);
  }

  /** Go's binding: || (1) below && (2) below the comparisons (3), all left-associative. */
  private parseBinary(minimum: number): Value {
    let left = this.parseOperand();
    for (;;) {
      const operator = this.peek();
      const precedence = operator.kind !== 'symbol' ? 0 : operator.text === '||' ? 1 : operator.text === '&&' ? 2 : COMPARISONS.includes(operator.text) ? 3 : 0;
      if (precedence < Math.max(minimum, 1)) return left;
      this.take();
      const right = this.parseBinary(precedence + 1);
      if (precedence === 3) this.checkComparison(left, operator, right);
      else [left, right].forEach((side) => this.requireCondition(side));
      left = { type: 'condition', text: this.textFrom(left.column), column: left.column };
    }
  }

  private parseOperand(): Value {
    const token = this.take();
    if (token.kind === 'name') return this.parseCall(token);
    if (token.kind === 'integer' || token.kind === 'decimal') return { type: 'number', kind: token.kind, text: token.text, column: token.column };
    if (token.text === '(') {
      const inner = this.parseBinary(1);
      const close = this.take();
      if (close.text !== ')') throw new Problem(close.column, `expected ${this.expectedAfter(inner)} or ")" closing the "(" at column ${token.column}, found ${describe(close)}`);
      return { ...inner, text: this.textFrom(token.column), column: token.column };
    }
    if (token.text === '!' || token.text === '-') {
      this.record(token.column, `"${token.text}" at column ${token.column} is not supported by Traefik's circuit breaker; ${token.text === '!' ? 'invert the comparison instead (<= for >)' : 'the metrics are never negative'}`);
      this.parseOperand();
      return { type: 'condition', text: this.textFrom(token.column), column: token.column };
    }
    const previous = this.tokens[this.index - 2];
    throw new Problem(token.column, `expected a metric function, a number or "("${previous ? ` after "${previous.text}"` : ''}, found ${describe(token)}`);
  }

  private parseCall(name: Token): Value {
    const metric = Object.hasOwn(METRICS, name.text) ? METRICS[name.text] : undefined;
    const hint = metric ? undefined : suggest(name.text, Object.keys(METRICS));
    if (!metric) this.record(name.column, `unknown function "${name.text}" at column ${name.column}; expected one of ${SIGNATURES}${hint ? ` (did you mean ${hint}?)` : ''}`);
    if (this.peek().text !== '(') {
      if (metric) this.record(name.column, `${name.text} at column ${name.column} is a function; expected ${name.text}(${metric.params.join(', ')})`);
      return { type: 'metric', kind: metric?.result, text: name.text, column: name.column };
    }
    const open = this.take();
    const args: Value[] = [];
    while (this.peek().text !== ')') {
      if (this.peek().kind === 'end') throw new Problem(this.peek().column, `expected ")" closing the "(" at column ${open.column}, found ${describe(this.peek())}`);
      args.push(this.parseBinary(1));
      const next = this.peek();
      if (next.text === ',') this.take();
      else if (next.text !== ')') throw new Problem(next.column, `expected ${this.expectedAfter(args.at(-1)!)}, "," or ")" closing the "(" at column ${open.column}, found ${describe(next)}`);
    }
    this.take();
    if (metric) this.checkArguments(name, metric, args);
    return { type: 'metric', kind: metric?.result, text: this.textFrom(name.column), column: name.column };
  }

  private checkArguments(name: Token, { params, argument }: Metric, args: readonly Value[]): void {
    if (args.length !== params.length) {
      const takes = params.length === 0 ? 'no arguments' : `${params.length} argument${params.length === 1 ? '' : 's'} (${params.join(', ')})`;
      return this.record(name.column, `${name.text} at column ${name.column} takes ${takes}, found ${args.length}`);
    }
    // predicate passes a number literal only (not even parenthesised), and reflect refuses int for float64 and back.
    const wrong = args.findIndex((arg) => arg.type !== 'number' || arg.kind !== argument || arg.text.startsWith('('));
    const [arg, numbers] = [args[wrong]!, args.map((each) => Number(each.text))];
    if (wrong >= 0) return this.record(arg.column, `argument ${params[wrong]} of ${name.text} must be ${argument === 'integer' ? 'an integer such as 500' : 'a decimal number such as 50.0'}, found ${arg.text} at column ${arg.column}`);
    if (name.text === 'LatencyAtQuantileMS' && !(numbers[0]! > 0 && numbers[0]! <= 100)) {
      return this.record(args[0]!.column, `quantile ${args[0]!.text} at column ${args[0]!.column} is outside (0, 100]; expected a percentile such as 50.0 or 99.0`);
    }
    if (name.text !== 'ResponseCodeRatio') return;
    const outside = args.find((code) => Number(code.text) > 600);
    if (outside) return this.record(outside.column, `status code ${outside.text} at column ${outside.column} is outside 0–600; expected a bound such as 500 or 600 (the upper bound is excluded)`);
    const empty = [0, 2].find((from) => numbers[from]! >= numbers[from + 1]!);
    if (empty === undefined) return;
    const [from, to] = [args[empty]!, args[empty + 1]!];
    this.record(from.column, `empty range ${from.text}–${to.text} at column ${from.column}: ${params[empty]} must be below ${params[empty + 1]} (the upper bound is excluded); expected e.g. 500, 600 for the 5xx codes`);
  }

  private checkComparison(left: Value, operator: Token, right: Value): void {
    const after = `after "${operator.text}" at column ${operator.column}, found ${right.text} at column ${right.column}`;
    if (left.type !== 'metric') return this.record(left.column, `expected a metric function on the left of "${operator.text}" at column ${operator.column}, found ${left.text} at column ${left.column}`);
    if (right.type !== 'number') return this.record(right.column, `expected a number ${after}`);
    const expected = left.kind === 'decimal' ? 'a ratio: expected a decimal number such as 0.5' : 'whole milliseconds: expected an integer such as 100';
    if (left.kind && right.kind !== left.kind) this.record(right.column, `${left.text} returns ${expected} ${after}`);
  }

  private requireCondition(value: Value): void {
    if (value.type === 'metric') this.record(value.column, `${value.text} at column ${value.column} is not compared to a number; expected e.g. ${value.text} > ${value.kind === 'integer' ? 100 : 0.5}`);
    if (value.type === 'number') this.record(value.column, `number ${value.text} at column ${value.column} is not a condition; expected a comparison such as NetworkErrorRatio() > 0.5`);
  }
}
