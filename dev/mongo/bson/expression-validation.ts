/**
 * Aggregation expressions checked before mingo evaluates them, as mongod parses them: an unknown
 * operator is 168 InvalidPipelineOperator, one MongoDB 7.0 has and this server does not evaluate
 * (server-side JavaScript `$function`/`$accumulator`, `$toObjectId`, `$meta`…) is 115 by name,
 * an operator object with more than one field is 15983. Used by `$expr` filters and every stage.
 */
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import { MongoCommandError } from './errors.ts';
import { bsonTypeName, typeClass } from './order.ts';

type Doc = Record<string, unknown>;

function isPlainDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeClass(v) === 20;
}

function fail(code: number, message: string): MongoCommandError {
  return new MongoCommandError(code, message);
}

function unsupported(what: string): MongoCommandError {
  return new MongoCommandError(115, `${what} is not supported by the embedded MongoDB server`);
}

/** Expressions MongoDB 7.0 has that this server does not evaluate (115 by name). */
const UNSUPPORTED_EXPRESSIONS = new Set([
  '$function',
  '$accumulator',
  '$meta',
  '$toObjectId',
  '$binarySize',
  '$bsonSize',
  '$tsIncrement',
  '$tsSecond',
]);

/** Expressions mingo evaluates that MongoDB 7.0 does not know (later versions'): unknown to mongod, so 168. */
export const NOT_IN_MONGOD_7 = new Set(['$sigmoid', '$minMaxScaler']);

const KNOWN_EXPRESSIONS = new Set([...Object.keys(expressionOps), ...Object.keys(accumulatorOps)]);

/** Expressions that take a fixed number of arguments in mongod (ExpressionFixedArity): others are 16020. */
const FIXED_ARITY: Record<string, number> = {
  ...Object.fromEntries(
    ['$cmp', '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$divide', '$mod', '$subtract', '$pow', '$log', '$atan2']
      .concat(['$setDifference', '$setIsSubset', '$arrayElemAt', '$strcasecmp', '$split', '$in'])
      .map((op) => [op, 2]),
  ),
  ...Object.fromEntries(
    ['$abs', '$ceil', '$floor', '$exp', '$ln', '$log10', '$sqrt', '$not', '$toLower', '$toUpper', '$size', '$isArray']
      .concat(['$objectToArray', '$arrayToObject', '$reverseArray', '$type', '$isNumber', '$allElementsTrue'])
      .concat(['$anyElementTrue'])
      .concat(['$strLenBytes', '$strLenCP', '$sin', '$cos', '$tan', '$asin', '$acos', '$atan', '$sinh', '$cosh'])
      .concat(['$tanh', '$asinh', '$acosh', '$atanh', '$degreesToRadians', '$radiansToDegrees'])
      .map((op) => [op, 1]),
  ),
  $substr: 3,
  $substrBytes: 3,
  $substrCP: 3,
};

/**
 * Expressions that take named arguments, with mongod's codes (its parsers; the codes were checked
 * against mongod's sources and a measured table): not an object, an unknown argument, and each
 * required argument missing. mingo evaluates most of these to a value (`{$regexMatch: {}}` is
 * false, `{$let: {vars: {}}}` nothing) where mongod refuses the pipeline.
 */
interface NamedArguments {
  allowed: string[];
  notObject?: [number, string];
  unknown?: [number, string];
  required: Array<[string, number, string]>;
}

const trim = (op: string): NamedArguments => ({
  allowed: ['input', 'chars'],
  notObject: [50696, `${op} only supports an object as an argument, found:`],
  unknown: [50694, `${op} found an unknown argument:`],
  required: [['input', 50695, `${op} requires an 'input' field`]],
});
const regex = (op: string): NamedArguments => ({
  allowed: ['input', 'regex', 'options'],
  notObject: [51103, `${op} expects an object of named arguments but found:`],
  unknown: [31024, `${op} found an unknown argument:`],
  required: [
    ['input', 31022, `${op} requires 'input' parameter`],
    ['regex', 31023, `${op} requires 'regex' parameter`],
  ],
});
const replace = (op: string): NamedArguments => ({
  allowed: ['input', 'find', 'replacement'],
  notObject: [51751, `${op} requires an object as an argument, found:`],
  unknown: [51750, `${op} found an unknown argument:`],
  required: [
    ['input', 51749, `${op} requires 'input' to be specified`],
    ['find', 51748, `${op} requires 'find' to be specified`],
    ['replacement', 51747, `${op} requires 'replacement' to be specified`],
  ],
});
const dateArithmetic = (op: string): NamedArguments => ({
  allowed: ['startDate', 'unit', 'amount', 'timezone'],
  notObject: [5166400, `${op} expects an object as its argument, found input type:`],
  unknown: [5166401, `Unrecognized argument to ${op}:`],
  required: [
    ['startDate', 5166402, `${op} requires startDate, unit, and amount to be present`],
    ['unit', 5166402, `${op} requires startDate, unit, and amount to be present`],
    ['amount', 5166402, `${op} requires startDate, unit, and amount to be present`],
  ],
});

/**
 * The n-family (`$firstN`, `$lastN`, `$minN`, `$maxN`; as expressions and accumulators): mongod's
 * AccumulatorN parser, codes as its window-function tests pin them (`n` missing 5787906, `input`
 * missing 5787907; a non-object 5787801, or 5787900 for `$minN`/`$maxN`).
 */
const nArguments = (op: string, notObject: number): NamedArguments => ({
  allowed: ['input', 'n'],
  notObject: [notObject, `${op} specification must be an object, found:`],
  unknown: [5787901, `Unknown argument to ${op}:`],
  required: [
    ['input', 5787907, `${op} requires an 'input' field`],
    ['n', 5787906, `${op} requires an 'n' field`],
  ],
});

const NAMED_ARGUMENTS: Record<string, NamedArguments> = {
  $trim: trim('$trim'),
  $ltrim: trim('$ltrim'),
  $rtrim: trim('$rtrim'),
  $regexFind: regex('$regexFind'),
  $regexFindAll: regex('$regexFindAll'),
  $regexMatch: regex('$regexMatch'),
  $replaceAll: replace('$replaceAll'),
  $replaceOne: replace('$replaceOne'),
  $dateAdd: dateArithmetic('$dateAdd'),
  $dateSubtract: dateArithmetic('$dateSubtract'),
  $reduce: {
    allowed: ['input', 'initialValue', 'in'],
    notObject: [40075, '$reduce requires an object as an argument, found:'],
    unknown: [40076, '$reduce found an unknown argument:'],
    required: [
      ['input', 40077, "$reduce requires 'input' to be specified"],
      ['initialValue', 40078, "$reduce requires 'initialValue' to be specified"],
      ['in', 40079, "$reduce requires 'in' to be specified"],
    ],
  },
  $filter: {
    allowed: ['input', 'as', 'cond', 'limit'],
    notObject: [28646, '$filter only supports an object as its argument'],
    unknown: [28647, 'Unrecognized parameter to $filter:'],
    required: [
      ['input', 28648, "Missing 'input' parameter to $filter"],
      ['cond', 28650, "Missing 'cond' parameter to $filter"],
    ],
  },
  $map: {
    allowed: ['input', 'as', 'in'],
    notObject: [16878, '$map only supports an object as its argument'],
    unknown: [16879, 'Unrecognized parameter to $map:'],
    required: [
      ['input', 16880, "Missing 'input' parameter to $map"],
      ['in', 16882, "Missing 'in' parameter to $map"],
    ],
  },
  $let: {
    allowed: ['vars', 'in'],
    notObject: [16874, '$let only supports an object as its argument'],
    unknown: [16875, 'Unrecognized parameter to $let:'],
    required: [
      ['vars', 16876, "Missing 'vars' parameter to $let"],
      ['in', 16877, "Missing 'in' parameter to $let"],
    ],
  },
  $firstN: nArguments('$firstN', 5787801),
  $lastN: nArguments('$lastN', 5787801),
  $minN: nArguments('$minN', 5787900),
  $maxN: nArguments('$maxN', 5787900),
  // All FailedToParse (9) in mongod's ExpressionConvert::parse.
  $convert: {
    allowed: ['input', 'to', 'onError', 'onNull'],
    notObject: [9, '$convert expects an object of named arguments but found:'],
    unknown: [9, '$convert found an unknown argument:'],
    required: [
      ['input', 9, "Missing 'input' parameter to $convert"],
      ['to', 9, "Missing 'to' parameter to $convert"],
    ],
  },
  $setField: {
    allowed: ['field', 'input', 'value'],
    required: [
      ['field', 4161102, "$setField requires 'field' to be specified"],
      ['input', 4161109, "$setField requires 'input' to be specified"],
      ['value', 4161103, "$setField requires 'value' to be specified"],
    ],
  },
  $sortArray: {
    allowed: ['input', 'sortBy'],
    required: [
      ['input', 2942502, "$sortArray requires 'input' to be specified"],
      ['sortBy', 2942503, "$sortArray requires 'sortBy' to be specified"],
    ],
  },
  $dateToString: {
    allowed: ['date', 'format', 'timezone', 'onNull'],
    notObject: [18629, '$dateToString only supports an object as its argument'],
    unknown: [18534, 'Unrecognized argument to $dateToString:'],
    required: [['date', 18628, "Missing 'date' parameter to $dateToString"]],
  },
};

/** mongod's checks of a named-argument expression's argument document. */
function checkNamedArguments(op: string, arg: unknown): void {
  const spec = NAMED_ARGUMENTS[op];
  if (!spec) return;
  if (!isPlainDoc(arg)) {
    if (spec.notObject) {
      const [code, message] = spec.notObject;
      throw fail(code, message.endsWith(':') ? `${message} ${bsonTypeName(arg)}` : message);
    }
    return;
  }
  for (const key of Object.keys(arg)) {
    if (!spec.allowed.includes(key) && spec.unknown) throw fail(spec.unknown[0], `${spec.unknown[1]} ${key}`);
  }
  for (const [field, code, message] of spec.required) if (!(field in arg)) throw fail(code, message);
}

/** Expressions with a range of argument counts in mongod (ExpressionRangedArity): others are 28667. */
const RANGED_ARITY: Record<string, [number, number]> = {
  $range: [2, 3],
  $slice: [2, 3],
  $round: [1, 2],
  $trunc: [1, 2],
  $indexOfArray: [2, 4],
  $indexOfBytes: [2, 4],
  $indexOfCP: [2, 4],
};

/** The `$convert` shortcuts, which take exactly one argument (mongod: 50723, not the fixed-arity 16020). */
const CONVERSION_ALIASES = new Set(['$toBool', '$toDate', '$toDecimal', '$toDouble', '$toInt', '$toLong', '$toString']);

/** `$zip`'s named arguments, as mongod's ExpressionZip::parse checks them (34460-34467). */
function checkZip(arg: unknown): void {
  if (!isPlainDoc(arg)) throw fail(34460, `$zip only supports an object as an argument, found ${bsonTypeName(arg)}`);
  for (const [key, v] of Object.entries(arg)) {
    if (key === 'inputs' && !Array.isArray(v))
      throw fail(34461, `inputs must be an array of expressions, found ${bsonTypeName(v)}`);
    else if (key === 'defaults' && !Array.isArray(v))
      throw fail(34462, `defaults must be an array of expressions, found ${bsonTypeName(v)}`);
    else if (key === 'useLongestLength' && typeof v !== 'boolean')
      throw fail(34463, `useLongestLength must be a bool, found ${bsonTypeName(v)}`);
    else if (key !== 'inputs' && key !== 'defaults' && key !== 'useLongestLength')
      throw fail(34464, `$zip found an unknown argument: ${key}`);
  }
  const inputs = (arg.inputs ?? []) as unknown[];
  const defaults = (arg.defaults ?? []) as unknown[];
  if (inputs.length === 0) throw fail(34465, '$zip requires at least one input array');
  if (arg.useLongestLength !== true && defaults.length > 0)
    throw fail(34466, 'cannot specify defaults unless useLongestLength is true');
  if (defaults.length > 0 && defaults.length !== inputs.length)
    throw fail(34467, 'defaults and inputs must have the same length');
}

/** `$getField`'s argument document (its short form is any other value): 3041701 unknown argument, 3041702 no `field`. */
function checkGetField(arg: unknown): void {
  if (!isPlainDoc(arg) || Object.keys(arg)[0]?.startsWith('$')) return;
  for (const key of Object.keys(arg))
    if (key !== 'field' && key !== 'input') throw fail(3041701, `$getField found an unknown argument: ${key}`);
  if (!('field' in arg)) throw fail(3041702, "$getField requires 'field' to be specified");
}

/** `$cond`'s object form (17080-17083) and `$switch` (40060-40068), as mongod parses them. */
function checkConditional(op: string, arg: unknown): void {
  if (op === '$cond' && isPlainDoc(arg)) {
    for (const key of Object.keys(arg))
      if (key !== 'if' && key !== 'then' && key !== 'else')
        throw fail(17083, `Unrecognized parameter to $cond: ${key}`);
    if (!('if' in arg)) throw fail(17080, "Missing 'if' parameter to $cond");
    if (!('then' in arg)) throw fail(17081, "Missing 'then' parameter to $cond");
    if (!('else' in arg)) throw fail(17082, "Missing 'else' parameter to $cond");
  } else if (op === '$cond' && (!Array.isArray(arg) || arg.length !== 3)) {
    const given = Array.isArray(arg) ? arg.length : 1;
    throw fail(16020, `Expression $cond takes exactly 3 arguments. ${given} were passed in.`);
  }
  if (op !== '$switch') return;
  if (!isPlainDoc(arg)) throw fail(40060, `$switch requires an object as an argument, found: ${bsonTypeName(arg)}`);
  for (const key of Object.keys(arg))
    if (key !== 'branches' && key !== 'default') throw fail(40067, `$switch found an unknown argument: ${key}`);
  const branches = arg.branches;
  if (branches !== undefined && !Array.isArray(branches))
    throw fail(40061, `$switch expected an array for 'branches', found: ${bsonTypeName(branches)}`);
  if (!Array.isArray(branches) || branches.length === 0) throw fail(40068, '$switch requires at least one branch.');
  for (const branch of branches) {
    if (!isPlainDoc(branch))
      throw fail(40062, `$switch expected each branch to be an object, found: ${bsonTypeName(branch)}`);
    for (const key of Object.keys(branch))
      if (key !== 'case' && key !== 'then') throw fail(40063, `$switch found an unknown argument to a branch: ${key}`);
    if (!('case' in branch)) throw fail(40064, "$switch requires each branch have a 'case' expression");
    if (!('then' in branch)) throw fail(40065, "$switch requires each branch have a 'then' expression");
  }
}

/** Walks an aggregation expression: unknown operators 168, ones this server does not run 115. */
export function checkExpression(expr: unknown): void {
  if (Array.isArray(expr)) {
    for (const e of expr) checkExpression(e);
    return;
  }
  if (!isPlainDoc(expr)) return;
  const keys = Object.keys(expr);
  const first = keys[0];
  if (first?.startsWith('$')) {
    if (keys.length > 1)
      throw fail(
        15983,
        `an expression specification must contain exactly one field, the name of the expression. Found ${keys.length} fields in ${JSON.stringify(expr)}`,
      );
    if (first === '$literal') return;
    if (UNSUPPORTED_EXPRESSIONS.has(first)) {
      throw first === '$function' || first === '$accumulator'
        ? unsupported(`server-side JavaScript (${first})`)
        : unsupported(`the ${first} expression`);
    }
    if (!KNOWN_EXPRESSIONS.has(first) || NOT_IN_MONGOD_7.has(first))
      throw fail(168, `Unrecognized expression '${first}'`);
    checkNamedArguments(first, expr[first]);
    checkConditional(first, expr[first]);
    if (first === '$zip') checkZip(expr[first]);
    if (first === '$getField') checkGetField(expr[first]);
    const range = RANGED_ARITY[first];
    const count = Array.isArray(expr[first]) ? (expr[first] as unknown[]).length : 1;
    if (range && (count < range[0] || count > range[1]))
      throw fail(
        28667,
        `Expression ${first} takes at least ${range[0]} arguments, and at most ${range[1]}, but ${count} were passed in.`,
      );
    if (CONVERSION_ALIASES.has(first)) {
      const n = Array.isArray(expr[first]) ? (expr[first] as unknown[]).length : 1;
      if (n !== 1) throw fail(50723, `${first} requires a single argument, got ${n}`);
    }
    const arity = FIXED_ARITY[first];
    const args = expr[first];
    const given = Array.isArray(args) ? args.length : 1;
    if (arity !== undefined && given !== arity)
      throw fail(16020, `Expression ${first} takes exactly ${arity} arguments. ${given} were passed in.`);
    checkExpression(args);
    return;
  }
  for (const v of Object.values(expr)) checkExpression(v);
}
