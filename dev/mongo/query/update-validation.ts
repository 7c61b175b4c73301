/**
 * An operator update's shape checked the way mongod's update parser checks it before touching any
 * document: field paths (56 EmptyFieldName), operators whose paths overlap (40
 * ConflictingUpdateOperators), each operator's argument (`$rename`, `$pop`, `$push` modifiers,
 * `$bit`, `$currentDate`, `$pullAll`…: 2 BadValue, 9, 14) and the `arrayFilters` (every identifier
 * defined once and used: 9). mingo accepts most of these and then does nothing or something else.
 */
import { Decimal128, Long } from 'bson';
import { MongoCommandError } from '../bson/errors.ts';
import { bad, shown } from '../bson/filter-validation.ts';
import { bsonTypeName } from '../bson/order.ts';

type Doc = Record<string, unknown>;

function isPlainObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function isNumber(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof Long || v instanceof Decimal128;
}

function isIntegral(v: unknown): boolean {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint' || v instanceof Long;
}

/** `$[id]` identifiers a path uses. */
function identifiersIn(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('.')) {
    const m = /^\$\[(.*)\]$/.exec(part);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** mongod's field-path checks for an update path: no empty component, at most one `$`. */
function checkPath(path: string): void {
  if (path === '') throw new MongoCommandError(56, 'An empty update path is not valid.');
  const parts = path.split('.');
  if (parts.some((p) => p === ''))
    throw new MongoCommandError(56, `The update path '${path}' contains an empty field name, which is not allowed.`);
  if (parts.filter((p) => p === '$').length > 1)
    throw bad(`Too many positional (i.e. '$') elements found in path '${path}'`);
}

function isDynamic(path: string): boolean {
  return path.split('.').some((p) => p === '$' || /^\$\[.*\]$/.test(p));
}

function checkRename(from: string, to: unknown): void {
  if (typeof to !== 'string') throw bad(`The 'to' field for $rename must be a string: ${from}: ${shown(to)}`);
  checkPath(to);
  if (from === to) throw bad(`The source and target field for $rename must differ: ${from}: ${shown(to)}`);
  if (to.startsWith(`${from}.`) || from.startsWith(`${to}.`))
    throw bad(`The source and target field for $rename must not be on the same path: ${from}: ${shown(to)}`);
  if (isDynamic(from)) throw bad(`The source field for $rename may not be dynamic: ${from}`);
  if (isDynamic(to)) throw bad(`The destination field for $rename may not be dynamic: ${to}`);
}

function checkPop(path: string, v: unknown): void {
  if (!isNumber(v)) throw new MongoCommandError(9, `Expected a number in: ${path}: ${shown(v)}`);
  const n = Number(String(v));
  if (n !== 1 && n !== -1) throw bad(`$pop expects 1 or -1, found: ${shown(v)}`);
}

const PUSH_MODIFIERS = new Set(['$each', '$slice', '$sort', '$position']);

function checkPush(v: unknown): void {
  if (!isPlainObject(v) || !('$each' in v)) return; // a value to push as it is
  for (const [k, arg] of Object.entries(v)) {
    if (!PUSH_MODIFIERS.has(k)) throw bad(`Unrecognized clause in $push: ${k}`);
    if (k === '$each' && !Array.isArray(arg))
      throw bad(`The argument to $each in $push must be an array but it was of type: ${bsonTypeName(arg)}`);
    if (k === '$slice' && !isIntegral(arg))
      throw bad(`The value for $slice must be an integer value but was given type: ${bsonTypeName(arg)}`);
    if (k === '$position' && !isIntegral(arg))
      throw bad(`The value for $position must be an integer value, not of type: ${bsonTypeName(arg)}`);
    if (k === '$sort') {
      if (isPlainObject(arg)) {
        if (Object.keys(arg).length === 0) throw bad('The $sort pattern is empty when it should be a set of fields.');
        for (const [field, dir] of Object.entries(arg)) {
          if (field === '' || field.split('.').some((p) => p === '' || p.startsWith('$')))
            throw bad(`The $sort field is a dotted field but has an empty part: ${field}`);
          if (dir !== 1 && dir !== -1) throw bad('The $sort element value must be either 1 or -1');
        }
      } else if (arg !== 1 && arg !== -1) {
        throw bad('The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields');
      }
    }
  }
}

function checkAddToSet(v: unknown): void {
  if (isPlainObject(v) && '$each' in v && !Array.isArray(v.$each))
    throw new MongoCommandError(
      14,
      `The argument to $each in $addToSet must be an array but it was of type ${bsonTypeName(v.$each)}`,
    );
}

function checkBit(v: unknown): void {
  if (!isPlainObject(v))
    throw bad(
      `The $bit modifier is not compatible with a ${bsonTypeName(v)}. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}}`,
    );
  const ops = Object.entries(v);
  if (ops.length === 0)
    throw bad('You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}}');
  for (const [op, operand] of ops) {
    if (op !== 'and' && op !== 'or' && op !== 'xor')
      throw bad(
        `The $bit modifier only supports 'and', 'or', and 'xor', not '${op}' which is an unknown operator: {${op}: ${shown(operand)}}`,
      );
    if (!isIntegral(operand))
      throw bad(
        `The $bit modifier field must be an Integer(32/64 bit); a '${bsonTypeName(operand)}' is not supported here: {${op}: ${shown(operand)}}`,
      );
  }
}

function checkCurrentDate(v: unknown): void {
  if (typeof v === 'boolean') return;
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$type' && (v.$type === 'date' || v.$type === 'timestamp')) return;
    throw bad(
      "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
    );
  }
  throw bad(
    `${bsonTypeName(v)} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).`,
  );
}

/** Whether one path is the other or lies inside it (so both cannot be updated at once). */
function overlapping(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

/**
 * Checks an operator update (`{$set: {...}, $inc: {...}}`, already known to hold only known
 * operators with object arguments) like mongod: paths, arguments, and no two paths that overlap.
 */
export function validateOperatorUpdate(u: Doc): void {
  const seen: string[] = [];
  const claim = (path: string): void => {
    for (const earlier of seen) {
      if (overlapping(path, earlier)) {
        const at = path.length <= earlier.length ? path : earlier;
        throw new MongoCommandError(40, `Updating the path '${path}' would create a conflict at '${at}'`);
      }
    }
    seen.push(path);
  };
  for (const [op, spec] of Object.entries(u)) {
    for (const [path, v] of Object.entries(spec as Doc)) {
      checkPath(path);
      switch (op) {
        case '$rename':
          checkRename(path, v);
          break;
        case '$pop':
          checkPop(path, v);
          break;
        case '$pullAll':
          if (!Array.isArray(v)) throw bad(`$pullAll requires an array argument but was given a ${bsonTypeName(v)}`);
          break;
        case '$push':
          checkPush(v);
          break;
        case '$addToSet':
          checkAddToSet(v);
          break;
        case '$bit':
          checkBit(v);
          break;
        case '$currentDate':
          checkCurrentDate(v);
          break;
      }
      claim(path);
      if (op === '$rename') claim(v as string);
    }
  }
}

/** The identifier an array filter defines (`{'x.a': 1}` → `x`), checked like mongod. */
function filterIdentifier(filter: unknown): string {
  if (!isPlainObject(filter))
    throw new MongoCommandError(14, "BSON field 'arrayFilters' is the wrong type, expected type 'object'");
  let id: string | undefined;
  for (const key of Object.keys(filter)) {
    if (key.startsWith('$')) {
      if (key === '$and' || key === '$or' || key === '$nor') {
        for (const sub of Array.isArray(filter[key]) ? (filter[key] as unknown[]) : []) {
          const inner = filterIdentifier(sub);
          if (id !== undefined && inner !== id)
            throw new MongoCommandError(
              9,
              `Error parsing array filter :: caused by :: Expected a single top-level field name, found '${id}' and '${inner}'`,
            );
          id = inner;
        }
      }
      continue;
    }
    const first = key.split('.')[0] as string;
    if (id !== undefined && first !== id)
      throw new MongoCommandError(
        9,
        `Error parsing array filter :: caused by :: Expected a single top-level field name, found '${id}' and '${first}'`,
      );
    id = first;
  }
  if (id === undefined)
    throw new MongoCommandError(9, 'Cannot use an expression without a top-level field name in arrayFilters');
  if (!/^[a-z][a-zA-Z0-9]*$/.test(id))
    throw bad(
      `Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '${id}'`,
    );
  return id;
}

/**
 * mongod's arrayFilters rules for an update: an array of documents, one identifier per filter,
 * each defined once, each used by the update (9), and every `$[id]` the update uses defined (2).
 * Pipeline updates take none (9).
 */
export function validateArrayFilters(
  u: unknown,
  kind: 'operators' | 'replacement' | 'pipeline',
  arrayFilters: unknown,
): void {
  if (arrayFilters === undefined || arrayFilters === null) {
    if (kind === 'operators') checkIdentifiersDefined(u as Doc, new Set());
    return;
  }
  if (!Array.isArray(arrayFilters))
    throw new MongoCommandError(14, "BSON field 'arrayFilters' is the wrong type, expected type 'array'");
  if (kind === 'pipeline')
    throw new MongoCommandError(9, 'arrayFilters may not be specified for pipeline-style updates');
  const defined = new Set<string>();
  for (const filter of arrayFilters) {
    const id = filterIdentifier(filter);
    if (defined.has(id))
      throw new MongoCommandError(9, `Found multiple array filters with the same top-level field name ${id}`);
    defined.add(id);
  }
  if (kind !== 'operators') return;
  const used = checkIdentifiersDefined(u as Doc, defined);
  for (const id of defined) {
    if (!used.has(id))
      throw new MongoCommandError(
        9,
        `The array filter for identifier '${id}' was not used in the update ${shownUpdate(u as Doc)}`,
      );
  }
}

function checkIdentifiersDefined(u: Doc, defined: Set<string>): Set<string> {
  const used = new Set<string>();
  for (const spec of Object.values(u)) {
    if (!isPlainObject(spec)) continue;
    for (const [path, v] of Object.entries(spec)) {
      const paths = typeof v === 'string' && spec === u.$rename ? [path, v] : [path];
      for (const p of paths) {
        for (const id of identifiersIn(p)) {
          if (!defined.has(id)) throw bad(`No array filter found for identifier '${id}' in path '${p}'`);
          used.add(id);
        }
      }
    }
  }
  return used;
}

function shownUpdate(u: Doc): string {
  const parts = Object.entries(u).map(
    ([op, spec]) =>
      `${op}: { ${Object.entries(spec as Doc)
        .map(([k, v]) => `${k}: ${shown(v)}`)
        .join(', ')} }`,
  );
  return `{ ${parts.join(', ')} }`;
}

/** The value at each step of a dotted path (undefined once the path leaves the document). */
function walkPath(doc: Doc, parts: string[]): unknown[] {
  const values: unknown[] = [];
  let cur: unknown = doc;
  for (const part of parts) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (isPlainObject(cur)) cur = cur[part];
    else cur = undefined;
    values.push(cur);
  }
  return values;
}

function shownId(doc: Doc): string {
  return shown(doc._id);
}

/**
 * mongod's checks of an operator update against the document it updates, where mingo would do
 * something else: `$[]`/`$[id]` need an existing array before them (2), and `$rename` never moves
 * from or to an array element (2; mingo leaves a null behind in the array).
 */
export function checkArrayUpdatePaths(doc: Doc, u: Doc): void {
  for (const [op, spec] of Object.entries(u)) {
    if (!isPlainObject(spec)) continue;
    for (const [path, value] of Object.entries(spec)) {
      const parts = path.split('.');
      const at = parts.findIndex((p) => /^\$\[.*\]$/.test(p));
      if (at > 0 && !parts.slice(0, at).includes('$') && !parts.slice(0, at).some((p) => p.startsWith('$['))) {
        const before = walkPath(doc, parts.slice(0, at))[at - 1];
        const prefix = parts.slice(0, at).join('.');
        if (before === undefined && op !== '$unset' && op !== '$pull' && op !== '$pullAll' && op !== '$pop')
          throw bad(`The path '${prefix}' must exist in the document in order to apply array updates.`);
        if (before !== undefined && !Array.isArray(before))
          throw bad(`Cannot apply array updates to non-array element ${parts[at - 1]}: ${shown(before)}`);
      }
      if (op !== '$rename' || typeof value !== 'string') continue;
      for (const [side, p] of [
        ['source', path],
        ['destination', value],
      ] as const) {
        const pParts = p.split('.');
        const values = walkPath(doc, pParts);
        for (let i = 0; i < pParts.length - 1; i++) {
          if (Array.isArray(values[i]))
            throw bad(
              `The ${side} field cannot be an array element, '${p}' in doc with _id: ${shownId(doc)} has an array field called '${pParts[i]}'`,
            );
        }
      }
    }
  }
}
