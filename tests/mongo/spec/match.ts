/**
 * The unified test format's matching rules: expected values (from the spec files) against what the
 * driver returned. Root documents may carry extra fields, nested ones may not; `$$`-operators
 * (`$$exists`, `$$type`, `$$unsetOrMatches`, `$$matchesEntity`, `$$sessionLsid`, …) as specified.
 */
import { EJSON } from 'bson';

/** A mismatch, with the path where it was found. */
export class MatchError extends Error {}

/** Entities a `$$matchesEntity` / `$$sessionLsid` operator may refer to. */
export interface EntityLookup {
  get(name: string): unknown;
  lsidOf(name: string): unknown;
}

type Doc = Record<string, unknown>;

function isPlainDoc(v: unknown): v is Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The BSON class name of a value. Checked by name, not instanceof: the driver (CommonJS) and this
 * runner (ESM) load two copies of the bson package.
 */
function bsonType(v: unknown): string | undefined {
  return typeof v === 'object' && v !== null ? (v as { _bsontype?: string })._bsontype : undefined;
}

/** A numeric value as a JS number (Int32/Int64/Double), or undefined. Decimal128 is kept apart. */
function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const t = bsonType(v);
  if (t === 'Long') return (v as { toNumber(): number }).toNumber();
  if (t === 'Int32' || t === 'Double') return (v as { valueOf(): number }).valueOf();
  return undefined;
}

function describe(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  } catch {
    return String(v);
  }
}

/** BSON type name of a driver value, as `$$type` spells them (numbers: all the names they may have had). */
function typeNames(v: unknown): string[] {
  if (v === null) return ['null'];
  if (v === undefined) return ['undefined'];
  if (typeof v === 'number') {
    // The driver promotes Int32, Int64 (within 2^53) and whole Doubles to one JS number: the wire type is lost.
    return Number.isInteger(v) ? ['int', 'long', 'double'] : ['double'];
  }
  if (typeof v === 'string') return ['string'];
  if (typeof v === 'boolean') return ['bool'];
  if (Array.isArray(v)) return ['array'];
  if (v instanceof Date) return ['date'];
  if (v instanceof RegExp) return ['regex'];
  const names: Record<string, string> = {
    Long: 'long',
    Int32: 'int',
    Double: 'double',
    Decimal128: 'decimal',
    ObjectId: 'objectId',
    Timestamp: 'timestamp',
    Binary: 'binData',
    BSONRegExp: 'regex',
    Code: 'javascript',
    MinKey: 'minKey',
    MaxKey: 'maxKey',
    BSONSymbol: 'symbol',
  };
  return [names[bsonType(v) ?? ''] ?? 'object'];
}

function fail(path: string, message: string): never {
  throw new MatchError(`${path || '(root)'}: ${message}`);
}

function matchOperator(expected: Doc, actual: unknown, path: string, entities: EntityLookup, isRoot: boolean): void {
  const [op] = Object.keys(expected);
  const arg = expected[op as string];
  switch (op) {
    case '$$exists':
      if ((actual !== undefined) !== arg)
        fail(path, `expected ${arg ? 'a value' : 'no value'}, got ${describe(actual)}`);
      return;
    case '$$type': {
      const wanted = Array.isArray(arg) ? (arg as string[]) : [arg as string];
      const have = typeNames(actual);
      if (have.some((t) => ['int', 'long', 'double', 'decimal'].includes(t))) have.push('number');
      if (!wanted.some((t) => have.includes(t))) fail(path, `expected type ${wanted.join('|')}, got ${have.join('|')}`);
      return;
    }
    case '$$unsetOrMatches':
      if (actual === undefined) return;
      matchValue(arg, actual, path, entities, isRoot);
      return;
    case '$$matchesEntity':
      matchValue(entities.get(arg as string), actual, path, entities, isRoot);
      return;
    case '$$sessionLsid':
      matchValue(entities.lsidOf(arg as string), actual, path, entities, false);
      return;
    case '$$matchesHexBytes': {
      const hex =
        bsonType(actual) === 'Binary'
          ? Buffer.from((actual as { buffer: Uint8Array }).buffer).toString('hex')
          : undefined;
      if (hex?.toLowerCase() !== String(arg).toLowerCase()) fail(path, `expected bytes ${String(arg)}`);
      return;
    }
    case '$$lte': {
      const a = numeric(actual);
      const e = numeric(arg);
      if (a === undefined || e === undefined || a > e)
        fail(path, `expected <= ${describe(arg)}, got ${describe(actual)}`);
      return;
    }
    case '$$matchAsDocument': {
      if (typeof actual !== 'string') fail(path, 'expected a JSON string');
      matchValue(arg, EJSON.parse(actual, { relaxed: true }), path, entities, false);
      return;
    }
    case '$$matchAsRoot':
      matchValue(arg, actual, path, entities, true);
      return;
    default:
      fail(path, `unsupported operator ${op}`);
  }
}

/**
 * Asserts that `actual` matches `expected` under the unified format's rules; throws MatchError.
 * `isRoot`: extra fields are allowed in this document (results, commands and replies in events).
 */
export function matchValue(
  expected: unknown,
  actual: unknown,
  path: string,
  entities: EntityLookup,
  isRoot = true,
): void {
  if (isPlainDoc(expected)) {
    const keys = Object.keys(expected);
    if (keys.length === 1 && keys[0]?.startsWith('$$')) {
      matchOperator(expected, actual, path, entities, isRoot);
      return;
    }
    if (!isPlainDoc(actual)) fail(path, `expected a document, got ${describe(actual)}`);
    for (const key of keys) {
      const e = expected[key];
      const a = actual[key];
      const sub = path ? `${path}.${key}` : key;
      if (isPlainDoc(e) && Object.keys(e).length === 1) {
        const op = Object.keys(e)[0];
        if (op === '$$exists' || op === '$$unsetOrMatches') {
          matchOperator(e, a, sub, entities, false);
          continue;
        }
      }
      if (!(key in actual)) fail(sub, `missing (expected ${describe(e)})`);
      matchValue(e, a, sub, entities, false);
    }
    if (!isRoot) {
      for (const key of Object.keys(actual)) {
        if (!(key in expected))
          fail(path ? `${path}.${key}` : key, `unexpected field (value ${describe(actual[key])})`);
      }
    }
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) fail(path, `expected an array, got ${describe(actual)}`);
    if (actual.length !== expected.length)
      fail(path, `expected ${expected.length} elements, got ${actual.length}: ${describe(actual)}`);
    // The documents of a root-level array (e.g. a find result) are root documents too.
    expected.forEach((e, i) => {
      matchValue(e, actual[i], `${path}[${i}]`, entities, isRoot);
    });
    return;
  }
  const en = numeric(expected);
  if (en !== undefined) {
    const an = numeric(actual);
    if (an === undefined || !(an === en || (Number.isNaN(an) && Number.isNaN(en))))
      fail(path, `expected ${describe(expected)}, got ${describe(actual)}`);
    return;
  }
  if (bsonType(expected) === 'Decimal128') {
    if (bsonType(actual) !== 'Decimal128' || String(actual) !== String(expected))
      fail(path, `expected Decimal128(${String(expected)}), got ${describe(actual)}`);
    return;
  }
  if (expected === null) {
    if (actual !== null) fail(path, `expected null, got ${describe(actual)}`);
    return;
  }
  if (typeof expected !== 'object') {
    if (expected !== actual) fail(path, `expected ${describe(expected)}, got ${describe(actual)}`);
    return;
  }
  if (expected instanceof Date) {
    if (!(actual instanceof Date) || actual.getTime() !== expected.getTime())
      fail(path, `expected ${expected.toISOString()}, got ${describe(actual)}`);
    return;
  }
  const eb = bsonType(expected);
  const ab = bsonType(actual);
  if (eb !== ab) fail(path, `expected ${eb ?? 'object'}, got ${ab ?? typeof actual}: ${describe(actual)}`);
  if (eb === 'Binary') {
    const [x, y] = [expected, actual] as { sub_type: number; buffer: Uint8Array }[];
    if (x?.sub_type !== y?.sub_type || !Buffer.from(x?.buffer ?? []).equals(Buffer.from(y?.buffer ?? [])))
      fail(path, 'binary differs');
    return;
  }
  if (describe(expected) !== describe(actual)) fail(path, `expected ${describe(expected)}, got ${describe(actual)}`);
}
