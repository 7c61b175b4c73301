/**
 * Change streams: an ordered, bounded, in-memory log of committed changes (the part of mongod's
 * oplog change streams read), fed by the storage engine at commit, and the `$changeStream`
 * aggregation stage whose tailable awaitData cursor reads it.
 *
 * Positions in the log are (commit timestamp, index within the commit). Resume tokens encode a
 * position as an uppercase hex string that sorts like the positions (the layout is ours; drivers
 * treat tokens as opaque):
 *   '82' <cluster time seconds: 8> <commit timestamp: 8> <'80' event | '00' high-water mark>
 *   <index: 8> <'01' invalidate | '00'>
 * A high-water mark token for timestamp T sorts before every event of T, like mongod's.
 */
import { createHash } from 'node:crypto';
import { Binary, calculateObjectSize, Long, serialize, Timestamp } from 'bson';
import { Aggregator } from 'mingo/aggregator';
import { MongoCommandError } from '../bson/errors.ts';
import { MAX_BSON_OBJECT_SIZE } from '../bson/limits.ts';
import { BSON_CONTEXT } from '../bson/match.ts';
import { keyString } from '../bson/order.ts';
import type { CommitListener, Doc, DocumentChange, Engine, Transaction } from '../storage/engine.ts';
import type { CursorStore, TailableSource } from './cursors.ts';

/** A batch stops before this many bytes of events (room for the reply envelope in 16 MiB). */
const BATCH_BYTES = MAX_BSON_OBJECT_SIZE - 64 * 1024;
/** The first batch's size when `cursor.batchSize` is not given, as for any aggregate. */
const DEFAULT_FIRST_BATCH = 101;

/** Equal as stored BSON (types and field order included), as mongod's update diff compares. */
function sameBson(a: unknown, b: unknown): boolean {
  return Buffer.from(serialize({ v: a })).equals(Buffer.from(serialize({ v: b })));
}

/** What `aggregate` passes to {@link openChangeStream}. */
export interface ChangeStreamRequest {
  db: string;
  /** The command's `aggregate` value: a collection name or 1. */
  target: unknown;
  inTransaction: boolean;
  lsidKey: string | undefined;
  batchSize: number | undefined;
  engine: Engine;
  cursors: CursorStore;
}

/** How many changes the log keeps by default (mongod bounds its oplog by size instead). */
export const DEFAULT_CHANGE_HISTORY = 10_000;

/** Stages mongod allows after `$changeStream`. */
const ALLOWED_STAGES = new Set([
  '$match',
  '$project',
  '$addFields',
  '$set',
  '$unset',
  '$replaceRoot',
  '$replaceWith',
  '$redact',
]);

const SPEC_FIELDS = new Set([
  'allChangesForCluster',
  'fullDocument',
  'fullDocumentBeforeChange',
  'resumeAfter',
  'startAfter',
  'startAtOperationTime',
  'showExpandedEvents',
]);

/** The `uid` of a session's lsid in change events: SHA-256 of the (empty) user name, as mongod without auth. */
const NO_AUTH_UID = new Binary(createHash('sha256').update('').digest(), 0);

type OperationType = 'insert' | 'update' | 'replace' | 'delete' | 'drop' | 'dropDatabase';

interface LoggedChange {
  ts: number;
  index: number;
  wallTime: Date;
  op: OperationType;
  db: string;
  /** Empty for dropDatabase. */
  coll: string;
  before: Doc | null;
  after: Doc | null;
  /** Whether the collection recorded pre- and post-images (changeStreamPreAndPostImages) at the time. */
  images: boolean;
  txn?: { lsid: Doc; txnNumber: Long };
}

/** A point in the log: the changes strictly after it are wanted. */
interface Position {
  ts: number;
  index: number;
}

const AFTER_ALL = 2 ** 32 - 1;

function comparePositions(a: Position, b: Position): number {
  return a.ts - b.ts || a.index - b.index;
}

/** The log of committed changes; the storage engine's commit listener. */
export class ChangeLog implements CommitListener {
  private entries: LoggedChange[] = [];
  private head = 0;
  /** Every change at or before this position may be missing (trimmed, or before this run). */
  private lostUpTo: Position;
  private readonly waiters = new Set<() => void>();
  readonly limit: number;
  /** The seconds part of this run's cluster times. */
  readonly clusterTimeBase: number;

  constructor(opts: { limit: number; clusterTimeBase: number; startClock: number }) {
    this.limit = Math.max(1, opts.limit);
    this.clusterTimeBase = opts.clusterTimeBase;
    this.lostUpTo = opts.startClock > 0 ? { ts: opts.startClock, index: AFTER_ALL } : { ts: -1, index: AFTER_ALL };
  }

  documentsCommitted(ts: number, changes: DocumentChange[], txn: Transaction | undefined): void {
    const wallTime = new Date();
    const txnFields =
      txn?.lsid && txn.txnNumber >= 0
        ? {
            lsid: { id: (txn.lsid as Doc).id, uid: NO_AUTH_UID },
            txnNumber: Long.fromNumber(txn.txnNumber),
          }
        : undefined;
    changes.forEach((c, index) => {
      this.entries.push({
        ts,
        index,
        wallTime,
        op: c.kind,
        db: c.coll.db,
        coll: c.coll.name,
        before: c.before,
        after: c.after,
        images: (c.coll.options.changeStreamPreAndPostImages as Doc | undefined)?.enabled === true,
        ...(txnFields ? { txn: txnFields } : {}),
      });
    });
    this.appended();
  }

  dropped(ts: number, db: string, coll: string | undefined): void {
    const op: OperationType = coll === undefined ? 'dropDatabase' : 'drop';
    const entry = { ts, index: 0, wallTime: new Date(), op, db, coll: coll ?? '', before: null, after: null };
    this.entries.push({ ...entry, images: false });
    this.appended();
  }

  private appended(): void {
    let excess = this.entries.length - this.head - this.limit;
    while (excess-- > 0) {
      const dropped = this.entries[this.head++] as LoggedChange;
      this.lostUpTo = { ts: dropped.ts, index: dropped.index };
    }
    if (this.head > this.limit) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    for (const wake of [...this.waiters]) wake();
  }

  /** Whether changes after `pos` (and, `inclusive`, the one at it) may have been trimmed away. */
  lost(pos: Position, inclusive = false): boolean {
    const c = comparePositions(this.lostUpTo, pos);
    return c > 0 || (inclusive && c === 0);
  }

  /** Whether the log holds the change at exactly `pos`. */
  has(pos: Position): boolean {
    const i = this.firstAfter({ ts: pos.ts, index: pos.index - 1 });
    const e = this.entries[i];
    return e !== undefined && e.ts === pos.ts && e.index === pos.index;
  }

  /** Index (into entries) of the first change after `pos`. */
  private firstAfter(pos: Position): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comparePositions(this.entries[mid] as LoggedChange, pos) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The changes after `pos`, oldest first. */
  *after(pos: Position): Generator<LoggedChange> {
    for (let i = this.firstAfter(pos); i < this.entries.length; i++) {
      const e = this.entries[i];
      if (e && comparePositions(e, pos) > 0) yield e; // trimming may have shifted indexes
    }
  }

  /** Resolves when something is appended or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      // Unref'd: a getMore still waiting must not keep a stopping process alive.
      const timer = setTimeout(done, ms).unref();
      this.waiters.add(done);
    });
  }
}

// ---- resume tokens -----------------------------------------------------------------------------

interface DecodedToken extends Position {
  highWaterMark: boolean;
  fromInvalidate: boolean;
  /** The cluster-time seconds of the run that issued it. */
  base: number;
}

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

function encodeToken(base: number, t: DecodedToken | (Position & { highWaterMark?: false; fromInvalidate?: boolean })) {
  const type = t.highWaterMark ? '00' : '80';
  return { _data: `82${hex8(base)}${hex8(t.ts)}${type}${hex8(t.index)}${t.fromInvalidate ? '01' : '00'}` };
}

/** A high-water-mark token: everything up to and including commit `clock` has been seen. */
function highWaterMark(base: number, clock: number): Doc {
  return encodeToken(base, { ts: clock + 1, index: 0, highWaterMark: true, fromInvalidate: false, base });
}

function decodeToken(field: string, raw: unknown): DecodedToken {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new MongoCommandError(14, `BSON field '$changeStream.${field}' is the wrong type, expected type 'object'`);
  const data = (raw as Doc)._data;
  if (typeof data !== 'string') throw new MongoCommandError(9, 'Bad resume token: _data of missing or of wrong type');
  const m = /^82([0-9A-F]{8})([0-9A-F]{8})(00|80)([0-9A-F]{8})(00|01)$/.exec(data);
  if (!m) throw new MongoCommandError(9, `Bad resume token: failed to decode resume token ${data}`);
  return {
    base: Number.parseInt(m[1] as string, 16),
    ts: Number.parseInt(m[2] as string, 16),
    highWaterMark: m[3] === '00',
    index: Number.parseInt(m[4] as string, 16),
    fromInvalidate: m[5] === '01',
  };
}

// ---- events --------------------------------------------------------------------------------------

/** updateDescription of an update: the changed fields by dotted path, the removed ones, shrunk arrays. */
export function describeUpdate(before: Doc, after: Doc): Doc {
  const updatedFields: Doc = {};
  const removedFields: string[] = [];
  const truncatedArrays: Doc[] = [];
  const isObject = (v: unknown): v is Doc =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
  const diff = (a: Doc, b: Doc, prefix: string): void => {
    for (const [k, v] of Object.entries(b)) {
      const path = prefix + k;
      if (!Object.hasOwn(a, k)) updatedFields[path] = v;
      else if (!sameBson(a[k], v)) diffValue(a[k], v, path);
    }
    for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) removedFields.push(prefix + k);
  };
  const diffValue = (a: unknown, b: unknown, path: string): void => {
    if (isObject(a) && isObject(b)) diff(a, b, `${path}.`);
    else if (Array.isArray(a) && Array.isArray(b)) {
      if (b.length < a.length) truncatedArrays.push({ field: path, newSize: b.length });
      b.forEach((v, i) => {
        if (i >= a.length) updatedFields[`${path}.${i}`] = v;
        else if (!sameBson(a[i], v)) diffValue(a[i], v, `${path}.${i}`);
      });
    } else updatedFields[path] = b;
  };
  diff(before, after, '');
  return { updatedFields, removedFields, truncatedArrays };
}

type Scope = { kind: 'collection'; db: string; coll: string } | { kind: 'database'; db: string } | { kind: 'cluster' };

function inScope(scope: Scope, e: LoggedChange): boolean {
  if (scope.kind === 'cluster') return !['admin', 'config', 'local'].includes(e.db);
  if (scope.kind === 'database') return e.db === scope.db && !e.coll.startsWith('system.');
  return e.db === scope.db && (e.coll === scope.coll || e.op === 'dropDatabase');
}

/** Whether this change ends a stream of this scope with an invalidate event. */
function invalidates(scope: Scope, e: LoggedChange): boolean {
  if (scope.kind === 'collection') return e.op === 'drop' || e.op === 'dropDatabase';
  return scope.kind === 'database' && e.op === 'dropDatabase';
}

interface StreamOptions {
  scope: Scope;
  fullDocument: 'default' | 'updateLookup' | 'whenAvailable' | 'required';
  fullDocumentBeforeChange: 'off' | 'whenAvailable' | 'required';
  pipeline: Doc[];
}

/** The cursor behind one `$changeStream` aggregation. */
class ChangeStreamCursor implements TailableSource {
  private pos: Position;
  /** Reached an invalidating change: nothing follows. */
  private invalidated = false;
  /** The invalidate event that did not fit in the last batch. */
  private pendingInvalidate: Doc | undefined;

  constructor(
    private readonly log: ChangeLog,
    private readonly engine: Engine,
    private readonly opts: StreamOptions,
    start: Position,
  ) {
    this.pos = start;
  }

  /** Builds the event documents of the changes after the current position, at most `max`. */
  private collect(max: number): { batch: Doc[]; closed: boolean; full: boolean } {
    const base = this.log.clusterTimeBase;
    const events: Doc[] = [];
    let bytes = 0;
    /** Adds an event if it fits (the first always does); false: the batch is full. */
    const add = (event: Doc | undefined): boolean => {
      if (!event) return true;
      if (events.length >= max) return false;
      const size = calculateObjectSize(event);
      if (events.length > 0 && bytes + size > BATCH_BYTES) return false;
      bytes += size;
      events.push(event);
      return true;
    };
    if (this.pendingInvalidate) {
      if (!add(this.pendingInvalidate)) return { batch: events, closed: false, full: true };
      this.pendingInvalidate = undefined;
      return { batch: events, closed: true, full: false };
    }
    for (const e of this.log.after(this.pos)) {
      if (inScope(this.opts.scope, e) && !(e.op === 'dropDatabase' && this.opts.scope.kind === 'collection')) {
        // (A collection stream sees only the invalidate of a dropDatabase: its drop came first.)
        if (!add(this.applyPipeline(this.eventOf(e, base)))) return { batch: events, closed: false, full: true };
      }
      this.pos = { ts: e.ts, index: e.index };
      if (inScope(this.opts.scope, e) && invalidates(this.opts.scope, e)) {
        const token = encodeToken(base, { ts: e.ts, index: e.index, fromInvalidate: true });
        const clusterTime = new Timestamp({ t: base, i: e.ts });
        const invalidate = this.applyPipeline({
          _id: token,
          operationType: 'invalidate',
          clusterTime,
          wallTime: e.wallTime,
        });
        this.invalidated = true;
        if (!add(invalidate)) {
          this.pendingInvalidate = invalidate;
          return { batch: events, closed: false, full: true };
        }
        return { batch: events, closed: true, full: false };
      }
    }
    return { batch: events, closed: false, full: false };
  }

  private eventOf(e: LoggedChange, base: number): Doc {
    const event: Doc = {
      _id: encodeToken(base, { ts: e.ts, index: e.index }),
      operationType: e.op,
      clusterTime: new Timestamp({ t: base, i: e.ts }),
      wallTime: e.wallTime,
    };
    if (e.txn) {
      event.txnNumber = e.txn.txnNumber;
      event.lsid = e.txn.lsid;
    }
    if (e.op === 'insert' || e.op === 'replace') event.fullDocument = e.after;
    if (e.op === 'update') {
      if (this.opts.fullDocument === 'updateLookup') {
        const coll = this.engine.getCollection(e.db, e.coll);
        const id = keyString((e.after as Doc)._id);
        event.fullDocument = coll ? this.engine.visible(coll, id, { snapshot: Number.POSITIVE_INFINITY }) : null;
      } else if (this.opts.fullDocument === 'whenAvailable') event.fullDocument = e.images ? e.after : null;
      else if (this.opts.fullDocument === 'required') {
        if (!e.images) throw missingImage('post', e);
        event.fullDocument = e.after;
      }
    }
    event.ns = e.op === 'dropDatabase' ? { db: e.db } : { db: e.db, coll: e.coll };
    const keyOf = e.after ?? e.before;
    if (keyOf) event.documentKey = { _id: keyOf._id };
    if (e.op === 'update') event.updateDescription = describeUpdate(e.before as Doc, e.after as Doc);
    if (e.op === 'update' || e.op === 'replace' || e.op === 'delete') {
      const mode = this.opts.fullDocumentBeforeChange;
      if (mode === 'required' && !e.images) throw missingImage('pre', e);
      if (mode !== 'off') event.fullDocumentBeforeChange = e.images ? e.before : null;
    }
    return event;
  }

  /** Runs the stages after `$changeStream` on one event (undefined: filtered out). */
  private applyPipeline(event: Doc): Doc | undefined {
    if (this.opts.pipeline.length === 0) return event;
    let out: Doc[];
    try {
      out = new Aggregator(this.opts.pipeline, { context: BSON_CONTEXT }).run([event]) as Doc[];
    } catch (err) {
      if (err instanceof MongoCommandError) throw err;
      throw new MongoCommandError(2, err instanceof Error ? err.message : String(err));
    }
    const result = out[0];
    if (result && !sameBson(result._id, event._id)) {
      throw new MongoCommandError(
        280,
        `Encountered an event whose _id field, which contains the resume token, was modified by the pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that point. Only transformations that retain the unmodified _id field are allowed. Expected: ${JSON.stringify(event._id)} but found: ${JSON.stringify(result._id ?? null)}`,
      );
    }
    return result;
  }

  /** The token of the current position (before anything was read). */
  startToken(): Doc {
    const base = this.log.clusterTimeBase;
    if (this.pos.index === AFTER_ALL) return highWaterMark(base, this.pos.ts);
    return encodeToken(base, this.pos);
  }

  /** The batch and the postBatchResumeToken that goes with it. */
  batch(batchSize: number | undefined): { batch: Doc[]; extra: Doc; closed: boolean } {
    const max = batchSize === undefined || batchSize <= 0 ? Number.POSITIVE_INFINITY : batchSize;
    const { batch, closed, full } =
      this.invalidated && !this.pendingInvalidate ? { batch: [], closed: true, full: false } : this.collect(max);
    const last = batch[batch.length - 1];
    const postBatchResumeToken =
      (full || closed) && last
        ? last._id
        : highWaterMark(this.log.clusterTimeBase, Math.max(this.pos.ts, this.engine.clock));
    if (!full) this.pos = { ts: Math.max(this.pos.ts, this.engine.clock), index: AFTER_ALL };
    return { batch, extra: { postBatchResumeToken }, closed };
  }

  async next(batchSize: number | undefined, awaitMs: number): Promise<{ batch: Doc[]; extra: Doc; closed: boolean }> {
    const deadline = Date.now() + awaitMs;
    for (;;) {
      const result = this.batch(batchSize);
      const left = deadline - Date.now();
      if (result.batch.length > 0 || result.closed || left <= 0) return result;
      await this.log.waitForChange(left);
    }
  }
}

function missingImage(kind: 'pre' | 'post', e: LoggedChange): MongoCommandError {
  const what =
    kind === 'pre'
      ? 'Change stream was configured to require a pre-image for all update, delete and replace events, but the pre-image was not available for event'
      : 'Change stream was configured to require a post-image for all update events, but the post-image was not found for event';
  return new MongoCommandError(
    47,
    `${what}: ${JSON.stringify({ operationType: e.op, ns: { db: e.db, coll: e.coll } })}`,
  );
}

// ---- the aggregation stage ----------------------------------------------------------------------

function enumOption<T extends string>(spec: Doc, field: string, values: readonly T[], fallback: T): T {
  const v = spec[field];
  if (v === undefined) return fallback;
  if (typeof v !== 'string')
    throw new MongoCommandError(14, `BSON field '$changeStream.${field}' is the wrong type, expected type 'string'`);
  if (!(values as readonly string[]).includes(v))
    throw new MongoCommandError(2, `Enumeration value '${v}' for field '$changeStream.${field}' is not a valid value.`);
  return v as T;
}

/** Whether an aggregate pipeline is a change stream (its first stage is `$changeStream`). */
export function isChangeStream(pipeline: Doc[]): boolean {
  const first = pipeline[0];
  return first !== undefined && typeof first === 'object' && first !== null && '$changeStream' in first;
}

function scopeOf(ctx: ChangeStreamRequest, spec: Doc): Scope {
  const allChanges = spec.allChangesForCluster === true;
  if (ctx.target === 1) {
    if (ctx.db === 'admin') {
      if (!allChanges)
        throw new MongoCommandError(73, '$changeStream may not be opened on the internal admin database');
      return { kind: 'cluster' };
    }
    if (allChanges)
      throw new MongoCommandError(
        73,
        "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no collection name",
      );
    if (ctx.db === 'config' || ctx.db === 'local')
      throw new MongoCommandError(73, `$changeStream may not be opened on the internal ${ctx.db} database`);
    return { kind: 'database', db: ctx.db };
  }
  const coll = String(ctx.target);
  if (allChanges)
    throw new MongoCommandError(
      73,
      "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and with no collection name",
    );
  if (['admin', 'config', 'local'].includes(ctx.db))
    throw new MongoCommandError(73, `$changeStream may not be opened on the internal ${ctx.db} database`);
  if (coll.startsWith('system.')) throw new MongoCommandError(73, `Invalid namespace: ${ctx.db}.${coll}`);
  return { kind: 'collection', db: ctx.db, coll };
}

/** Where the stream starts, from resumeAfter / startAfter / startAtOperationTime (or now). */
function startPosition(log: ChangeLog, engine: Engine, spec: Doc): Position {
  const given = ['resumeAfter', 'startAfter', 'startAtOperationTime'].filter((f) => spec[f] !== undefined);
  if (given.length > 1)
    throw new MongoCommandError(40674, 'Only one type of resume option is allowed, but multiple were found.');
  const field = given[0];
  const historyLost = (): MongoCommandError =>
    new MongoCommandError(
      286,
      'Resume of change stream was not possible, as the resume point may no longer be in the oplog.',
    );
  if (field === undefined) return { ts: engine.clock, index: AFTER_ALL };
  if (field === 'startAtOperationTime') {
    const t = spec.startAtOperationTime;
    if (!(t instanceof Timestamp))
      throw new MongoCommandError(
        14,
        "BSON field '$changeStream.startAtOperationTime' is the wrong type, expected type 'timestamp'",
      );
    if (t.high > log.clusterTimeBase) return { ts: Number.MAX_SAFE_INTEGER, index: 0 };
    const pos = t.high < log.clusterTimeBase ? { ts: -1, index: AFTER_ALL } : { ts: t.low - 1, index: AFTER_ALL };
    if (log.lost(pos)) throw historyLost();
    return pos;
  }
  const token = decodeToken(field, spec[field]);
  if (field === 'resumeAfter' && token.fromInvalidate)
    throw new MongoCommandError(
      260,
      "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification.",
    );
  if (token.base < log.clusterTimeBase) throw historyLost();
  const pos = token.highWaterMark ? { ts: token.ts - 1, index: AFTER_ALL } : { ts: token.ts, index: token.index };
  if (log.lost(pos, !token.highWaterMark)) throw historyLost();
  if (!token.highWaterMark && (token.base > log.clusterTimeBase || !log.has(pos)))
    throw new MongoCommandError(
      280,
      `cannot resume stream; the resume token was not found. ${JSON.stringify(spec[field])}`,
    );
  return pos;
}

/** Handles `aggregate` whose first stage is `$changeStream`: opens the tailable cursor. */
export function openChangeStream(ctx: ChangeStreamRequest, log: ChangeLog, stages: Doc[]): Doc {
  if (ctx.inTransaction)
    throw new MongoCommandError(
      263,
      'Operation not permitted in transaction :: caused by :: Aggregation stage $changeStream cannot run within a multi-document transaction.',
    );
  const spec = (stages[0] as Doc).$changeStream;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec))
    throw new MongoCommandError(50808, '$changeStream stage expects a document as argument');
  const s = spec as Doc;
  for (const key of Object.keys(s)) {
    if (!SPEC_FIELDS.has(key))
      throw new MongoCommandError(40415, `BSON field '$changeStream.${key}' is an unknown field.`);
  }
  if (s.showExpandedEvents === true)
    throw new MongoCommandError(
      115,
      '$changeStream showExpandedEvents is not supported by the embedded MongoDB server',
    );
  const pipeline = stages.slice(1);
  for (const stage of pipeline) {
    const op = Object.keys(stage)[0] ?? '';
    if (op === '$changeStream')
      throw new MongoCommandError(40602, '$changeStream is only valid as the first stage in a pipeline.');
    if (!ALLOWED_STAGES.has(op)) throw new MongoCommandError(20, `${op} is not permitted in a $changeStream pipeline`);
  }
  const opts: StreamOptions = {
    scope: scopeOf(ctx, s),
    fullDocument: enumOption(s, 'fullDocument', ['default', 'updateLookup', 'whenAvailable', 'required'], 'default'),
    fullDocumentBeforeChange: enumOption(s, 'fullDocumentBeforeChange', ['off', 'whenAvailable', 'required'], 'off'),
    pipeline,
  };
  const cursor = new ChangeStreamCursor(log, ctx.engine, opts, startPosition(log, ctx.engine, s));
  const ns = opts.scope.kind === 'collection' ? `${ctx.db}.${opts.scope.coll}` : `${ctx.db}.$cmd.aggregate`;
  // batchSize 0 opens the stream without reading: the token of the start point goes back.
  const first =
    ctx.batchSize === 0
      ? { batch: [], extra: { postBatchResumeToken: cursor.startToken() }, closed: false }
      : cursor.batch(ctx.batchSize ?? DEFAULT_FIRST_BATCH);
  const id = first.closed ? Long.ZERO : ctx.cursors.openTailable(ns, cursor, ctx.lsidKey);
  return { cursor: { firstBatch: first.batch, postBatchResumeToken: first.extra.postBatchResumeToken, id, ns }, ok: 1 };
}
