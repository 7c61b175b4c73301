/** Collections, databases and indexes. */

import { parseCollation } from '../bson/collation.ts';
import { MongoCommandError } from '../bson/errors.ts';
import { validateFilter, validatePartialFilter } from '../bson/filter-validation.ts';
import { checkIndexKeyPattern } from '../bson/index-key-validation.ts';
import { bsonQuery } from '../bson/match.ts';
import { compareBson } from '../bson/order.ts';
import { checkNoCycle, isView, rejectView, viewDefinition } from '../query/views.ts';
import { cappedOptions, rejectTtlIndexOnCapped } from '../storage/capped.ts';
import {
  clusteredIndexOf,
  clusteredIndexOption,
  listedIndexes,
  rejectClusterKeyIndexChange,
} from '../storage/clustered.ts';
import { type Collection, checkDbName, type Doc, LockWait } from '../storage/engine.ts';
import type { Index, IndexSpec } from '../storage/indexes.ts';
import { validationOptions, withValidationOptions } from '../storage/validation.ts';
import {
  collectionForWrite,
  collectionName,
  existingCollection,
  listable,
  retryOnLock,
  waitForOtherWriters,
} from './common.ts';
import type { CommandContext, CommandSpec } from './types.ts';

/** Document validation options of create and collMod (validation.ts). */
const VALIDATION_OPTIONS = ['validator', 'validationLevel', 'validationAction'];

/** Collection options we implement; anything else would be silently ignored, so it is refused. */
const SUPPORTED_CREATE_OPTIONS = new Set([
  'create',
  'lsid',
  'txnNumber',
  'autocommit',
  'startTransaction',
  '$db',
  '$readPreference',
  '$clusterTime',
  'writeConcern',
  'comment',
  'readConcern',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  'changeStreamPreAndPostImages',
]);

/** Collection options validated by their own modules (clustered.ts, capped.ts, validation.ts); `capped: false` is the default and not stored. */
const MODULE_CREATE_OPTIONS = new Set(['clusteredIndex', 'capped', 'size', 'max', ...VALIDATION_OPTIONS]);
/** `changeStreamPreAndPostImages: { enabled: <bool> }` of create and collMod, validated like mongod. */
function preAndPostImagesOption(ctx: CommandContext): Doc | undefined {
  const v = ctx.cmd.changeStreamPreAndPostImages;
  if (v === undefined) return undefined;
  const field = `${ctx.name}.changeStreamPreAndPostImages`;
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new MongoCommandError(14, `BSON field '${field}' is the wrong type '${typeof v}', expected type 'object'`);
  for (const key of Object.keys(v)) {
    if (key !== 'enabled') throw new MongoCommandError(40415, `BSON field '${field}.${key}' is an unknown field.`);
  }
  const enabled = (v as Doc).enabled;
  if (enabled === undefined)
    throw new MongoCommandError(40414, `BSON field '${field}.enabled' is missing but a required field`);
  if (typeof enabled !== 'boolean')
    throw new MongoCommandError(
      14,
      `BSON field '${field}.enabled' is the wrong type '${typeof enabled}', expected type 'bool'`,
    );
  return { enabled };
}

/** Index options stored and (where noted) honoured; others are refused. */
const SUPPORTED_INDEX_OPTIONS = new Set([
  'key',
  'name',
  'v',
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'background',
  'hidden',
  'collation',
  'prepareUnique',
]);

function notFound(ctx: CommandContext, name: string): MongoCommandError {
  return new MongoCommandError(26, `ns does not exist: ${ctx.db}.${name}`);
}

function defaultIndexName(key: Record<string, number>): string {
  return Object.entries(key)
    .map(([f, d]) => `${f}_${d}`)
    .join('_');
}

/** The option part of a spec (everything except v/name/key/background), for comparisons. */
function indexOptions(spec: Doc): Doc {
  const { v: _v, name: _n, key: _k, background: _b, ...rest } = spec;
  return rest;
}

function sameDoc(a: Doc, b: Doc): boolean {
  return compareBson(a, b) === 0 && Object.keys(a).length === Object.keys(b).length;
}

function listedCollection(coll: Collection): Doc {
  if (isView(coll)) return { name: coll.name, type: 'view', options: coll.options, info: { readOnly: true } };
  return {
    name: coll.name,
    type: 'collection',
    options: coll.options,
    info: { readOnly: false, uuid: coll.uuid },
    // A clustered collection has no separate _id index.
    ...(clusteredIndexOf(coll) ? {} : { idIndex: { v: 2, key: { _id: 1 }, name: '_id_' } }),
  };
}

const create: CommandSpec = {
  // MongoDB ≥ 4.4 creates collections inside transactions (visible to others after the commit).
  allowedInTxn: true,
  handler: async (ctx) => {
    const name = collectionName(ctx);
    // A default collation would apply to every operation and index of the collection: validated,
    // then refused (not implemented), never ignored.
    if (parseCollation(ctx.cmd.collation, 'create.collation'))
      throw new MongoCommandError(
        115,
        "create option 'collation' (a collection default collation) is not supported by the embedded MongoDB server",
      );
    const view = viewDefinition(ctx.cmd, ctx.db, name, SUPPORTED_CREATE_OPTIONS);
    const options: Doc = {};
    if (!view) {
      const clustered = clusteredIndexOption(ctx.cmd);
      if (clustered) options.clusteredIndex = clustered;
      else Object.assign(options, cappedOptions(ctx.cmd));
      for (const key of Object.keys(ctx.cmd)) {
        if (key === 'collation') continue; // the simple collation, checked above
        if (!SUPPORTED_CREATE_OPTIONS.has(key) && !MODULE_CREATE_OPTIONS.has(key)) {
          throw new MongoCommandError(115, `create option '${key}' is not supported by the embedded MongoDB server`);
        }
      }
    }
    const images = preAndPostImagesOption(ctx);
    if (view && images)
      throw new MongoCommandError(
        115,
        "create option 'changeStreamPreAndPostImages' together with 'viewOn' is not supported by the embedded MongoDB server",
      );
    if (view && ctx.txn) throw new MongoCommandError(263, 'Cannot create a view in a multi-document transaction.');
    const existing = ctx.engine.getCollection(ctx.db, name);
    if (existing && listable(ctx, existing))
      throw new MongoCommandError(48, `Collection ${ctx.db}.${name} already exists.`);
    if (view) {
      checkNoCycle(ctx.engine, ctx.db, name, view.viewOn);
      // A view being created by an open transaction's collection would be a write conflict; views are
      // never created inside one, so the catalog entry is made at once.
      await retryOnLock(ctx, () => {
        if (existing?.createdBy && existing.createdBy.state === 'active') throw new LockWait(existing.createdBy.done);
        ctx.engine.ensureCollection(ctx.db, name, { viewOn: view.viewOn, pipeline: view.pipeline });
      });
      return { ok: 1 };
    }
    if (images) options.changeStreamPreAndPostImages = images;
    await collectionForWrite(
      ctx,
      name,
      withValidationOptions(options, validationOptions(ctx.cmd, 'create', ctx.db, name)),
    );
    return { ok: 1 };
  },
};

const drop: CommandSpec = {
  handler: (ctx) => {
    const name = collectionName(ctx);
    const coll = ctx.engine.getCollection(ctx.db, name);
    if (!coll) throw notFound(ctx, name);
    const nIndexesWas = coll.indexes.size;
    ctx.engine.dropCollection(ctx.db, name);
    if (isView(coll)) return { ns: coll.ns, ok: 1 };
    return { nIndexesWas, ns: coll.ns, ok: 1 };
  },
};

const dropDatabase: CommandSpec = {
  handler: (ctx) => {
    ctx.engine.dropDatabase(ctx.db);
    return { ok: 1 };
  },
};

const listCollections: CommandSpec = {
  handler: (ctx) => {
    const colls = [...(ctx.engine.dbs.get(ctx.db)?.values() ?? [])];
    let docs = colls.filter((c) => listable(ctx, c)).map(listedCollection);
    const filter = ctx.cmd.filter;
    if (filter && typeof filter === 'object') {
      validateFilter(filter as Doc);
      const q = bsonQuery(filter as Doc);
      docs = docs.filter((d) => q.test(d));
    }
    if (ctx.cmd.nameOnly === true) docs = docs.map((d) => ({ name: d.name, type: d.type }));
    const cursorOpts = (ctx.cmd.cursor ?? {}) as Doc;
    const batchSize = typeof cursorOpts.batchSize === 'number' ? cursorOpts.batchSize : undefined;
    return {
      cursor: ctx.state.cursors.openCursor(`${ctx.db}.$cmd.listCollections`, docs, { batchSize, lsid: ctx.lsidKey }),
      ok: 1,
    };
  },
};

const listDatabases: CommandSpec = {
  adminOnly: true,
  handler: (ctx) => {
    let databases: Doc[] = [...ctx.engine.dbs.entries()].map(([name, colls]) => {
      let docs = 0;
      for (const c of colls.values()) if (listable(ctx, c)) docs += c.docs.size;
      return { name, sizeOnDisk: docs * 100, empty: docs === 0 };
    });
    const filter = ctx.cmd.filter;
    if (filter && typeof filter === 'object') {
      validateFilter(filter as Doc);
      const q = bsonQuery(filter as Doc);
      databases = databases.filter((d) => q.test(d));
    }
    if (ctx.cmd.nameOnly === true) return { databases: databases.map((d) => ({ name: d.name })), ok: 1 };
    const totalSize = databases.reduce((s, d) => s + (d.sizeOnDisk as number), 0);
    return { databases, totalSize, totalSizeMb: Math.round(totalSize / 1e6), ok: 1 };
  },
};

const createIndexes: CommandSpec = {
  allowedInTxn: true,
  handler: async (ctx) => {
    const name = collectionName(ctx);
    checkDbName(ctx.db);
    const specs = ctx.cmd.indexes;
    if (!Array.isArray(specs) || specs.length === 0)
      throw new MongoCommandError(2, 'Must specify at least one index to create');
    // Validate everything before changing anything.
    const requested: IndexSpec[] = [];
    for (const raw of specs as Doc[]) {
      checkIndexKeyPattern(raw.key);
      for (const k of Object.keys(raw)) {
        if (!SUPPORTED_INDEX_OPTIONS.has(k))
          throw new MongoCommandError(67, `index option '${k}' is not supported by the embedded MongoDB server`);
      }
      if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name === ''))
        throw new MongoCommandError(67, 'The index name must be a non-empty string');
      const spec: IndexSpec = {
        v: 2,
        key: raw.key,
        name: typeof raw.name === 'string' ? raw.name : defaultIndexName(raw.key),
      };
      if (raw.unique === true) spec.unique = true;
      if (raw.prepareUnique === true && raw.unique !== true) spec.prepareUnique = true;
      if (raw.sparse === true) spec.sparse = true;
      // Stored in full as mongod lists it; the simple collation is the default and not stored.
      const collation = parseCollation(raw.collation, 'collation');
      if (collation) spec.collation = collation.spec;
      if (raw.partialFilterExpression !== undefined) {
        if (typeof raw.partialFilterExpression !== 'object' || raw.partialFilterExpression === null) {
          throw new MongoCommandError(67, 'partialFilterExpression must be an object');
        }
        validatePartialFilter(raw.partialFilterExpression as Doc);
        spec.partialFilterExpression = raw.partialFilterExpression;
      }
      if (raw.expireAfterSeconds !== undefined) {
        const ttl = raw.expireAfterSeconds;
        if (typeof ttl !== 'number' || ttl < 0 || !Number.isInteger(ttl))
          throw new MongoCommandError(67, "TTL index 'expireAfterSeconds' option must be a non-negative integer");
        if (Object.keys(raw.key).length !== 1)
          throw new MongoCommandError(67, 'TTL indexes are single-field indexes, compound indexes do not support TTL.');
        spec.expireAfterSeconds = ttl;
      }
      if (raw.hidden === true) spec.hidden = true;
      if (spec.name === '_id_' && defaultIndexName(spec.key) !== '_id_1')
        throw new MongoCommandError(67, "The index name '_id_' is reserved for the _id index");
      requested.push(spec);
    }
    const found = ctx.engine.getCollection(ctx.db, name);
    if (isView(found)) throw new MongoCommandError(166, 'Cannot create indexes on a view');
    const existing = found && listable(ctx, found) ? found : undefined;
    if (ctx.txn && existing && existing.createdBy !== ctx.txn) {
      throw new MongoCommandError(
        263,
        `Cannot create new indexes on existing collection ${existing.ns} in a multi-document transaction.`,
      );
    }
    const coll = await collectionForWrite(ctx, name);
    for (const spec of requested) {
      rejectClusterKeyIndexChange(coll, spec.key, spec.name);
      rejectTtlIndexOnCapped(coll.options, spec);
    }
    const numIndexesBefore = coll.indexes.size;
    const toBuild: IndexSpec[] = [];
    for (const spec of requested) {
      const current = [...coll.indexes.values()].map((i) => i.spec);
      const sameName = current.find((s) => s.name === spec.name);
      // Indexes on one key pattern may differ by collation (mongod allows both, with their own names).
      const sameKey = current.find(
        (s) => sameDoc(s.key, spec.key) && JSON.stringify(s.collation) === JSON.stringify(spec.collation),
      );
      if (sameName) {
        if (sameDoc(sameName.key, spec.key) && sameDoc(indexOptions(sameName), indexOptions(spec))) continue;
        if (sameName.name === '_id_' && sameDoc(sameName.key, spec.key)) continue;
        throw new MongoCommandError(
          86,
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName)}`,
        );
      }
      if (sameKey && sameDoc(indexOptions(sameKey), indexOptions(spec))) {
        throw new MongoCommandError(85, `Index already exists with a different name: ${sameKey.name}`);
      }
      if (sameKey) {
        throw new MongoCommandError(
          85,
          `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameKey)}`,
        );
      }
      toBuild.push(spec);
    }
    if (toBuild.length > 0) {
      // Like mongod's index build; indexes that already exist need no build.
      await waitForOtherWriters(ctx, coll);
    }
    for (const spec of toBuild) if (!coll.indexes.has(spec.name)) ctx.engine.addIndex(coll, spec);
    const reply: Doc = {
      numIndexesBefore,
      numIndexesAfter: coll.indexes.size,
      createdCollectionAutomatically: !existing,
      ok: 1,
    };
    if (toBuild.length === 0) reply.note = 'all indexes already exist';
    return reply;
  },
};

const listIndexes: CommandSpec = {
  handler: (ctx) => {
    const coll = existingCollection(ctx);
    if (!coll || !listable(ctx, coll)) throw notFound(ctx, collectionName(ctx));
    rejectView(coll);
    const docs = listedIndexes(coll);
    const cursorOpts = (ctx.cmd.cursor ?? {}) as Doc;
    const batchSize = typeof cursorOpts.batchSize === 'number' ? cursorOpts.batchSize : undefined;
    return { cursor: ctx.state.cursors.openCursor(`${coll.ns}`, docs, { batchSize, lsid: ctx.lsidKey }), ok: 1 };
  },
};

const dropIndexes: CommandSpec = {
  handler: (ctx) => {
    const coll = existingCollection(ctx);
    if (!coll) throw notFound(ctx, collectionName(ctx));
    rejectView(coll);
    const nIndexesWas = coll.indexes.size;
    const target = ctx.cmd.index;
    const names: string[] = [];
    if (target === '*') {
      for (const n of coll.indexes.keys()) if (n !== '_id_') names.push(n);
    } else if (typeof target === 'string') {
      names.push(target);
    } else if (Array.isArray(target)) {
      for (const n of target) names.push(String(n));
    } else if (typeof target === 'object' && target !== null) {
      const found = [...coll.indexes.values()].find((i) => sameDoc(i.spec.key, target as Doc));
      if (!found) throw new MongoCommandError(27, `can't find index with key: ${JSON.stringify(target)}`);
      names.push(found.name);
    } else {
      throw new MongoCommandError(14, "BSON field 'dropIndexes.index' is the wrong type");
    }
    for (const n of names) {
      rejectClusterKeyIndexChange(coll, undefined, n);
      if (n === '_id_') throw new MongoCommandError(72, 'cannot drop _id index');
      if (!coll.indexes.has(n)) throw new MongoCommandError(27, `index not found with name [${n}]`);
    }
    for (const n of names) ctx.engine.dropIndex(coll, n);
    return { nIndexesWas, ok: 1 };
  },
};

/**
 * collMod: an index's `hidden` flag, TTL (`expireAfterSeconds`), `prepareUnique` and conversion to
 * `unique: true`, change stream pre/post images and document validation (validator, level, action).
 * Views and time series are refused (115), never ignored.
 */
const collMod: CommandSpec = {
  handler: async (ctx) => {
    const coll = existingCollection(ctx);
    if (!coll || !listable(ctx, coll)) throw notFound(ctx, collectionName(ctx));
    const allowed = new Set(['collMod', 'index', ...SUPPORTED_CREATE_OPTIONS, ...VALIDATION_OPTIONS]);
    for (const key of Object.keys(ctx.cmd)) {
      if (!allowed.has(key))
        throw new MongoCommandError(115, `collMod option '${key}' is not supported by the embedded MongoDB server`);
    }
    const images = preAndPostImagesOption(ctx);
    const validation = validationOptions(ctx.cmd, 'collMod', coll.db, coll.name);
    const validationKey = Object.keys(validation)[0];
    if (validationKey && isView(coll))
      throw new MongoCommandError(72, `option not supported on a view: ${validationKey}`);
    if (images || validationKey) {
      const options = withValidationOptions(coll.options, validation);
      if (images) options.changeStreamPreAndPostImages = images;
      ctx.engine.setCollectionOptions(coll, options);
    }
    const change = ctx.cmd.index as Doc | undefined;
    if (change === undefined) return { ok: 1 };
    rejectView(coll);
    rejectClusterKeyIndexChange(coll, change.keyPattern as Doc | undefined, change.name as string | undefined);
    if (typeof change !== 'object' || change === null)
      throw new MongoCommandError(14, "BSON field 'collMod.index' is the wrong type, expected type 'object'");
    const { keyPattern, name, hidden, expireAfterSeconds, prepareUnique, unique, ...rest } = change;
    if (Object.keys(rest).length > 0)
      throw new MongoCommandError(
        115,
        `collMod index option '${Object.keys(rest)[0]}' is not supported by the embedded MongoDB server`,
      );
    const index = [...coll.indexes.values()].find((i) =>
      name !== undefined ? i.name === name : keyPattern !== undefined && sameDoc(i.spec.key, keyPattern as Doc),
    );
    if (!index)
      throw new MongoCommandError(27, `cannot find index ${JSON.stringify(name ?? keyPattern)} for ns ${coll.ns}`);
    if (hidden !== undefined && index.name === '_id_') throw new MongoCommandError(72, 'cannot hide _id index');
    if (expireAfterSeconds !== undefined && index.spec.expireAfterSeconds === undefined)
      throw new MongoCommandError(72, 'no expireAfterSeconds field to update');
    if (expireAfterSeconds !== undefined && (typeof expireAfterSeconds !== 'number' || expireAfterSeconds < 0))
      throw new MongoCommandError(72, "TTL index 'expireAfterSeconds' option must be a non-negative integer");
    const reply: Doc = { ok: 1 };
    const spec: IndexSpec = { ...index.spec };
    if (typeof hidden === 'boolean') {
      reply.hidden_old = index.spec.hidden === true;
      reply.hidden_new = hidden;
      if (hidden) spec.hidden = true;
      else delete spec.hidden;
    }
    if (typeof expireAfterSeconds === 'number') {
      reply.expireAfterSeconds_old = index.spec.expireAfterSeconds;
      reply.expireAfterSeconds_new = expireAfterSeconds;
      spec.expireAfterSeconds = expireAfterSeconds;
    }
    if (
      prepareUnique !== undefined &&
      (hidden !== undefined || expireAfterSeconds !== undefined || unique !== undefined)
    )
      throw new MongoCommandError(72, 'prepareUnique cannot be combined with any other modification.');
    if (prepareUnique !== undefined || unique !== undefined) {
      await waitForOtherWriters(ctx, coll);
      Object.assign(reply, convertToUnique(ctx, coll, index, spec, prepareUnique, unique));
    }
    // Re-registered through the engine so the change is journaled like any index creation.
    ctx.engine.dropIndex(coll, index.name);
    ctx.engine.addIndex(coll, spec);
    return reply;
  },
};

/**
 * collMod's two steps to a unique index (MongoDB 6.0+): `prepareUnique: true` makes the index
 * refuse new duplicate keys, then `unique: true` converts it once no duplicates are left, else
 * 359 with the `_id`s of each group of duplicates. Changes `spec`; returns the reply's fields.
 */
function convertToUnique(
  ctx: CommandContext,
  coll: Collection,
  index: Index,
  spec: IndexSpec,
  prepareUnique: unknown,
  unique: unknown,
): Doc {
  if (prepareUnique !== undefined && typeof prepareUnique !== 'boolean')
    throw new MongoCommandError(14, "BSON field 'collMod.index.prepareUnique' is the wrong type, expected type 'bool'");
  if (unique !== undefined && typeof unique !== 'boolean')
    throw new MongoCommandError(14, "BSON field 'collMod.index.unique' is the wrong type, expected type 'bool'");
  if (unique === false) throw new MongoCommandError(2, 'Cannot make index non-unique');
  const reply: Doc = {};
  // An index that is unique already (the _id index among them) has nothing to prepare or convert.
  if (index.unique) return reply;
  if (prepareUnique !== undefined) {
    reply.prepareUnique_old = index.prepareUnique;
    reply.prepareUnique_new = prepareUnique;
    if (prepareUnique) spec.prepareUnique = true;
    else delete spec.prepareUnique;
  }
  if (unique === true) {
    // The index must have been prepared by an earlier collMod (mongod checks the index as it is).
    if (!index.prepareUnique)
      throw new MongoCommandError(
        72,
        "Cannot make index unique with 'prepareUnique=false'. Run collMod to set it first.",
      );
    const violations = ctx.engine.duplicateKeys(coll, spec).map((group) => ({ ids: group.ids }));
    if (violations.length > 0)
      throw new MongoCommandError(
        359,
        'Cannot convert the index to unique. Please resolve conflicting documents before running collMod again.',
        { violations },
      );
    spec.unique = true;
    delete spec.prepareUnique;
    reply.unique_new = true;
  }
  return reply;
}

export const catalogCommands: Record<string, CommandSpec> = {
  collMod,
  create,
  drop,
  dropDatabase,
  listCollections,
  listDatabases,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
};
