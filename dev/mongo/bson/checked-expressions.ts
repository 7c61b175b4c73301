/**
 * Run-time checks mingo lacks. Expressions whose domain errors mongod raises and mingo does not: `{$mod: [x, 0]}`, `$ln`,
 * `$log10` and `$log` of a non-positive number give null in mingo; mongod fails the command
 * (16610, 28766, 28761, 28758/28759). `$sqrt` of a negative number is refused by both, with
 * mongod's code here (28714). The value itself is still mingo's. Also: mongod's codes for the
 * run-time errors mingo reports with its own words.
 */
import { Decimal128, Long } from 'bson';
import { evalExpr } from 'mingo/core';
import type { Iterator } from 'mingo/lazy';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import type { Options } from 'mingo/types';
import { MongoCommandError } from './errors.ts';
import { bsonTypeName } from './order.ts';

type Expression = (obj: unknown, expr: unknown, options: Options) => unknown;

function operands(obj: unknown, expr: unknown, options: Options): unknown[] {
  return Array.isArray(expr) ? expr.map((e) => evalExpr(obj, e, options)) : [evalExpr(obj, expr, options)];
}

const isNumber = (v: unknown): boolean =>
  typeof v === 'number' || typeof v === 'bigint' || v instanceof Long || v instanceof Decimal128;
const nullish = (v: unknown): boolean => v === null || v === undefined;
const numberOf = (v: unknown): number => (typeof v === 'number' ? v : Number(String(v)));

/** A one-argument logarithm that fails on a non-positive number, as mongod's do. */
function logarithm(name: '$ln' | '$log10', code: number, mingo: Expression): Expression {
  return (obj, expr, options) => {
    const [x] = operands(obj, expr, options);
    if (!nullish(x) && isNumber(x) && !(numberOf(x) > 0) && !Number.isNaN(numberOf(x)))
      throw new MongoCommandError(code, `${name}'s argument must be a positive number, but is ${String(x)}`);
    return mingo(obj, expr, options);
  };
}

const mingoLog = expressionOps.$log as unknown as Expression;
function $log(obj: unknown, expr: unknown, options: Options): unknown {
  const [x, base] = operands(obj, expr, options);
  if (!nullish(x) && !nullish(base) && isNumber(x) && isNumber(base)) {
    const n = numberOf(x);
    const b = numberOf(base);
    if (!(n > 0) && !Number.isNaN(n))
      throw new MongoCommandError(28758, `$log's argument must be a positive number, but is ${String(x)}`);
    if (!(b > 0 && b !== 1) && !Number.isNaN(b))
      throw new MongoCommandError(
        28759,
        `$log's base must be a positive number not equal to 1, but is ${String(base)}`,
      );
  }
  return mingoLog(obj, expr, options);
}

const mingoSqrt = expressionOps.$sqrt as unknown as Expression;
function $sqrt(obj: unknown, expr: unknown, options: Options): unknown {
  const [x] = operands(obj, expr, options);
  if (!nullish(x) && isNumber(x) && numberOf(x) < 0)
    throw new MongoCommandError(28714, "$sqrt's argument must be greater than or equal to 0");
  return mingoSqrt(obj, expr, options);
}

const mingoMod = expressionOps.$mod as unknown as Expression;
function $mod(obj: unknown, expr: unknown, options: Options): unknown {
  const [a, b] = operands(obj, expr, options);
  if (nullish(a) || nullish(b)) return null;
  if (!isNumber(a) || !isNumber(b))
    throw new MongoCommandError(
      16611,
      `$mod only supports numeric types, not ${bsonTypeName(a)} and ${bsonTypeName(b)}`,
    );
  if (numberOf(b) === 0) throw new MongoCommandError(16610, "can't $mod by zero");
  return mingoMod(obj, expr, options);
}

const mingoDivide = expressionOps.$divide as unknown as Expression;
/** `$divide`: a non-number is 14 TypeMismatch, a zero divisor 2 BadValue (ExpressionDivide::apply). */
function $divide(obj: unknown, expr: unknown, options: Options): unknown {
  const [a, b] = operands(obj, expr, options);
  if (isNumber(a) && isNumber(b)) {
    if (numberOf(b) === 0) throw new MongoCommandError(2, "can't $divide by zero");
    return mingoDivide(obj, expr, options);
  }
  if (nullish(a) || nullish(b)) return null;
  throw new MongoCommandError(14, `$divide only supports numeric types, not ${bsonTypeName(a)} and ${bsonTypeName(b)}`);
}

/** The types mongod's Value::coerceToString takes (others: 16007); nullish values become "". */
function coercibleToString(v: unknown): boolean {
  if (nullish(v) || typeof v === 'string' || isNumber(v) || v instanceof Date) return true;
  const type = bsonTypeName(v);
  return type === 'timestamp' || type === 'symbol' || type === 'javascript';
}

/** `$toUpper`/`$toLower` of a value mongod cannot turn into a string (an object, array, bool…): 16007. */
function caseChange(mingo: Expression): Expression {
  return (obj, expr, options) => {
    const [v] = operands(obj, expr, options);
    if (!coercibleToString(v))
      throw new MongoCommandError(16007, `can't convert from BSON type ${bsonTypeName(v)} to String`);
    return mingo(obj, expr, options);
  };
}

/** `$trim`/`$ltrim`/`$rtrim`: a non-string input is 50699, non-string chars 50700 (mingo threw a JavaScript TypeError). */
function trimming(name: string, mingo: Expression): Expression {
  return (obj, expr, options) => {
    const args = (typeof expr === 'object' && expr !== null ? expr : {}) as Record<string, unknown>;
    const input = evalExpr(obj, args.input, options);
    if (nullish(input)) return null;
    if (typeof input !== 'string')
      throw new MongoCommandError(
        50699,
        `${name} requires its input to be a string, got ${String(input)} (of type ${bsonTypeName(input)}) instead.`,
      );
    if ('chars' in args) {
      const chars = evalExpr(obj, args.chars, options);
      if (nullish(chars)) return null;
      if (typeof chars !== 'string')
        throw new MongoCommandError(
          50700,
          `${name} requires 'chars' to be a string, got ${String(chars)} (of type ${bsonTypeName(chars)}) instead.`,
        );
    }
    return mingo(obj, expr, options);
  };
}

/** A value mongod's Value::integral() accepts: a number with an int32 value. */
const int32Valued = (v: unknown): boolean =>
  Number.isInteger(numberOf(v)) && numberOf(v) >= -(2 ** 31) && numberOf(v) < 2 ** 31;

const mingoRange = expressionOps.$range as unknown as Expression;
/** `$range`'s argument checks, with mongod's codes (34443-34449): mingo's were all 2. */
function $range(obj: unknown, expr: unknown, options: Options): unknown {
  const args = operands(obj, expr, options);
  const parts: Array<[string, unknown, number]> = [
    ['a starting value', args[0], 34443],
    ['an ending value', args[1], 34445],
  ];
  if (args.length > 2) parts.push(['a step value', args[2], 34447]);
  for (const [what, v, code] of parts) {
    if (!isNumber(v))
      throw new MongoCommandError(
        code,
        `$range requires a numeric ${what.slice(what.indexOf(' ') + 1)}, found value of type: ${bsonTypeName(v)}`,
      );
    if (!int32Valued(v))
      throw new MongoCommandError(
        code + 1,
        `$range requires ${what} that can be represented as a 32-bit integer, found value: ${String(v)}`,
      );
  }
  if (args.length > 2 && numberOf(args[2]) === 0)
    throw new MongoCommandError(34449, '$range requires a non-zero step value');
  return mingoRange(obj, expr, options);
}

const mingoZip = expressionOps.$zip as unknown as Expression;
/** `$zip`: an input that is neither an array nor nullish is 34468 (its arguments are checked at parse time). */
function $zip(obj: unknown, expr: unknown, options: Options): unknown {
  const inputs = (expr as { inputs?: unknown } | null)?.inputs;
  if (Array.isArray(inputs)) {
    for (const e of inputs) {
      const v = evalExpr(obj, e, options);
      if (nullish(v)) return null;
      if (!Array.isArray(v))
        throw new MongoCommandError(34468, `$zip found a non-array expression in input: ${String(v)}`);
    }
  }
  return mingoZip(obj, expr, options);
}

/** The n-family's `n`, checked when it runs as mongod's AccumulatorN does (5787902/5787903/5787908). */
function nChecked(name: string, mingo: Expression): Expression {
  return (obj, expr, options) => {
    const n = evalExpr(obj, (expr as { n?: unknown } | null)?.n, options);
    if (!isNumber(n))
      throw new MongoCommandError(5787902, `Value for 'n' must be of integral type, but found ${bsonTypeName(n)}`);
    if (!Number.isInteger(numberOf(n)))
      throw new MongoCommandError(5787903, `${name}: 'n' must be an integer, found ${String(n)}`);
    if (numberOf(n) <= 0)
      throw new MongoCommandError(5787908, `${name}: 'n' must be greater than 0, found ${String(n)}`);
    return mingo(obj, expr, options);
  };
}

/** Expression operators with mongod's domain errors, to be merged over mingo's. */
export const checkedExpressionOps = {
  $ln: logarithm('$ln', 28766, expressionOps.$ln as unknown as Expression),
  $log10: logarithm('$log10', 28761, expressionOps.$log10 as unknown as Expression),
  $log,
  $sqrt,
  $mod,
  $divide,
  $toUpper: caseChange(expressionOps.$toUpper as unknown as Expression),
  $toLower: caseChange(expressionOps.$toLower as unknown as Expression),
  $trim: trimming('$trim', expressionOps.$trim as unknown as Expression),
  $ltrim: trimming('$ltrim', expressionOps.$ltrim as unknown as Expression),
  $rtrim: trimming('$rtrim', expressionOps.$rtrim as unknown as Expression),
  $range,
  $zip,
  $firstN: nChecked('$firstN', expressionOps.$firstN as unknown as Expression),
  $lastN: nChecked('$lastN', expressionOps.$lastN as unknown as Expression),
  $minN: nChecked('$minN', expressionOps.$minN as unknown as Expression),
  $maxN: nChecked('$maxN', expressionOps.$maxN as unknown as Expression),
};

/** mingo's run-time error messages and the code mongod gives for the same failure. */
const RUNTIME_CODES: Array<[RegExp, number, string]> = [
  [
    /^\$(replaceRoot|replaceWith) expression must return an object/,
    40228,
    "'newRoot' expression must evaluate to an object",
  ],
  [/^\$size expression must resolve to/, 17124, 'The argument to $size must be an array'],
  [/^\$concat expression must resolve to/, 16702, '$concat only supports strings'],
  [/^\$arrayElemAt arg1/, 28689, "$arrayElemAt's first argument must be an array"],
  [/^\$in arg2/, 40081, '$in requires an array as a second argument'],
  [/^\$replace(All|One) 'input' expression must resolve to string/, 51746, "requires that 'input' be a string"],
  [/^\$replace(All|One) 'find' expression must resolve to string/, 51745, "requires that 'find' be a string"],
  [/^\$replace(All|One) 'replacement' expression/, 51744, "requires that 'replacement' be a string"],
  [/^\$reduce 'input' expression must resolve to array/, 40080, "$reduce requires that 'input' be an array"],
  [/^\$filter 'input' expression must resolve to array/, 28651, 'input to $filter must be an array'],
  [/^\$objectToArray expression must resolve to object/, 40390, '$objectToArray requires a document input'],
  [/^\$allElementsTrue argument/, 17040, "$allElementsTrue's argument must be an array"],
  [/^\$indexOfArray arg1/, 40090, '$indexOfArray requires an array as a first argument'],
  [/^\$strLenCP expression must resolve to string/, 34471, '$strLenCP requires a string argument'],
  [/^\$indexOfBytes arg1/, 40091, '$indexOfBytes requires a string as the first argument'],
  [/^\$round arg1/, 51081, '$round only supports numeric types'],
  [/^\$substrCP arg2/, 34450, '$substrCP: starting index must be a numeric type'],
  // mingo's date parts and $dateToString of a value that is no date: mongod's Value::coerceToDate.
  [/^cannot convert .* to date$/, 16006, "can't convert from BSON type to Date"],
];

/** The error mongod gives for a failure mingo reported with `message` while running a pipeline (2 when unknown). */
export function runtimeError(message: string): MongoCommandError {
  for (const [pattern, code, text] of RUNTIME_CODES) {
    if (pattern.test(message)) return new MongoCommandError(code, text);
  }
  return new MongoCommandError(2, message);
}

type Stage = (coll: Iterator, expr: unknown, options: Options) => Iterator;

const mingoRedact = pipelineOps.$redact as unknown as Stage;
/**
 * `$redact` whose expression must give `$$KEEP`, `$$PRUNE` or `$$DESCEND` (mongod: 17053); mingo
 * passes any other value on as the "document", which made a reply no driver could read.
 */
function $redact(coll: Iterator, expr: unknown, options: Options): Iterator {
  return mingoRedact(coll, expr, options)
    .filter((doc: unknown) => doc !== undefined)
    .map((doc: unknown) => {
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || bsonTypeName(doc) !== 'object')
        throw new MongoCommandError(
          17053,
          `$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned ${JSON.stringify(doc)}`,
        );
      return doc;
    });
}

/** Pipeline stages with mongod's run-time checks, to be merged over mingo's. */
export const checkedStages = { $redact };
