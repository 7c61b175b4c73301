/**
 * Aggregation expressions checked before mingo evaluates them, as mongod parses them: an unknown
 * operator is 168 InvalidPipelineOperator, one MongoDB 7.0 has and this server does not evaluate
 * (server-side JavaScript `$function`/`$accumulator`, `$toObjectId`, `$meta`…) is 115 by name,
 * an operator object with more than one field is 15983. Used by `$expr` filters and every stage.
 */
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import { typeClass } from './bson-order.ts';
import { MongoCommandError } from './errors.ts';

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
      .concat(['$objectToArray', '$arrayToObject', '$reverseArray', '$type', '$toBool', '$toDate', '$toDecimal'])
      .concat(['$toDouble', '$toInt', '$toLong', '$toString', '$isNumber', '$allElementsTrue', '$anyElementTrue'])
      .concat(['$strLenBytes', '$strLenCP', '$sin', '$cos', '$tan', '$asin', '$acos', '$atan', '$sinh', '$cosh'])
      .concat(['$tanh', '$asinh', '$acosh', '$atanh', '$degreesToRadians', '$radiansToDegrees'])
      .map((op) => [op, 1]),
  ),
  $substr: 3,
  $substrBytes: 3,
  $substrCP: 3,
};

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
