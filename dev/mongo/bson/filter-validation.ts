/**
 * A filter's shape checked the way mongod's match-expression parser checks it, before mingo
 * compiles it: mingo accepts many malformed arguments (`{$size: -1}`, `{$and: []}`, `{$not: 5}`)
 * and then matches nothing or everything, where mongod refuses the query. The codes and messages
 * are mongod 7.0's (BadValue 2 for most, FailedToParse 9 for integer arguments); operators this
 * server does not implement are refused with 115 by name.
 */
import { BSONRegExp, Decimal128, Long } from 'bson';
import { MongoCommandError } from './errors.ts';
import { checkExpression } from './expression-validation.ts';
import { typeClass } from './order.ts';

type Doc = Record<string, unknown>;

/** Where a sub-filter sits: `$expr`/`$text` only apply to the whole document. */
type Level = 'top' | 'sub';

/** Operators that stand where a field name would (mongod's pathless operators). */
const PATHLESS = new Set([
  '$and',
  '$or',
  '$nor',
  '$comment',
  '$where',
  '$text',
  '$expr',
  '$jsonSchema',
  '$alwaysTrue',
  '$alwaysFalse',
  '$sampleRate',
]);

/** The operators that apply to a field (mongod's path-accepting keywords). */
const FIELD_OPS = new Set([
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$exists',
  '$type',
  '$size',
  '$mod',
  '$regex',
  '$options',
  '$elemMatch',
  '$all',
  '$not',
  '$bitsAllSet',
  '$bitsAllClear',
  '$bitsAnySet',
  '$bitsAnyClear',
  '$near',
  '$nearSphere',
  '$geoWithin',
  '$geoIntersects',
  '$within',
]);

/** Pathless operators this server does not run, with the reason it gives. */
const UNSUPPORTED_PATHLESS: Record<string, string> = {
  $where: 'server-side JavaScript ($where) is not supported by the embedded MongoDB server',
  $text: '$text (text search) is not supported by the embedded MongoDB server',
  $jsonSchema: '$jsonSchema is not supported by the embedded MongoDB server',
  $alwaysTrue: '$alwaysTrue is not supported by the embedded MongoDB server',
  $alwaysFalse: '$alwaysFalse is not supported by the embedded MongoDB server',
  $sampleRate: '$sampleRate is not supported by the embedded MongoDB server',
};

/** Field operators this server does not run (geo). */
const UNSUPPORTED_FIELD_OPS = new Set([
  '$near',
  '$nearSphere',
  '$geoWithin',
  '$geoIntersects',
  '$within',
  '$maxDistance',
  '$minDistance',
]);

function isPlainDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeClass(v) === 20;
}

function isRegex(v: unknown): boolean {
  return v instanceof RegExp || v instanceof BSONRegExp;
}

function isNumber(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof Long || v instanceof Decimal128;
}

function numberOf(v: unknown): number {
  return typeof v === 'number' ? v : Number(String(v));
}

/** The value as mongod prints it in an error message (close enough: JSON, regexes as /p/f). */
export function shown(v: unknown): string {
  if (isRegex(v)) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A BadValue (2) refusal, as mongod's parsers answer a malformed argument. */
export function bad(message: string): MongoCommandError {
  return new MongoCommandError(2, message);
}

/** Whether a value is an operator document (`{$gt: 1}`), not a literal (`{a: 1}`, a DBRef `{$ref, $id}`). */
function isExpressionDoc(v: unknown, allowIncompleteDbRef: boolean): v is Doc {
  if (!isPlainDoc(v)) return false;
  const keys = Object.keys(v);
  if (keys.length === 0 || !keys[0]?.startsWith('$')) return false;
  const hasRef = keys.includes('$ref');
  const hasId = keys.includes('$id');
  const isDbRef = allowIncompleteDbRef ? hasRef || hasId || keys.includes('$db') : hasRef && hasId;
  return !isDbRef;
}

/** mongod's integer parse of an operator argument (FailedToParse 9 when it is not a whole number). */
function integerArgument(v: unknown, what: string, nonNegative: boolean): number {
  if (!isNumber(v)) throw new MongoCommandError(9, `Expected a number in: ${what}: ${shown(v)}`);
  const n = numberOf(v);
  if (Number.isNaN(n)) throw new MongoCommandError(9, `Expected an integer, but found NaN in: ${what}: ${shown(v)}`);
  if (!Number.isInteger(n)) throw new MongoCommandError(9, `Expected an integer: ${what}: ${shown(v)}`);
  if (nonNegative && n < 0) throw new MongoCommandError(9, `Expected a positive number in: ${what}: ${shown(v)}`);
  return n;
}

function checkTree(op: string, arg: unknown, level: Level): void {
  if (!Array.isArray(arg)) throw bad(`${op} must be an array`);
  if (arg.length === 0) throw bad('$and/$or/$nor must be a nonempty array');
  for (const sub of arg) {
    if (!isPlainDoc(sub)) throw bad('$or/$and/$nor entries need to be full objects');
    checkFilterAt(sub, level);
  }
}

function checkPathless(op: string, arg: unknown, level: Level): void {
  switch (op) {
    case '$and':
    case '$or':
    case '$nor':
      checkTree(op, arg, level);
      return;
    case '$comment':
      return;
    case '$expr':
      if (level === 'sub') throw bad('$expr can only be applied to the top-level document');
      checkExpression(arg);
      return;
    case '$text':
      if (level === 'sub') throw bad('$text can only be applied to the top-level document');
      break;
  }
  const unsupported = UNSUPPORTED_PATHLESS[op];
  if (unsupported) throw new MongoCommandError(115, unsupported);
}

function checkMod(arg: unknown): void {
  if (!Array.isArray(arg)) throw bad('malformed mod, needs to be an array');
  if (arg.length < 2) throw bad('malformed mod, not enough elements');
  if (arg.length > 2) throw bad('malformed mod, too many elements');
  const [divisor, remainder] = arg;
  if (!isNumber(divisor)) throw bad('malformed mod, divisor not a number');
  if (!isNumber(remainder)) throw bad('malformed mod, remainder not a number');
  for (const [name, v] of [
    ['divisor', divisor],
    ['remainder', remainder],
  ] as const) {
    if (!Number.isFinite(numberOf(v)))
      throw bad(`malformed mod, ${name} value is invalid :: caused by :: Unable to coerce NaN/Inf to integral type`);
  }
  if (Math.trunc(numberOf(divisor)) === 0) throw bad('divisor cannot be 0');
}

function checkSize(arg: unknown): void {
  if (!isNumber(arg)) throw bad('$size needs a number');
  const n = numberOf(arg);
  if (!Number.isInteger(n)) throw bad('$size must be a whole number');
  if (n < 0) throw bad('$size may not be negative');
  if (n > 2147483647) throw bad('$size must be representable as a 32-bit integer');
}

function checkBitTest(op: string, arg: unknown): void {
  if (Array.isArray(arg)) {
    for (const p of arg) {
      if (!isNumber(p)) throw bad(`bit positions must be an integer but got: ${shown(p)}`);
      const n = numberOf(p);
      if (Number.isNaN(n)) throw bad(`bit positions cannot take a NaN: ${shown(p)}`);
      if (n > 2147483647 || n < -2147483648)
        throw bad(`bit positions cannot be represented as a 32-bit signed integer: ${shown(p)}`);
      if (!Number.isInteger(n)) throw bad(`bit positions must be an integer but got: ${shown(p)}`);
      if (n < 0) throw bad(`bit positions must be >= 0 but got: ${shown(p)}`);
    }
    return;
  }
  if (isNumber(arg)) {
    integerArgument(arg, op, true);
    return;
  }
  if ((arg as { _bsontype?: string } | null)?._bsontype === 'Binary') return;
  throw bad(`${op} takes an Array, a number, or a BinData but received: ${op}: ${shown(arg)}`);
}

function checkAll(arg: unknown): void {
  if (!Array.isArray(arg)) throw bad('$all needs an array');
  const first = arg[0];
  if (isPlainDoc(first) && Object.keys(first)[0] === '$elemMatch') {
    for (const e of arg) {
      if (!isPlainDoc(e) || Object.keys(e)[0] !== '$elemMatch') throw bad('$all/$elemMatch has to be consistent');
      checkElemMatch(e.$elemMatch);
    }
    return;
  }
  for (const e of arg) {
    if (isPlainDoc(e) && FIELD_OPS.has(Object.keys(e)[0] as string)) throw bad('no $ expressions in $all');
  }
}

function checkElemMatch(arg: unknown): void {
  if (!isPlainDoc(arg)) throw bad('$elemMatch needs an Object');
  const first = Object.keys(arg)[0];
  if (isExpressionDoc(arg, true) && first !== undefined && !PATHLESS.has(first)) {
    // Value form: {$elemMatch: {$gt: 1, $lt: 5}} applies operators to each element.
    checkOperators('', arg, 'sub');
    return;
  }
  if ('$where' in arg) throw bad('$elemMatch cannot contain $where expression');
  checkFilterAt(arg, 'sub');
}

function checkNot(arg: unknown, level: Level): void {
  if (isRegex(arg)) return;
  if (!isPlainDoc(arg)) throw bad('$not needs a regex or a document');
  if (Object.keys(arg).length === 0) throw bad('$not cannot be empty');
  if ('$regex' in arg && !isRegex(arg.$regex) && typeof arg.$regex !== 'string') throw bad('$regex has to be a string');
  checkOperators('', arg, level);
}

function checkRegexDoc(sub: Doc): void {
  const regex = sub.$regex;
  const options = sub.$options;
  if (regex !== undefined && typeof regex !== 'string' && !isRegex(regex)) throw bad('$regex has to be a string');
  if (options !== undefined) {
    if (typeof options !== 'string') throw bad('$options has to be a string');
    const regexFlags = regex instanceof RegExp ? regex.flags : regex instanceof BSONRegExp ? regex.options : '';
    if (regexFlags !== '') {
      const regexFirst = Object.keys(sub).indexOf('$regex') < Object.keys(sub).indexOf('$options');
      throw new MongoCommandError(regexFirst ? 51075 : 51074, 'options set in both $regex and $options');
    }
  }
}

/** One field's operator document (`{$gt: 1, $lt: 5}`): each operator's argument checked. */
function checkOperators(path: string, sub: Doc, level: Level): void {
  const keys = Object.keys(sub);
  if (UNSUPPORTED_FIELD_OPS.has(keys[0] as string))
    throw new MongoCommandError(115, `${keys[0]} (geospatial queries) is not supported by the embedded MongoDB server`);
  for (const op of keys) {
    const arg = sub[op];
    switch (op) {
      case '$eq':
        break;
      case '$ne':
        if (isRegex(arg)) throw bad("Can't have regex as arg to $ne.");
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (isRegex(arg)) throw bad(`Can't have RegEx as arg to predicate over field '${path}'.`);
        break;
      case '$in':
      case '$nin':
        if (!Array.isArray(arg)) throw bad(`${op} needs an array`);
        for (const v of arg) if (isExpressionDoc(v, false)) throw bad(`cannot nest $ under ${op}`);
        break;
      case '$exists':
        break;
      case '$type':
        if (Array.isArray(arg) && arg.length === 0)
          throw new MongoCommandError(9, `${path} must match at least one type`);
        break; // the aliases and numbers are checked where $type is compiled (bson-match.ts)
      case '$size':
        checkSize(arg);
        break;
      case '$mod':
        checkMod(arg);
        break;
      case '$options':
        if (!('$regex' in sub)) throw bad('$options needs a $regex');
        checkRegexDoc(sub);
        break;
      case '$regex':
        checkRegexDoc(sub);
        break;
      case '$elemMatch':
        checkElemMatch(arg);
        break;
      case '$all':
        checkAll(arg);
        break;
      case '$not':
        checkNot(arg, level);
        break;
      case '$bitsAllSet':
      case '$bitsAllClear':
      case '$bitsAnySet':
      case '$bitsAnyClear':
        checkBitTest(op, arg);
        break;
      case '$where':
        throw bad('$where cannot be applied to a field');
      default:
        if (UNSUPPORTED_FIELD_OPS.has(op))
          throw new MongoCommandError(
            115,
            `${op} (geospatial queries) is not supported by the embedded MongoDB server`,
          );
        throw bad(`unknown operator: ${op}`);
    }
  }
}

function checkFilterAt(filter: Doc, level: Level): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$')) {
      if (!PATHLESS.has(key))
        throw bad(
          `unknown top level operator: ${key}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField.`,
        );
      checkPathless(key, value, level);
      continue;
    }
    if (isExpressionDoc(value, false)) checkOperators(key, value, level === 'top' ? 'top' : level);
  }
}

/**
 * Refuses a filter mongod's parser refuses (2 BadValue, 9 FailedToParse, 51074/51075), and the
 * operators this server does not run (115): `$where`, `$text`, `$jsonSchema`, geo operators…
 */
export function validateFilter(filter: Doc): void {
  checkFilterAt(filter, 'top');
}

/**
 * The filter without its `$comment`s (at the top and inside `$and`/`$or`/`$nor`): mongod ignores
 * them, mingo does not know the operator.
 */
export function withoutComments(filter: Doc): Doc {
  if (!Object.keys(filter).some((k) => k === '$comment' || k === '$and' || k === '$or' || k === '$nor')) return filter;
  const out: Doc = {};
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$comment') continue;
    out[k] =
      (k === '$and' || k === '$or' || k === '$nor') && Array.isArray(v)
        ? v.map((sub) => (isPlainDoc(sub) ? withoutComments(sub) : sub))
        : v;
  }
  return out;
}

/** Operators a partial index's filter may use in MongoDB 7.0 (besides `$and`/`$or` and equality). */
const PARTIAL_FIELD_OPS = new Set(['$eq', '$exists', '$gt', '$gte', '$lt', '$lte', '$type', '$in']);

function partialRefusal(what: unknown): MongoCommandError {
  return new MongoCommandError(
    67,
    `Error in specification :: caused by :: Expression not supported in partial index: ${shown(what)}`,
  );
}

/**
 * A `partialFilterExpression` checked like mongod: a valid filter (2…) made only of equalities,
 * `$exists: true`, `$gt`/`$gte`/`$lt`/`$lte`, `$type`, `$in`, joined by `$and`/`$or` (67 otherwise).
 */
export function validatePartialFilter(filter: Doc): void {
  validateFilter(filter);
  const visit = (f: Doc): void => {
    for (const [key, value] of Object.entries(f)) {
      if (key === '$and' || key === '$or') {
        for (const sub of value as Doc[]) visit(sub);
        continue;
      }
      if (key.startsWith('$')) throw partialRefusal({ [key]: value });
      if (isRegex(value)) throw partialRefusal({ [key]: value });
      if (!isExpressionDoc(value, false)) continue;
      for (const [op, arg] of Object.entries(value)) {
        if (!PARTIAL_FIELD_OPS.has(op) || (op === '$exists' && !arg) || (op === '$eq' && isRegex(arg)))
          throw partialRefusal({ [key]: { [op]: arg } });
      }
    }
  };
  visit(filter);
}
