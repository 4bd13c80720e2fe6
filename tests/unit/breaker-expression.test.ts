import { describe, expect, it } from 'vitest';
import { BREAKER_FUNCTIONS, checkBreakerExpression } from '../../services/config/breaker-expression.js';

const FUNCTIONS = 'NetworkErrorRatio(), ResponseCodeRatio(from, to, dividedFrom, dividedTo), LatencyAtQuantileMS(quantile)';

describe('circuitBreaker expression: what Traefik accepts', () => {
  it.each([
    'NetworkErrorRatio() > 0.30',
    'ResponseCodeRatio(500, 600, 0, 600) > 0.25',
    'LatencyAtQuantileMS(50.0) > 100',
    'NetworkErrorRatio() > 0.5 || LatencyAtQuantileMS(99.0) >= 250 && ResponseCodeRatio(500, 600, 0, 600) != 0.0',
    '(NetworkErrorRatio() > 0.5 || NetworkErrorRatio() <= 0.1) && (LatencyAtQuantileMS(50.0) < 100 || LatencyAtQuantileMS(100.0) == 0)',
    '(NetworkErrorRatio()) > (0.5)',
    'NetworkErrorRatio() >= 5e-1',
    '  NetworkErrorRatio() > .5\n',
    'NetworkErrorRatio() > 0.5 &&\n  LatencyAtQuantileMS(50.0) > 100',
  ])('GIVEN %j THEN there is no problem', (expression) => {
    expect(checkBreakerExpression(expression)).toBeNull();
  });

  it('lists the metric functions with their parameters', () => {
    expect(BREAKER_FUNCTIONS).toEqual({
      NetworkErrorRatio: [],
      ResponseCodeRatio: ['from', 'to', 'dividedFrom', 'dividedTo'],
      LatencyAtQuantileMS: ['quantile'],
    });
  });
});

describe('circuitBreaker expression: the first problem, with its column', () => {
  it.each([
    ['', 1, 'empty expression; expected a condition such as NetworkErrorRatio() > 0.30'],
    ['  \n', 1, 'empty expression; expected a condition such as NetworkErrorRatio() > 0.30'],
    [
      'NetworkErrorRate() > 0.5',
      1,
      `unknown function "NetworkErrorRate" at column 1; expected one of ${FUNCTIONS} (did you mean NetworkErrorRatio?)`,
    ],
    ['Errors() > 0.5', 1, `unknown function "Errors" at column 1; expected one of ${FUNCTIONS}`],
    ['NetworkErrorRatio > 0.5', 1, 'NetworkErrorRatio at column 1 is a function; expected NetworkErrorRatio()'],
    ['ResponseCodeRatio(500, 600, 0) > 0.5', 1, 'ResponseCodeRatio at column 1 takes 4 arguments (from, to, dividedFrom, dividedTo), found 3'],
    ['NetworkErrorRatio(1.0) > 0.5', 1, 'NetworkErrorRatio at column 1 takes no arguments, found 1'],
    ['LatencyAtQuantileMS() > 100', 1, 'LatencyAtQuantileMS at column 1 takes 1 argument (quantile), found 0'],
    ['LatencyAtQuantileMS(50) > 100', 21, 'argument quantile of LatencyAtQuantileMS must be a decimal number such as 50.0, found 50 at column 21'],
    ['ResponseCodeRatio(500.0, 600, 0, 600) > 0.5', 19, 'argument from of ResponseCodeRatio must be an integer such as 500, found 500.0 at column 19'],
    [
      'ResponseCodeRatio(500, 600, NetworkErrorRatio(), 600) > 0.5',
      29,
      'argument dividedFrom of ResponseCodeRatio must be an integer such as 500, found NetworkErrorRatio() at column 29',
    ],
    ['NetworkErrorRatio()', 1, 'NetworkErrorRatio() at column 1 is not compared to a number; expected e.g. NetworkErrorRatio() > 0.5'],
    [
      'NetworkErrorRatio() > 0.5 && LatencyAtQuantileMS(50.0)',
      30,
      'LatencyAtQuantileMS(50.0) at column 30 is not compared to a number; expected e.g. LatencyAtQuantileMS(50.0) > 100',
    ],
    ['0.5', 1, 'number 0.5 at column 1 is not a condition; expected a comparison such as NetworkErrorRatio() > 0.5'],
    [
      'NetworkErrorRatio() > 1',
      23,
      'NetworkErrorRatio() returns a ratio: expected a decimal number such as 0.5 after ">" at column 21, found 1 at column 23',
    ],
    [
      'LatencyAtQuantileMS(50.0) > 100.5',
      29,
      'LatencyAtQuantileMS(50.0) returns whole milliseconds: expected an integer such as 100 after ">" at column 27, found 100.5 at column 29',
    ],
    ['0.5 < NetworkErrorRatio()', 1, 'expected a metric function on the left of "<" at column 5, found 0.5 at column 1'],
    ['NetworkErrorRatio() > NetworkErrorRatio()', 23, 'expected a number after ">" at column 21, found NetworkErrorRatio() at column 23'],
    [
      'NetworkErrorRatio() > 0.5 > 0.1',
      1,
      'expected a metric function on the left of ">" at column 27, found NetworkErrorRatio() > 0.5 at column 1',
    ],
    ['NetworkErrorRatio() > 0.5 &&', 29, 'expected a metric function, a number or "(" after "&&", found the end of the expression at column 29'],
    ['NetworkErrorRatio() >', 22, 'expected a metric function, a number or "(" after ">", found the end of the expression at column 22'],
    ['|| NetworkErrorRatio() > 0.5', 1, 'expected a metric function, a number or "(", found "||" at column 1'],
    ['NetworkErrorRatio() 0.5', 21, 'expected a comparison (>, >=, <, <=, ==, !=) or the end of the expression, found "0.5" at column 21'],
    [
      'NetworkErrorRatio() > 0.5 && (LatencyAtQuantileMS(50.0) > 100',
      62,
      'expected &&, || or ")" closing the "(" at column 30, found the end of the expression at column 62',
    ],
    ['NetworkErrorRatio() > 0.5)', 26, 'expected &&, || or the end of the expression, found ")" at column 26'],
    ['NetworkErrorRatio(', 19, 'expected ")" closing the "(" at column 18, found the end of the expression at column 19'],
    [
      'NetworkErrorRatio() > 0.5 & LatencyAtQuantileMS(50.0) > 100',
      27,
      'unexpected character "&" at column 27; expected a metric function, a number, a comparison, &&, || or parentheses (did you mean &&?)',
    ],
    [
      'NetworkErrorRatio() = 0.5',
      21,
      'unexpected character "=" at column 21; expected a metric function, a number, a comparison, &&, || or parentheses (did you mean ==?)',
    ],
    [
      'NetworkErrorRatio() > 0.5 # trips on errors',
      27,
      'unexpected character "#" at column 27; expected a metric function, a number, a comparison, &&, || or parentheses',
    ],
    ['NetworkErrorRatio() > 0x10', 23, 'malformed number "0x10" at column 23; expected an integer such as 100 or a decimal number such as 0.5'],
    ['!(NetworkErrorRatio() > 0.5)', 1, `"!" at column 1 is not supported by Traefik's circuit breaker; invert the comparison instead (<= for >)`],
    ['NetworkErrorRatio() > -0.5', 23, `"-" at column 23 is not supported by Traefik's circuit breaker; the metrics are never negative`],
    [
      'NetworkErrorRatio() > 0.5\n|| LatencyAtQuantileMS(50.0) > 100',
      26,
      'expected &&, || or the end of the expression, found a line break at column 26 (Go ends the expression there: put && or || before the line break)',
    ],
    ['LatencyAtQuantileMS(0.0) > 100', 21, 'quantile 0.0 at column 21 is outside (0, 100]; expected a percentile such as 50.0 or 99.0'],
    ['LatencyAtQuantileMS(100.5) > 100', 21, 'quantile 100.5 at column 21 is outside (0, 100]; expected a percentile such as 50.0 or 99.0'],
    [
      'ResponseCodeRatio(500, 700, 0, 600) > 0.5',
      24,
      'status code 700 at column 24 is outside 0–600; expected a bound such as 500 or 600 (the upper bound is excluded)',
    ],
    [
      'ResponseCodeRatio(600, 500, 0, 600) > 0.5',
      19,
      'empty range 600–500 at column 19: from must be below to (the upper bound is excluded); expected e.g. 500, 600 for the 5xx codes',
    ],
    [
      'ResponseCodeRatio(500, 600, 600, 600) > 0.5',
      29,
      'empty range 600–600 at column 29: dividedFrom must be below dividedTo (the upper bound is excluded); expected e.g. 500, 600 for the 5xx codes',
    ],
  ])('GIVEN %j THEN column %i: %s', (expression, column, message) => {
    expect(checkBreakerExpression(expression)).toEqual({ column, message });
  });

  it('GIVEN a syntax error after an evaluation problem THEN the syntax error comes first, as in Go', () => {
    expect(checkBreakerExpression('NetworkErrorRate() > 1 &&')?.column).toBe(26);
  });

  it('GIVEN a name from Object.prototype THEN it is an unknown function, not a metric', () => {
    expect(checkBreakerExpression('constructor() > 0.5')?.message).toMatch(/^unknown function "constructor" at column 1;/);
  });
});
