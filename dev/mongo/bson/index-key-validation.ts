/**
 * An index key pattern checked as mongod 7.0 checks it (index_key_validate.cpp, validateKeyPattern
 * and validateIndexSpec): a missing key 9, a key that is no object 14, everything else 67
 * CannotCreateIndex. Any non-zero number is a direction (`{a: 2}` and `{a: -0.5}` are ascending
 * and descending, as in mongod); the index types mongod names by a string (`text`, `2dsphere`,
 * `hashed`…) and wildcard indexes are known to mongod but not built here, so they are refused
 * with 67 by name, as the README's table of deliberate refusals says.
 */
import { Decimal128, Long } from 'bson';
import { MongoCommandError } from './errors.ts';
import { bsonTypeName } from './order.ts';

/** The index plugins mongod 7.0 knows (IndexNames); none is built by this server. */
const KNOWN_PLUGINS = new Set(['2d', '2dsphere', '2dsphere_bucket', 'text', 'hashed', 'wildcard', 'columnstore']);

/** Most fields an index key may have (mongod's Ordering: kMaxCompoundIndexKeys). */
const MAX_KEY_FIELDS = 32;

function cannotCreate(message: string): MongoCommandError {
  return new MongoCommandError(67, message);
}

/** The value of a BSON number of any type as a double, or undefined for a non-number. */
function numberValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Long) return v.toNumber();
  if (v instanceof Decimal128) return Number(v.toString());
  return undefined;
}

/** mongod's IndexNames::findPluginName: the first string value, or `wildcard` for a `$**` field; '' for a btree. */
function pluginName(key: Record<string, unknown>): string {
  for (const [field, value] of Object.entries(key)) {
    if (typeof value === 'string') return value;
    if (field === '$**' || field.endsWith('.$**')) return 'wildcard';
  }
  return '';
}

/** mongod's checks of one key field's name: no empty component, no `$` but a DBRef's `$id`/`$ref`/`$db` after the first. */
function checkKeyField(field: string, plugin: string): void {
  if (field === '') throw cannotCreate('Index keys cannot be an empty field.');
  if (field === '_fts') throw cannotCreate("Index key contains an illegal field name: '_fts'");
  const parts = field.split('.');
  parts.forEach((part, i) => {
    if (part === '') throw cannotCreate('Index keys cannot contain an empty field.');
    const dbRef = i !== 0 && (part === '$id' || part === '$ref' || part === '$db');
    const wildcard = i === parts.length - 1 && part === '$**' && plugin === 'wildcard';
    if (part.startsWith('$') && !dbRef && !wildcard)
      throw cannotCreate("Index key contains an illegal field name: field name starts with '$'.");
  });
}

/**
 * Checks a createIndexes key pattern (its values are then BSON numbers: a number, or an Int64/Decimal128
 * beyond what `promoteValues` turns into one, which `Number()` reads); throws mongod's error for anything mongod
 * refuses, and 67 by name for the index types mongod has and this server does not build.
 */
export function checkIndexKeyPattern(key: unknown): asserts key is Record<string, number> {
  if (key === undefined)
    throw new MongoCommandError(9, "The 'key' field is a required property of an index specification");
  if (typeof key !== 'object' || key === null || Array.isArray(key) || bsonTypeName(key) !== 'object')
    throw new MongoCommandError(14, `The field 'key' must be an object, but got ${bsonTypeName(key)}`);
  const pattern = key as Record<string, unknown>;
  const entries = Object.entries(pattern);
  if (entries.length === 0) throw cannotCreate('Index keys cannot be empty.');
  const plugin = pluginName(pattern);
  if (plugin === 'geoHaystack') throw cannotCreate('GeoHaystack indexes cannot be created in version 5.0 and above');
  if (plugin !== '' && !KNOWN_PLUGINS.has(plugin)) throw cannotCreate(`Unknown index plugin '${plugin}'`);
  for (const [field, value] of entries) {
    const n = numberValue(value);
    if (n !== undefined) {
      if (Number.isNaN(n)) throw cannotCreate('Values in the index key pattern cannot be NaN.');
      if (n === 0) throw cannotCreate('Values in the index key pattern cannot be 0.');
    } else if (typeof value !== 'string') {
      throw cannotCreate(
        `Values in v:2 index key pattern cannot be of type ${bsonTypeName(value)}. Only numbers > 0, numbers < 0, and strings are allowed.`,
      );
    } else if (value !== plugin) {
      throw cannotCreate("Can't use more than one index plugin for a single index.");
    }
    if (field === '$**' && plugin !== '') continue; // text, columnstore and wildcard take it: refused below
    checkKeyField(field, plugin);
  }
  for (const value of Object.values(pattern))
    if (value === '') throw cannotCreate('Values in the index key pattern cannot be empty strings');
  if (plugin !== '')
    throw cannotCreate(
      `'${plugin}' indexes are not supported by the embedded MongoDB server (only ascending and descending keys)`,
    );
  if (entries.length > MAX_KEY_FIELDS) throw cannotCreate(`too many compound keys (at most ${MAX_KEY_FIELDS})`);
}
