/**
 * Document validation (schema validators) of MongoDB 7.0: the `validator`, `validationLevel` and
 * `validationAction` collection options of create/collMod, checked like mongod, and the check of
 * each stored document with mongod 5.0+'s `errInfo.details` for the operators we can explain.
 * `$jsonSchema` is refused (115): a validator we cannot enforce faithfully is never accepted.
 */
import type { Query } from 'mingo/query';
import { MongoCommandError } from '../bson/errors.ts';
import { validateFilter } from '../bson/filter-validation.ts';
import { bsonQuery } from '../bson/match.ts';
import { bsonTypeName } from '../bson/order.ts';

type Doc = Record<string, unknown>;

const LEVELS = ['off', 'strict', 'moderate'];
const ACTIONS = ['error', 'warn'];

/** What a write carries into the validation check. */
export interface ValidationContext {
  /** The command's `bypassDocumentValidation`. */
  bypass?: boolean;
  /** Where `validationAction: 'warn'` reports a failing document. */
  warn?: (line: string) => void;
}

function isPlainObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && bsonTypeName(v) === 'object';
}

/** Refuses what mongod does not allow inside a validator (BadValue), and `$jsonSchema` (not implemented: 115). */
function checkAllowedOperators(v: unknown): void {
  if (Array.isArray(v)) {
    for (const e of v) checkAllowedOperators(e);
    return;
  }
  if (!isPlainObject(v)) return;
  for (const [k, sub] of Object.entries(v)) {
    if (k === '$jsonSchema')
      throw new MongoCommandError(
        115,
        "validator operator '$jsonSchema' is not supported by the embedded MongoDB server",
      );
    if (k === '$where') throw new MongoCommandError(2, '$where is not allowed in this context');
    if (k === '$text') throw new MongoCommandError(2, '$text is not allowed in this context');
    if (k === '$near' || k === '$nearSphere' || k === '$geoNear')
      throw new MongoCommandError(2, '$geoNear, $near, and $nearSphere are not allowed in this context');
    // An $expr's aggregation expression holds no match operators.
    if (k !== '$expr') checkAllowedOperators(sub);
  }
}

/** Databases mongod keeps for itself: no validators there. */
const INTERNAL_DBS = new Set(['admin', 'local', 'config']);

/**
 * The validation options of a create/collMod command on `db.name` (only those given), validated
 * like mongod; an empty `validator` is returned as given (it removes validation).
 */
export function validationOptions(cmd: Doc, command: string, db: string, name: string): Doc {
  const out: Doc = {};
  const { validator, validationLevel, validationAction } = cmd;
  if (validator !== undefined) {
    if (!isPlainObject(validator))
      throw new MongoCommandError(
        14,
        `BSON field '${command}.validator' is the wrong type '${bsonTypeName(validator)}', expected type 'object'`,
      );
    if (INTERNAL_DBS.has(db) && Object.keys(validator).length > 0)
      throw new MongoCommandError(
        72,
        `Document validators are not allowed on collection ${db}.${name} in the ${db} internal database`,
      );
    checkAllowedOperators(validator);
    compiled(validator);
    out.validator = validator;
  }
  const enumOption = (field: string, value: unknown, allowed: string[]): void => {
    if (value === undefined) return;
    if (typeof value !== 'string')
      throw new MongoCommandError(
        14,
        `BSON field '${command}.${field}' is the wrong type '${bsonTypeName(value)}', expected type 'string'`,
      );
    if (!allowed.includes(value))
      throw new MongoCommandError(
        2,
        `Enumeration value '${value}' for field '${command}.${field}' is not a valid value.`,
      );
    out[field] = value;
  };
  enumOption('validationLevel', validationLevel, LEVELS);
  enumOption('validationAction', validationAction, ACTIONS);
  return out;
}

/** Collection options with validation options applied (an empty validator removes it, as mongod stores none). */
export function withValidationOptions(options: Doc, changes: Doc): Doc {
  const next = { ...options, ...changes };
  if (isPlainObject(next.validator) && Object.keys(next.validator).length === 0) delete next.validator;
  return next;
}

const cache = new WeakMap<Doc, Query>();

function compiled(validator: Doc): Query {
  let q = cache.get(validator);
  if (!q) {
    validateFilter(validator);
    try {
      q = bsonQuery(validator);
    } catch (err) {
      if (err instanceof MongoCommandError) throw err;
      throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
    }
    cache.set(validator, q);
  }
  return q;
}

/**
 * Checks a document about to be stored in a collection with these options: throws 121
 * DocumentValidationFailure (or, with `validationAction: 'warn'`, logs) when it fails the
 * validator. `before` is the document's current version (null for an insert): with
 * `validationLevel: 'moderate'` a document that already failed may be updated freely.
 */
export function checkDocument(ns: string, options: Doc, before: Doc | null, doc: Doc, ctx: ValidationContext): void {
  const validator = options.validator;
  if (!isPlainObject(validator) || ctx.bypass) return;
  const level = options.validationLevel ?? 'strict';
  if (level === 'off') return;
  const query = compiled(validator);
  if (query.test(doc)) return;
  if (level === 'moderate' && before && !query.test(before)) return;
  const errInfo = { failingDocumentId: doc._id, details: validationDetails(validator, doc) };
  if (options.validationAction === 'warn') {
    ctx.warn?.(
      `Document would fail validation: namespace ${ns}, document _id ${JSON.stringify(doc._id)}, errInfo ${JSON.stringify(errInfo)}`,
    );
    return;
  }
  throw new MongoCommandError(121, 'Document failed validation', { errInfo });
}

// ---- errInfo.details ------------------------------------------------------------------------

/** The value at a dotted path through sub-documents (undefined when absent or under an array). */
function valueAt(doc: Doc, path: string): unknown {
  let v: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(v)) return undefined;
    v = v[part];
  }
  return v;
}

const COMPARISONS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte']);

/** One clause: a top-level operator (`$and`, `$or`, `$nor`, `$expr`…) or one operator on one path, as written. */
interface Clause {
  field?: string;
  op: string;
  arg: unknown;
  specifiedAs: Doc;
}

/** A filter's clauses as mongod's implicit top-level `$and` holds them. */
function clausesOf(filter: Doc): Clause[] {
  const out: Clause[] = [];
  for (const [k, v] of Object.entries(filter)) {
    if (k.startsWith('$')) out.push({ op: k, arg: v, specifiedAs: { [k]: v } });
    else if (isPlainObject(v) && Object.keys(v).length > 0 && Object.keys(v).every((o) => o.startsWith('$'))) {
      for (const [o, arg] of Object.entries(v)) {
        if (o === '$options') continue;
        const spec = o === '$regex' && v.$options !== undefined ? { $regex: arg, $options: v.$options } : { [o]: arg };
        out.push({ field: k, op: o, arg, specifiedAs: { [k]: spec } });
      }
    } else out.push({ field: k, op: '$eq', arg: v, specifiedAs: { [k]: v } });
  }
  return out;
}

/** mongod's `details` of a filter a document fails (a single clause directly, several under `$and`). */
function filterDetails(filter: Doc, doc: Doc): Doc {
  const clauses = clausesOf(filter);
  if (clauses.length === 1) return clauseDetails(clauses[0] as Clause, doc);
  return {
    operatorName: '$and',
    clausesNotSatisfied: failingClauses(
      clauses.map((c) => c.specifiedAs),
      doc,
    ),
  };
}

function failingClauses(filters: Doc[], doc: Doc): Doc[] {
  const out: Doc[] = [];
  filters.forEach((f, index) => {
    if (!compiled(f).test(doc)) out.push({ index, details: filterDetails(f, doc) });
  });
  return out;
}

function considered(value: unknown): Doc {
  return Array.isArray(value) ? { consideredValues: value } : { consideredValue: value };
}

function clauseDetails(c: Clause, doc: Doc): Doc {
  const base: Doc = { operatorName: c.op, specifiedAs: c.specifiedAs };
  if (c.field === undefined) {
    const list = Array.isArray(c.arg) ? (c.arg as Doc[]) : [];
    switch (c.op) {
      case '$and':
        return { operatorName: '$and', clausesNotSatisfied: failingClauses(list, doc) };
      case '$or':
        return { operatorName: '$or', clausesNotSatisfied: failingClauses(list, doc) };
      case '$nor': {
        const satisfied: Doc[] = [];
        list.forEach((f, index) => {
          if (compiled(f).test(doc)) satisfied.push({ index, details: { operatorName: '$nor', specifiedAs: f } });
        });
        return { operatorName: '$nor', clausesSatisfied: satisfied };
      }
      case '$expr':
        return { ...base, reason: 'expression did not match' };
      default:
        return { ...base, reason: 'did not match' };
    }
  }
  const value = valueAt(doc, c.field);
  const present = value !== undefined;
  if (c.op === '$exists') return { ...base, reason: c.arg ? 'path does not exist' : 'path does exist' };
  if (c.op === '$type') {
    if (!present) return { ...base, reason: 'field was missing' };
    return {
      ...base,
      reason: 'type did not match',
      ...considered(value),
      ...(Array.isArray(value) ? { consideredTypes: ['array'] } : { consideredType: bsonTypeName(value) }),
    };
  }
  if (COMPARISONS.has(c.op)) {
    if (!present && c.op !== '$ne') return { ...base, reason: 'field was missing' };
    return { ...base, reason: c.op === '$ne' ? 'comparison succeeded' : 'comparison failed', ...considered(value) };
  }
  if (c.op === '$in') {
    if (!present) return { ...base, reason: 'field was missing' };
    return { ...base, reason: 'no matching value found in array', ...considered(value) };
  }
  if (c.op === '$nin') return { ...base, reason: 'matching value found in array', ...considered(value) };
  if (c.op === '$regex') {
    if (!present) return { ...base, reason: 'field was missing' };
    return { ...base, reason: 'regular expression did not match', ...considered(value) };
  }
  return { ...base, reason: 'did not match', ...(present ? considered(value) : {}) };
}

/** The `errInfo.details` mongod gives for a document failing a validator. */
export function validationDetails(validator: Doc, doc: Doc): Doc {
  return filterDetails(validator, doc);
}
