/**
 * MongoDB collations (`{ locale, strength, caseLevel, caseFirst, numericOrdering, … }`): parsed and
 * validated like mongod, and turned into a string comparison with `Intl.Collator` (Node ships full
 * ICU, the library mongod uses too).
 *
 * Why not mingo's `collation` option: mingo 7 applies it only in its `$sort` stage and compares
 * other types with its own (non-BSON) order; equality, `$in`, ranges, `distinct` and indexes would
 * still compare strings binarily. So the comparison lives here and `compareBson` takes it.
 *
 * What `Intl.Collator` cannot express is refused with 115 instead of approximated: strength 4/5,
 * `alternate: 'shifted'`, a `backwards` other than the locale's own (true only for fr_CA),
 * `normalization: true`, `caseLevel: true` above strength 1, and locale keywords (`@collation=…`).
 */

import { MongoCommandError } from './errors.ts';
import { formatKeyValue, type StringCompare, bsonTypeName as typeName } from './order.ts';

type Doc = Record<string, unknown>;

/** A non-simple collation (the simple one, binary comparison, is `undefined` everywhere). */
export interface Collation {
  /** The full specification, as mongod reports it in listIndexes. */
  readonly spec: Doc;
  /** Equal for two collations exactly when they compare alike. */
  readonly id: string;
  readonly compare: StringCompare;
}

/** The ICU version mongod 7.0 reports in a collation's `version`. */
const ICU_VERSION = '57.1';

const FIELDS: Record<string, 'string' | 'bool' | 'int'> = {
  locale: 'string',
  caseLevel: 'bool',
  caseFirst: 'string',
  strength: 'int',
  numericOrdering: 'bool',
  alternate: 'string',
  maxVariable: 'string',
  normalization: 'bool',
  backwards: 'bool',
  version: 'string',
};

const ENUMS: Record<string, string[]> = {
  caseFirst: ['upper', 'lower', 'off'],
  alternate: ['non-ignorable', 'shifted'],
  maxVariable: ['punct', 'space'],
};

function shown(raw: Doc): string {
  return formatKeyValue(raw);
}

function notSupported(what: string): MongoCommandError {
  return new MongoCommandError(
    115,
    `collation ${what} is not supported by the embedded MongoDB server (see dev/mongo/README.md)`,
  );
}

const cache = new Map<string, Collation | undefined>();

/**
 * Parses a `collation` option. Returns undefined for the simple collation (`{ locale: 'simple' }`);
 * throws mongod's errors for an invalid one, and 115 for options this server cannot honour.
 */
export function parseCollation(raw: unknown, field = 'collation'): Collation | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || typeName(raw) !== 'object') {
    throw new MongoCommandError(
      14,
      `BSON field '${field}' is the wrong type '${typeName(raw)}', expected type 'object'`,
    );
  }
  const spec = raw as Doc;
  const key = JSON.stringify(spec);
  if (cache.has(key)) return cache.get(key);
  const parsed = parseUncached(spec);
  if (cache.size > 1000) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

function parseUncached(raw: Doc): Collation | undefined {
  for (const [k, v] of Object.entries(raw)) {
    const want = FIELDS[k];
    if (!want) throw new MongoCommandError(40415, `BSON field '${k}' is an unknown field.`);
    const ok =
      want === 'string'
        ? typeof v === 'string'
        : want === 'bool'
          ? typeof v === 'boolean'
          : typeof v === 'number' && Number.isInteger(v);
    if (!ok) {
      const expected = want === 'int' ? 'int, long, double, decimal' : want;
      throw new MongoCommandError(
        14,
        `BSON field '${k}' is the wrong type '${typeName(v)}', expected type '${expected}'`,
      );
    }
  }
  const locale = raw.locale;
  if (typeof locale !== 'string')
    throw new MongoCommandError(40414, "BSON field 'locale' is missing but a required field");
  for (const [k, values] of Object.entries(ENUMS)) {
    const v = raw[k];
    if (v !== undefined && !values.includes(v as string))
      throw new MongoCommandError(2, `Enumeration value '${String(v)}' for field '${k}' is not a valid value.`);
  }
  if (locale === 'simple') {
    if (Object.keys(raw).length > 1)
      throw new MongoCommandError(2, `If locale=simple, no other fields should be present in: ${shown(raw)}`);
    return undefined;
  }
  if (locale === '') throw new MongoCommandError(2, `Field 'locale' cannot be the empty string in: ${shown(raw)}`);
  if (locale.includes('\0'))
    throw new MongoCommandError(2, `Field 'locale' cannot contain null byte. Collation spec: ${shown(raw)}`);
  if (locale.includes('@')) throw notSupported(`locale keywords ('${locale}')`);
  checkLocale(locale, raw);

  const strength = raw.strength === undefined ? 3 : (raw.strength as number);
  if (strength < 1 || strength > 5)
    throw new MongoCommandError(2, `Field 'strength' must be an integer 1 through 5. Got: ${strength}`);
  const tag = locale.replace(/_/g, '-');
  const defaults = new Intl.Collator(tag).resolvedOptions();
  const caseLevel = raw.caseLevel === true;
  const caseFirst =
    (raw.caseFirst as string | undefined) ??
    (defaults.caseFirst === 'upper' || defaults.caseFirst === 'lower' ? defaults.caseFirst : 'off');
  const backwards = raw.backwards === true;
  // fr_CA is the one locale whose rules sort accents backwards; Intl.Collator follows the locale.
  const localeBackwards = locale === 'fr_CA';
  if (backwards && strength === 1)
    throw new MongoCommandError(2, `'backwards' is invalid with 'strength' of 1 in: ${shown(raw)}`);
  if (raw.caseFirst !== undefined && raw.caseFirst !== 'off' && !caseLevel && strength < 3)
    throw new MongoCommandError(
      2,
      `'caseFirst' is invalid unless 'caseLevel' is on or 'strength' is greater than 2 in: ${shown(raw)}`,
    );
  if (raw.version !== undefined && raw.version !== ICU_VERSION)
    throw new MongoCommandError(
      121,
      `Requested collation version ${String(raw.version)} but the only available collator version was ${ICU_VERSION}. Requested collation spec: ${shown(raw)}`,
    );

  // What Intl.Collator cannot do exactly is refused, never approximated.
  if (strength > 3) throw notSupported(`strength ${strength}`);
  if (raw.alternate === 'shifted') throw notSupported("alternate 'shifted'");
  if (raw.backwards !== undefined && backwards !== localeBackwards)
    throw notSupported(`backwards: ${String(backwards)} with locale '${locale}'`);
  if (raw.normalization === true) throw notSupported('normalization: true');
  if (caseLevel && strength !== 1) throw notSupported(`caseLevel: true with strength ${strength}`);

  const numericOrdering = raw.numericOrdering === true;
  const sensitivity = caseLevel ? 'case' : strength === 1 ? 'base' : strength === 2 ? 'accent' : 'variant';
  const collator = new Intl.Collator(tag, {
    usage: 'sort',
    sensitivity,
    numeric: numericOrdering,
    caseFirst: caseFirst === 'off' ? 'false' : (caseFirst as 'upper' | 'lower'),
  });
  const spec: Doc = {
    locale,
    caseLevel,
    caseFirst,
    strength,
    numericOrdering,
    alternate: 'non-ignorable',
    maxVariable: (raw.maxVariable as string | undefined) ?? 'punct',
    normalization: false,
    backwards: localeBackwards,
    version: ICU_VERSION,
  };
  return { spec, id: JSON.stringify(spec), compare: (a, b) => collator.compare(a, b) };
}

/**
 * mongod accepts a locale only when ICU uses it as written (no fallback, no canonicalization) and
 * suggests the one it would use. `Intl.Collator`'s resolved locale plays ICU's part here.
 */
function checkLocale(locale: string, raw: Doc): void {
  const tag = locale.replace(/_/g, '-');
  const wellFormed = /^[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2}|_\d{3})?(_[A-Z]+)?$/.test(locale);
  let supported: string[] = [];
  try {
    supported = Intl.Collator.supportedLocalesOf([tag]);
  } catch {
    // an ill-formed tag: invalid
  }
  const resolved = supported.length > 0 ? new Intl.Collator(tag).resolvedOptions().locale : undefined;
  if (wellFormed && resolved === tag) return;
  const suggestion = resolved ? `. Did you mean '${resolved.replace(/-/g, '_')}'?` : '';
  throw new MongoCommandError(2, `Field 'locale' is invalid in: ${shown(raw)}${suggestion}`);
}

/** Whether two collations (undefined = simple) compare alike. */
export function sameCollation(a: Collation | undefined, b: Collation | undefined): boolean {
  return (a?.id ?? 'simple') === (b?.id ?? 'simple');
}
