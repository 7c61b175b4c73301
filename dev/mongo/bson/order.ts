/**
 * MongoDB's BSON comparison order, used by indexes (mingo's own order is close but not identical),
 * plus a canonical string form of values used as map keys for `_id` and unique index keys.
 */
import { Binary, BSONRegExp, BSONSymbol, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp } from 'bson';

/** Canonical type bracket of a value in BSON sort order (lower sorts first). */
export function typeClass(v: unknown): number {
  if (v === null || v === undefined) return 5;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 10;
    case 'string':
      return 15;
    case 'boolean':
      return 40;
    case 'object':
      break;
    default:
      return 60;
  }
  if (v instanceof MinKey) return 1;
  if (v instanceof MaxKey) return 100;
  // Timestamp extends Long in bson 7: test it first.
  if (v instanceof Timestamp) return 47;
  if (v instanceof Long || v instanceof Decimal128) return 10;
  if (v instanceof BSONSymbol) return 15;
  if (Array.isArray(v)) return 25;
  if (v instanceof Binary) return 30;
  if (v instanceof ObjectId) return 35;
  if (v instanceof Date) return 45;
  if (v instanceof RegExp || v instanceof BSONRegExp) return 50;
  const bsontype = (v as { _bsontype?: string })._bsontype;
  if (bsontype === 'Code') return 55;
  return 20;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Decimal128) return Number(v.toString());
  return Number.NaN;
}

/** A Long (not a Timestamp) or a bigint. */
export function isLong(v: unknown): v is Long | bigint {
  return (v instanceof Long && !(v instanceof Timestamp)) || typeof v === 'bigint';
}

/** Both values as exact BigInts when one is an Int64/bigint and both are integers, else undefined. */
function exactInteger(a: unknown, b: unknown): [bigint, bigint] | undefined {
  if (!isLong(a) && !isLong(b)) return undefined;
  const asBig = (v: unknown): bigint | undefined => {
    if (typeof v === 'bigint') return v;
    if (v instanceof Long) return BigInt(v.toString());
    if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
    return undefined;
  };
  const x = asBig(a);
  const y = asBig(b);
  return x === undefined || y === undefined ? undefined : [x, y];
}

/** A finite number's exact value as coefficient × 10^exponent; undefined for NaN and ±Infinity. */
export function exactDecimal(v: unknown): { c: bigint; e: number } | undefined {
  if (typeof v === 'bigint') return { c: v, e: 0 };
  if (v instanceof Long) return { c: BigInt(v.toString()), e: 0 };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    if (Number.isInteger(v)) return { c: BigInt(v), e: 0 };
    // A double is m / 2^k exactly, that is m·5^k / 10^k (doubling is exact here).
    let k = 0;
    let x = v;
    while (!Number.isInteger(x)) {
      x *= 2;
      k++;
    }
    return { c: BigInt(x) * 5n ** BigInt(k), e: -k };
  }
  if (v instanceof Decimal128) {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:E([+-]?\d+))?$/i.exec(v.toString());
    if (!m) return undefined;
    const frac = m[3] ?? '';
    return { c: BigInt(`${m[1]}${m[2] || '0'}${frac}`), e: Number(m[4] ?? 0) - frac.length };
  }
  return undefined;
}

/** Exact comparison of two finite decimals. */
function cmpDecimal(a: { c: bigint; e: number }, b: { c: bigint; e: number }): number {
  const e = Math.min(a.e, b.e);
  const x = a.c * 10n ** BigInt(a.e - e);
  const y = b.c * 10n ** BigInt(b.e - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

function cmpPrimitive(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return cmpPrimitive(a.length, b.length);
}

/** A string comparison: a collation's (see collation.ts); binary (UTF-16 code units) when absent. */
export type StringCompare = (a: string, b: string) => number;

/**
 * Compares two BSON values the way mongod orders index keys and sorts; `strings` is the
 * collation's comparison of strings (inside documents and arrays too; field names stay binary).
 */
export function compareBson(a: unknown, b: unknown, strings?: StringCompare): number {
  // The commonest pairs in index keys, answered as the switch below answers them, without
  // typeClass's instanceof chain (a Date is tested after seven other classes there).
  if (typeof a === 'string' && typeof b === 'string') return strings ? Math.sign(strings(a, b)) : cmpPrimitive(a, b);
  if (a instanceof Date && b instanceof Date) return cmpPrimitive(a.getTime(), b.getTime());
  const ca = typeClass(a);
  const cb = typeClass(b);
  if (ca !== cb) return ca < cb ? -1 : 1;
  switch (ca) {
    case 1:
    case 5:
    case 100:
      return 0;
    case 10: {
      // Int64 beyond 2^53 loses precision as a double: compare integers exactly.
      const big = exactInteger(a, b);
      if (big) return big[0] < big[1] ? -1 : big[0] > big[1] ? 1 : 0;
      if (a instanceof Decimal128 || b instanceof Decimal128) {
        // Decimal128 against anything: by exact value (Decimal128("9.99") is not the double 9.99).
        const da = exactDecimal(a);
        const db = exactDecimal(b);
        if (da && db) return cmpDecimal(da, db);
      }
      const x = toNumber(a);
      const y = toNumber(b);
      // NaN sorts before all other numbers in MongoDB.
      if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : -1;
      if (Number.isNaN(y)) return 1;
      return cmpPrimitive(x, y);
    }
    case 15:
      return strings ? Math.sign(strings(String(a), String(b))) : cmpPrimitive(String(a), String(b));
    case 20: {
      const ea = Object.entries(a as object);
      const eb = Object.entries(b as object);
      const n = Math.min(ea.length, eb.length);
      for (let i = 0; i < n; i++) {
        const [ka, va] = ea[i] as [string, unknown];
        const [kb, vb] = eb[i] as [string, unknown];
        const t = typeClass(va) - typeClass(vb);
        if (t !== 0) return t < 0 ? -1 : 1;
        const k = cmpPrimitive(ka, kb);
        if (k !== 0) return k;
        const c = compareBson(va, vb, strings);
        if (c !== 0) return c;
      }
      return cmpPrimitive(ea.length, eb.length);
    }
    case 25: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareBson(xa[i], xb[i], strings);
        if (c !== 0) return c;
      }
      return cmpPrimitive(xa.length, xb.length);
    }
    case 30: {
      const x = a as Binary;
      const y = b as Binary;
      if (x.position !== y.position) return x.position < y.position ? -1 : 1;
      if (x.sub_type !== y.sub_type) return x.sub_type < y.sub_type ? -1 : 1;
      return cmpBytes(x.buffer.subarray(0, x.position), y.buffer.subarray(0, y.position));
    }
    case 35:
      return cmpBytes((a as ObjectId).id, (b as ObjectId).id);
    case 40:
      return cmpPrimitive(Number(a), Number(b));
    case 45:
      return cmpPrimitive((a as Date).getTime(), (b as Date).getTime());
    case 47: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return x.t !== y.t ? cmpPrimitive(x.t, y.t) : cmpPrimitive(x.i, y.i);
    }
    default:
      return cmpPrimitive(String(a), String(b));
  }
}

/**
 * A string that is equal for two values exactly when mongod treats them as the same key
 * (1, 1.0 and Long(1) are one key; "1" and 1 are not). With `anyString`, every string has the
 * same key: a coarse key that two values equal under any collation share (for collated unique-key locks).
 */
export function keyString(v: unknown, anyString = false): string {
  switch (typeClass(v)) {
    case 1:
      return 'm';
    case 5:
      return 'z';
    case 100:
      return 'M';
    case 10: {
      // Int64 as its exact digits (a double's digits match for the same integer value).
      if (v instanceof Long) return `n${v.toString()}`;
      if (v instanceof Decimal128) return decimalKey(v);
      const n = toNumber(v);
      return `n${Object.is(n, -0) ? 0 : n}`;
    }
    case 15:
      return anyString ? 's' : `s${JSON.stringify(String(v))}`;
    case 20:
      return `{${Object.entries(v as object)
        .map(([k, x]) => `${JSON.stringify(k)}:${keyString(x, anyString)}`)
        .join(',')}}`;
    case 25:
      return `[${(v as unknown[]).map((x) => keyString(x, anyString)).join(',')}]`;
    case 30: {
      const b = v as Binary;
      return `b${b.sub_type}:${Buffer.from(b.buffer.subarray(0, b.position)).toString('base64')}`;
    }
    case 35:
      return `o${(v as ObjectId).toHexString()}`;
    case 40:
      return v ? 't' : 'f';
    case 45:
      return `d${(v as Date).getTime()}`;
    case 47:
      return `T${(v as Timestamp).toString()}`;
    default:
      return `x${String(v)}`;
  }
}

/** The key of a Decimal128: the same as the Int64/double of equal value, else its normalized digits. */
function decimalKey(v: Decimal128): string {
  const d = exactDecimal(v);
  if (!d) return `n${toNumber(v)}`;
  let { c, e } = d;
  if (c === 0n) return 'n0';
  while (c % 10n === 0n) {
    c /= 10n;
    e++;
  }
  if (e >= 0 && e < 40) {
    const n = c * 10n ** BigInt(e);
    if (n >= -(2n ** 63n) && n < 2n ** 63n) return `n${n}`;
  }
  const asDouble = toNumber(v);
  const back = exactDecimal(asDouble);
  if (back && cmpDecimal(back, { c, e }) === 0) return `n${Object.is(asDouble, -0) ? 0 : asDouble}`;
  return `d${c}e${e}`;
}

/** mongod's names of the js-bson classes (the `$type` aliases). */
const TYPE_NAMES_BY_CLASS: Record<string, string> = {
  Double: 'double',
  Int32: 'int',
  Long: 'long',
  Decimal128: 'decimal',
  ObjectId: 'objectId',
  Binary: 'binData',
  BSONRegExp: 'regex',
  Timestamp: 'timestamp',
  MinKey: 'minKey',
  MaxKey: 'maxKey',
  BSONSymbol: 'symbol',
};

/**
 * The BSON type name mongod prints in type errors and `$type` answers (`int`, `double`,
 * `string`, `objectId`, `decimal`…); `missing` for an absent value.
 */
export function bsonTypeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'bigint') return 'long';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  const bsonClass = (v as { _bsontype?: string })._bsontype;
  // js-bson reads every {$ref, $id} sub-document as a DBRef: to mongod it is an object.
  if (bsonClass === 'Code') return (v as { scope?: unknown }).scope ? 'javascriptWithScope' : 'javascript';
  return (bsonClass && TYPE_NAMES_BY_CLASS[bsonClass]) ?? 'object';
}

/** Formats a value like mongod does inside `dup key: { … }` error messages. */
export function formatKeyValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof ObjectId) return `ObjectId('${v.toHexString()}')`;
  if (v instanceof Date) return `new Date(${v.getTime()})`;
  if (v instanceof Long) return String(v.toString());
  if (Array.isArray(v)) return `[ ${v.map(formatKeyValue).join(', ')} ]`;
  if (v instanceof Binary)
    return `BinData(${v.sub_type}, ${Buffer.from(v.buffer.subarray(0, v.position)).toString('hex').toUpperCase()})`;
  if (typeof v === 'object' && typeTagIsPlain(v)) {
    const parts = Object.entries(v as object).map(([k, x]) => `${k}: ${formatKeyValue(x)}`);
    return parts.length ? `{ ${parts.join(', ')} }` : '{}';
  }
  return String(v);
}

function typeTagIsPlain(v: object): boolean {
  return typeClass(v) === 20;
}
