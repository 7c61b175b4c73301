/**
 * The unified format's operations, each mapped onto the official driver's API, and the checks of
 * `expectResult`, `expectError` and `saveResultAsEntity`.
 */
import {
  AbstractCursor,
  ChangeStream,
  type ClientSession,
  type Collection,
  type Db,
  type MongoClient,
  MongoClientBulkWriteError,
  MongoError,
  MongoServerError,
} from 'mongodb';
import { asCollection, type Entities, readPreferenceOf } from './entities.ts';
import { MatchError, matchValue } from './match.ts';

type Doc = Record<string, unknown>;

/** Thrown for an operation or feature this runner does not run (the test is skipped with the reason). */
export class Unsupported extends Error {}

/** Shared state for the testRunner operations. */
export interface RunnerContext {
  entities: Entities;
  /** A client without monitoring, for assertions on the server's state. */
  internal: MongoClient;
  /** Fail points the test set (turned off after it). */
  failPointsSet: Set<string>;
}

/** The session entity named by an argument, if any. */
function sessionArg(ctx: RunnerContext, args: Doc): ClientSession | undefined {
  return typeof args.session === 'string' ? (ctx.entities.get(args.session) as ClientSession) : undefined;
}

/** Driver options from the remaining arguments (session resolved, read preference converted). */
function optionsOf(ctx: RunnerContext, args: Doc, ...taken: string[]): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(args)) {
    if (taken.includes(k)) continue;
    if (k === 'session') out.session = sessionArg(ctx, args);
    else if (k === 'readPreference') out.readPreference = readPreferenceOf(v);
    else if (k === 'returnDocument') out.returnDocument = String(v).toLowerCase();
    else if (k === 'cursorType') {
      out.tailable = true;
      if (v === 'tailableAwait') out.awaitData = true;
    } else out[k] = v;
  }
  return out;
}

/** A driver result as a plain document tree (class instances → their own fields). */
export function toPlain(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [k, toPlain(x)]));
  if ((v as { _bsontype?: string })._bsontype || v instanceof Date || v instanceof RegExp) return v;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) {
    const out: Doc = {};
    for (const [k, x] of Object.entries(v)) out[k] = toPlain(x);
    return out;
  }
  // Result classes (BulkWriteResult…): their enumerable own fields, as a document.
  const out: Doc = {};
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'function') out[k] = toPlain(x);
  return out;
}

const TXN_STATE: Record<string, string[]> = {
  none: ['NO_TRANSACTION'],
  starting: ['STARTING_TRANSACTION'],
  in_progress: ['TRANSACTION_IN_PROGRESS'],
  committed: ['TRANSACTION_COMMITTED', 'TRANSACTION_COMMITTED_EMPTY'],
  aborted: ['TRANSACTION_ABORTED'],
};

function assert(condition: boolean, message: string): void {
  if (!condition) throw new MatchError(message);
}

async function collectionNames(ctx: RunnerContext, db: string): Promise<string[]> {
  const list = await ctx.internal.db(db).listCollections({}, { nameOnly: true }).toArray();
  return list.map((c) => c.name);
}

async function runTestRunnerOp(ctx: RunnerContext, name: string, args: Doc): Promise<unknown> {
  const { entities } = ctx;
  switch (name) {
    case 'assertSessionTransactionState': {
      const s = entities.get(args.session as string) as ClientSession & { transaction: { state: string } };
      const ok = TXN_STATE[args.state as string] ?? [];
      assert(ok.includes(s.transaction.state), `session state ${s.transaction.state}, expected ${String(args.state)}`);
      return undefined;
    }
    case 'assertSessionPinned':
    case 'assertSessionUnpinned': {
      const s = entities.get(args.session as string) as ClientSession;
      assert(s.isPinned === (name === 'assertSessionPinned'), `session pinned: ${s.isPinned}`);
      return undefined;
    }
    case 'assertSessionDirty':
    case 'assertSessionNotDirty': {
      const s = entities.get(args.session as string) as ClientSession & { serverSession?: { isDirty?: boolean } };
      const dirty = s.serverSession?.isDirty === true;
      assert(dirty === (name === 'assertSessionDirty'), `session dirty: ${dirty}`);
      return undefined;
    }
    case 'assertSameLsidOnLastTwoCommands':
    case 'assertDifferentLsidOnLastTwoCommands': {
      const started = entities.client(args.client as string).started;
      const [a, b] = started.slice(-2).map((e) => JSON.stringify(e.command.lsid));
      assert(started.length >= 2, 'fewer than two commands');
      assert((a === b) === (name === 'assertSameLsidOnLastTwoCommands'), `lsids ${a} / ${b}`);
      return undefined;
    }
    case 'assertCollectionExists':
    case 'assertCollectionNotExists': {
      const names = await collectionNames(ctx, args.databaseName as string);
      const exists = names.includes(args.collectionName as string);
      assert(exists === (name === 'assertCollectionExists'), `collection exists: ${exists}`);
      return undefined;
    }
    case 'assertIndexExists':
    case 'assertIndexNotExists': {
      const coll = ctx.internal.db(args.databaseName as string).collection(args.collectionName as string);
      const names = (
        await coll
          .listIndexes()
          .toArray()
          .catch(() => [])
      ).map((i) => i.name as string);
      const exists = names.includes(args.indexName as string);
      assert(exists === (name === 'assertIndexExists'), `index exists: ${exists}`);
      return undefined;
    }
    case 'assertNumberConnectionsCheckedOut': {
      const c = entities.client(args.client as string);
      assert(c.checkedOut === args.connections, `${c.checkedOut} connections checked out`);
      return undefined;
    }
    case 'failPoint': {
      // Set through the test's own client, as the unified format says; the runner turns it off after the test.
      const command = args.failPoint as Doc;
      ctx.failPointsSet.add(String(command.configureFailPoint));
      await entities
        .client(args.client as string)
        .client.db('admin')
        .command(command);
      return undefined;
    }
    case 'createEntities':
      await entities.create(args.entities as Doc[]);
      return undefined;
    case 'wait':
      await new Promise((r) => setTimeout(r, args.ms as number));
      return undefined;
    default:
      throw new Unsupported(`testRunner.${name}`);
  }
}

/**
 * A change stream after its `aggregate` (so a server refusal surfaces here) and nothing more: no
 * getMore yet, as the Node driver's own unified runner does (through the cursor's cursorInit).
 */
async function startedStream(stream: ChangeStream): Promise<ChangeStream> {
  await (stream as unknown as { cursor: { cursorInit(): Promise<void> } }).cursor.cursorInit();
  return stream;
}

async function runCollectionOp(ctx: RunnerContext, coll: Collection<Doc>, name: string, args: Doc): Promise<unknown> {
  const o = (...taken: string[]): Doc => optionsOf(ctx, args, ...taken);
  const filter = (args.filter ?? {}) as Doc;
  switch (name) {
    case 'aggregate':
      return coll.aggregate(args.pipeline as Doc[], o('pipeline')).toArray();
    case 'bulkWrite':
      return coll.bulkWrite(args.requests as never, o('requests'));
    case 'countDocuments':
      return coll.countDocuments(filter, o('filter'));
    case 'estimatedDocumentCount':
      return coll.estimatedDocumentCount(o());
    case 'count':
      return coll.count(filter, o('filter'));
    case 'createFindCursor': {
      const cursor = coll.find(filter, o('filter'));
      await cursor.hasNext();
      return cursor;
    }
    case 'createIndex':
      return coll.createIndex(args.keys as Doc as never, o('keys'));
    case 'dropIndex':
      return coll.dropIndex(args.name as string, o('name'));
    case 'dropIndexes':
      return coll.dropIndexes(o());
    case 'listIndexes':
      return coll.listIndexes(o()).toArray();
    case 'listIndexNames':
      return (await coll.listIndexes(o()).toArray()).map((i) => i.name);
    case 'deleteMany':
      return coll.deleteMany(filter, o('filter'));
    case 'deleteOne':
      return coll.deleteOne(filter, o('filter'));
    case 'distinct':
      return coll.distinct(args.fieldName as string, filter, o('fieldName', 'filter'));
    case 'find':
      return coll.find(filter, o('filter')).toArray();
    case 'findOne':
      return coll.findOne(filter, o('filter'));
    case 'findOneAndDelete':
      return coll.findOneAndDelete(filter, o('filter'));
    case 'findOneAndReplace':
      return coll.findOneAndReplace(filter, args.replacement as Doc, o('filter', 'replacement'));
    case 'findOneAndUpdate':
      return coll.findOneAndUpdate(filter, args.update as Doc, o('filter', 'update'));
    case 'insertMany':
      return coll.insertMany(args.documents as Doc[], o('documents'));
    case 'insertOne':
      return coll.insertOne(args.document as Doc, o('document'));
    case 'replaceOne':
      return coll.replaceOne(filter, args.replacement as Doc, o('filter', 'replacement'));
    case 'updateMany':
      return coll.updateMany(filter, args.update as Doc, o('filter', 'update'));
    case 'updateOne':
      return coll.updateOne(filter, args.update as Doc, o('filter', 'update'));
    case 'rename':
      return coll.rename(args.to as string, o('to'));
    case 'drop':
      return coll.drop(o());
    case 'createChangeStream':
      return startedStream(coll.watch((args.pipeline as Doc[]) ?? [], o('pipeline')));
    default:
      throw new Unsupported(`collection.${name}`);
  }
}

/** runCursorCommand: batchSize, maxTimeMS and comment apply to the getMores, through the cursor's setters. */
function commandCursor(ctx: RunnerContext, db: Db, args: Doc): ReturnType<Db['runCursorCommand']> {
  const cursor = db.runCursorCommand(
    args.command as Doc,
    optionsOf(ctx, args, 'command', 'commandName', 'batchSize', 'maxTimeMS', 'comment'),
  );
  if (typeof args.batchSize === 'number') cursor.setBatchSize(args.batchSize);
  if (typeof args.maxTimeMS === 'number') cursor.setMaxTimeMS(args.maxTimeMS);
  if (args.comment !== undefined) cursor.setComment(args.comment);
  return cursor;
}

async function runDatabaseOp(ctx: RunnerContext, db: Db, name: string, args: Doc): Promise<unknown> {
  const o = (...taken: string[]): Doc => optionsOf(ctx, args, ...taken);
  switch (name) {
    case 'aggregate':
      return db.aggregate(args.pipeline as Doc[], o('pipeline')).toArray();
    case 'createCollection':
      return db.createCollection(args.collection as string, o('collection'));
    case 'dropCollection':
      return db.dropCollection(args.collection as string, o('collection'));
    case 'listCollections':
    case 'listCollectionObjects':
      return db.listCollections((args.filter ?? {}) as Doc, o('filter')).toArray();
    case 'listCollectionNames':
      return (await db.listCollections((args.filter ?? {}) as Doc, o('filter')).toArray()).map((c) => c.name);
    case 'runCommand':
      return db.command(args.command as Doc, o('command', 'commandName'));
    case 'modifyCollection': {
      const { collection, ...rest } = o();
      return db.command({ collMod: collection, ...rest });
    }
    case 'runCursorCommand':
      return commandCursor(ctx, db, args).toArray();
    case 'createCommandCursor': {
      const cursor = commandCursor(ctx, db, args);
      await cursor.hasNext();
      return cursor;
    }
    case 'createChangeStream':
      return startedStream(db.watch((args.pipeline as Doc[]) ?? [], o('pipeline')));
    default:
      throw new Unsupported(`database.${name}`);
  }
}

/**
 * The unified format writes a client bulk write model as `{ insertOne: { namespace, document } }`;
 * the Node driver takes `{ name: 'insertOne', namespace, document }`.
 */
function clientBulkWriteModels(models: unknown): never {
  if (!Array.isArray(models)) throw new MatchError('clientBulkWrite: models is not an array');
  return (models as Doc[]).map((model) => {
    const [name, fields] = Object.entries(model)[0] ?? [];
    return { name, ...(fields as Doc) };
  }) as never;
}

/**
 * A client bulk write result as the unified format has it: the Node driver adds `didUpsert` to each
 * update result, a field the CRUD specification does not define (nested documents may not carry extra
 * fields in the format's matching rules), so it is left out.
 */
function clientBulkWriteResult(result: unknown): unknown {
  const plain = toPlain(result) as Doc | undefined;
  const updates = plain?.updateResults as Record<string, Doc> | undefined;
  if (updates) {
    for (const entry of Object.values(updates)) delete entry.didUpsert;
  }
  return plain;
}

async function runClientOp(ctx: RunnerContext, client: MongoClient, name: string, args: Doc): Promise<unknown> {
  const o = (...taken: string[]): Doc => optionsOf(ctx, args, ...taken);
  switch (name) {
    case 'listDatabases':
    case 'listDatabaseObjects':
      return (await client.db('admin').admin().listDatabases(o())).databases;
    case 'listDatabaseNames':
      return (
        await client
          .db('admin')
          .admin()
          .listDatabases({ ...o(), nameOnly: true })
      ).databases.map((d) => d.name);
    case 'close':
      return client.close();
    case 'clientBulkWrite':
      return clientBulkWriteResult(await client.bulkWrite(clientBulkWriteModels(args.models), o('models')));
    case 'createChangeStream':
      return startedStream(client.watch((args.pipeline as Doc[]) ?? [], o('pipeline')));
    default:
      throw new Unsupported(`client.${name}`);
  }
}

async function runSessionOp(ctx: RunnerContext, session: ClientSession, name: string, args: Doc): Promise<unknown> {
  switch (name) {
    case 'startTransaction':
      session.startTransaction(optionsOf(ctx, args));
      return undefined;
    case 'commitTransaction':
      return session.commitTransaction();
    case 'abortTransaction':
      return session.abortTransaction();
    case 'endSession':
      return session.endSession();
    case 'withTransaction': {
      const callback = args.callback as Doc[];
      const opts = optionsOf(ctx, args, 'callback');
      await session.withTransaction(async () => {
        // An expected error inside the callback is checked, then propagated to withTransaction.
        for (const op of callback) await runOperation(ctx, op, true);
      }, opts);
      return undefined;
    }
    case 'getSnapshotTime':
      return (session as unknown as { snapshotTime?: unknown }).snapshotTime;
    default:
      throw new Unsupported(`session.${name}`);
  }
}

/** Change streams iterate like cursors (unified test format: iterateUntilDocumentOrError, iterateOnce, close). */
async function runCursorOp(cursor: AbstractCursor | ChangeStream, name: string): Promise<unknown> {
  switch (name) {
    case 'iterateUntilDocumentOrError':
      return cursor.next();
    case 'iterateOnce':
      return cursor.tryNext();
    case 'close':
      return cursor.close();
    default:
      throw new Unsupported(`cursor.${name}`);
  }
}

/** Executes the operation itself (no result checks). */
async function execute(ctx: RunnerContext, op: Doc): Promise<unknown> {
  const name = op.name as string;
  const args = (op.arguments ?? {}) as Doc;
  if (op.object === 'testRunner') return runTestRunnerOp(ctx, name, args);
  const target = ctx.entities.get(op.object as string);
  if (ctx.entities.clients.has(op.object as string)) return runClientOp(ctx, target as MongoClient, name, args);
  if (target instanceof AbstractCursor || target instanceof ChangeStream) return runCursorOp(target, name);
  const t = target as object;
  if ('withTransaction' in t) return runSessionOp(ctx, target as ClientSession, name, args);
  if ('collectionName' in t && 'insertOne' in t) return runCollectionOp(ctx, asCollection(target), name, args);
  if ('databaseName' in t && 'collection' in t) return runDatabaseOp(ctx, target as Db, name, args);
  throw new Unsupported(`operation on ${String(op.object)}`);
}

/** Checks an error against an `expectError` document. */
export function checkError(ctx: RunnerContext, expected: Doc, err: unknown): void {
  // A client bulk write wraps a top-level server error as its cause: the unified format's code,
  // label and errorResponse assertions are about that error (the Node driver's own runner does the same).
  const bulk = err instanceof MongoClientBulkWriteError ? err : undefined;
  const top = bulk?.cause instanceof MongoError ? bulk.cause : err;
  const e = top as MongoError & { errorResponse?: Doc; result?: unknown; codeName?: string };
  if (expected.isClientError === true)
    assert(
      !(err instanceof MongoServerError) && err instanceof MongoError,
      `expected a client error, got ${String(err)}`,
    );
  if (expected.isClientError === false)
    assert(err instanceof MongoServerError, `expected a server error: ${String(err)}`);
  if (expected.isTimeoutError === true) assert(/timed? ?out|timeout/i.test(String(e?.message)), 'expected a timeout');
  if (typeof expected.errorContains === 'string') {
    const msg = String(e?.message ?? err).toLowerCase();
    assert(msg.includes(expected.errorContains.toLowerCase()), `error "${msg}" lacks "${expected.errorContains}"`);
  }
  if (expected.errorCode !== undefined)
    assert(e?.code === expected.errorCode, `error code ${e?.code}, expected ${String(expected.errorCode)}`);
  if (expected.errorCodeName !== undefined)
    assert(
      e?.codeName === expected.errorCodeName,
      `codeName ${e?.codeName}, expected ${String(expected.errorCodeName)}`,
    );
  for (const label of (expected.errorLabelsContain as string[] | undefined) ?? [])
    assert(e instanceof MongoError && e.hasErrorLabel(label), `error lacks label ${label}`);
  for (const label of (expected.errorLabelsOmit as string[] | undefined) ?? [])
    assert(!(e instanceof MongoError && e.hasErrorLabel(label)), `error has label ${label}`);
  if (expected.errorResponse !== undefined)
    matchValue(expected.errorResponse, toPlain(e.errorResponse ?? {}), 'errorResponse', ctx.entities);
  if (expected.expectResult !== undefined)
    matchValue(
      expected.expectResult,
      bulk ? clientBulkWriteResult(bulk.partialResult) : toPlain(e.result),
      'error.result',
      ctx.entities,
    );
  if (expected.writeErrors !== undefined) {
    assert(bulk !== undefined, `expected a client bulk write error with writeErrors, got ${String(err)}`);
    const actual = toPlain(bulk?.writeErrors ?? new Map()) as Doc;
    const want = expected.writeErrors as Doc;
    // The same indexes; each error is then matched as a root document (extra fields allowed).
    assert(
      JSON.stringify(Object.keys(actual).sort()) === JSON.stringify(Object.keys(want).sort()),
      `writeErrors at ${Object.keys(actual).join(',') || 'no index'}, expected at ${Object.keys(want).join(',')}`,
    );
    for (const [index, error] of Object.entries(want))
      matchValue(error, actual[index], `error.writeErrors.${index}`, ctx.entities);
  }
  if (expected.writeConcernErrors !== undefined) {
    assert(bulk !== undefined, `expected a client bulk write error with writeConcernErrors, got ${String(err)}`);
    const actual = (bulk?.writeConcernErrors ?? []).map((w) => ({ code: w.code, message: w.errmsg ?? w.message }));
    matchValue(expected.writeConcernErrors, actual, 'error.writeConcernErrors', ctx.entities);
  }
}

/** Runs one operation with its expectations. */
export async function runOperation(ctx: RunnerContext, op: Doc, rethrowExpected = false): Promise<void> {
  let result: unknown;
  try {
    result = await execute(ctx, op);
  } catch (err) {
    if (err instanceof Unsupported || err instanceof MatchError) throw err;
    // Inside a withTransaction callback an error still reaches withTransaction (which retries on its
    // labels), as the Node driver's own unified runner does; elsewhere it is ignored.
    if (op.ignoreResultAndError === true) {
      if (rethrowExpected) throw err;
      return;
    }
    if (!op.expectError) throw err;
    checkError(ctx, op.expectError as Doc, err);
    if (rethrowExpected) throw err;
    return;
  }
  if (op.expectError)
    throw new MatchError(`${String(op.name)}: expected an error, got ${JSON.stringify(toPlain(result))}`);
  if (op.expectResult !== undefined) matchValue(op.expectResult, toPlain(result), String(op.name), ctx.entities);
  if (typeof op.saveResultAsEntity === 'string') ctx.entities.map.set(op.saveResultAsEntity, result);
}
