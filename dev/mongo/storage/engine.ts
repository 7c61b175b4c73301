/**
 * The storage engine: catalog of databases/collections, multi-version documents (MVCC), index
 * maintenance, document/unique-key write locks held by open transactions, and atomic commits.
 *
 * Every committed change gets a timestamp from a global clock. A transaction reads the versions
 * committed at or before its snapshot timestamp, overlaid with its own uncommitted writes. Old
 * versions are pruned as soon as no open transaction can see them, so without transactions each
 * document has exactly one version and no extra cost.
 */
import { type Binary, calculateObjectSize, UUID } from 'bson';
import { MongoCommandError, writeConflict } from '../bson/errors.ts';
import { formatKeyValue, keyString } from '../bson/order.ts';
import { cappedDocBytes, cappedEvictions, isCapped } from './capped.ts';
import { type Doc, Index, type IndexSpec } from './indexes.ts';
import type { Journal, JournalRecord } from './journal.ts';
import { checkDocument } from './validation.ts';

export type { Doc } from './indexes.ts';

interface Version {
  ts: number;
  doc: Doc | null;
  /** BSON size of `doc` (0 for a delete), so the live size is kept without measuring twice. */
  bytes: number;
}

/**
 * What one live document costs in a compacted journal beyond its own BSON: its
 * `{op: 'put', db, name, doc}` entry in a snapshot record (measured: 47 bytes plus the two names).
 * The file size minus this estimate is what a compaction would reclaim. A journal written one
 * insert at a time (83 bytes of record per document) shows at most 36 / (83 + document) of
 * itself as dead, under 45% even for empty documents, so the default half-the-file rule never
 * rewrites an all-live journal.
 */
const JOURNAL_BYTES_PER_DOC = 48;
/** A collection's own records (create, its indexes) in a journal, as a rough constant. */
const JOURNAL_BYTES_PER_CATALOG_ENTRY = 256;

/** A collection: documents by `_id` key (each a chain of versions) and its indexes. */
export class Collection {
  readonly db: string;
  /** Changes only when the collection is renamed (see {@link Engine.renameCollection}). */
  name: string;
  /** Creation options as listCollections shows them (collMod may change some). */
  options: Doc;
  readonly uuid: Binary;
  /** Prefix of this collection's lock keys (unique per incarnation, so a re-created collection starts clean). */
  readonly lockPrefix: string;
  readonly docs = new Map<string, Version[]>();
  readonly indexes = new Map<string, Index>();
  /** Each live document's record id (`showRecordId`): a counter taken when the document is inserted, kept by updates. */
  readonly recordIds = new Map<string, number>();
  lastRecordId = 0;
  /** Total BSON size of the latest committed versions (for the journal's dead-bytes estimate). */
  liveBytes = 0;
  /** Total BSON size of the live documents of a capped collection (for its `size` limit). */
  cappedBytes = 0;
  /** The open transaction that created this collection: others do not list it until it commits. */
  createdBy: Transaction | undefined;

  constructor(db: string, name: string, options: Doc) {
    this.db = db;
    this.name = name;
    this.options = options;
    this.uuid = new UUID();
    this.lockPrefix = this.uuid.toString('hex');
    this.indexes.set('_id_', new Index({ v: 2, key: { _id: 1 }, name: '_id_' }));
  }

  get ns(): string {
    return `${this.db}.${this.name}`;
  }
}

/** Thrown by a non-transactional write that must wait for a transaction holding a lock. */
export class LockWait {
  readonly until: Promise<void>;
  constructor(until: Promise<void>) {
    this.until = until;
  }
}

/** How a write changed a document: what a change stream reports as its `operationType`. */
export type WriteKind = 'insert' | 'update' | 'replace' | 'delete';

/** One document change of a commit, in the order the writes happened. */
export interface DocumentChange {
  coll: Collection;
  kind: WriteKind;
  before: Doc | null;
  after: Doc | null;
}

/**
 * Receives every commit in commit order, each with its timestamp (the change-stream log of
 * query/change-streams.ts). Catalog drops come with a timestamp of their own.
 */
export interface CommitListener {
  documentsCommitted(ts: number, changes: DocumentChange[], txn: Transaction | undefined): void;
  /** A collection (`coll` set) or a whole database (`coll` undefined) was dropped. */
  dropped(ts: number, db: string, coll: string | undefined): void;
}

/** An open multi-document transaction. */
export class Transaction {
  readonly snapshot: number;
  readonly txnNumber: number;
  /** The session's `lsid` document (change events of the transaction carry it). */
  readonly lsid: Doc | undefined;
  /** Every write in order, for the change events the commit produces. */
  readonly changes: DocumentChange[] = [];
  readonly startedAt = Date.now();
  readonly writes = new Map<Collection, Map<string, Doc | null>>();
  readonly locks: string[] = [];
  /** Collections this transaction created (kept on commit, dropped on abort). */
  readonly created: Collection[] = [];
  state: 'active' | 'committed' | 'aborted' = 'active';
  abortReason = '';
  readonly done: Promise<void>;
  resolveDone: () => void = () => {};

  constructor(snapshot: number, txnNumber: number, lsid?: Doc) {
    this.snapshot = snapshot;
    this.txnNumber = txnNumber;
    this.lsid = lsid;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }
}

/** What a read sees: the latest committed state, or a transaction's snapshot plus its own writes. */
export interface ReadView {
  snapshot: number;
  txn?: Transaction | undefined;
}

/** The view of plain (non-transactional) operations. */
export const LATEST: ReadView = { snapshot: Number.POSITIVE_INFINITY };

interface PendingWrite {
  coll: Collection;
  id: string;
  doc: Doc | null;
  /** Set for writes of commands (not journal replay): what change streams report. */
  kind?: WriteKind;
  before?: Doc | null;
}

/** Validates a database name like mongod. */
export function checkDbName(db: string): void {
  if (!db || db.length >= 64 || /[/\\. "$\0]/.test(db)) {
    throw new MongoCommandError(73, `Invalid database name: '${db}'`);
  }
}

/** Validates a collection name like mongod. */
export function checkCollectionName(db: string, name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new MongoCommandError(73, `collection name has invalid type ${typeof name}`);
  if (name === '' || name.includes('$') || name.includes('\0') || name.startsWith('.') || name.startsWith('system.')) {
    throw new MongoCommandError(73, `Invalid collection name: ${db}.${name}`);
  }
}

/** The storage engine shared by all connections of one server. */
export class Engine {
  clock = 0;
  readonly dbs = new Map<string, Map<string, Collection>>();
  readonly locks = new Map<string, Transaction>();
  readonly activeTxns = new Set<Transaction>();
  private pruneQueue = new Map<Collection, Set<string>>();
  journal: Journal | undefined;
  /** Told about every commit and drop (the change-stream log); unset while the journal replays. */
  commitListener: CommitListener | undefined;
  /** Where `validationAction: 'warn'` reports documents that fail their collection's validator. */
  warningLog: ((line: string) => void) | undefined;

  // ---- catalog -------------------------------------------------------------------------------

  getCollection(db: string, name: string): Collection | undefined {
    return this.dbs.get(db)?.get(name);
  }

  /**
   * Returns the collection, creating it (and journaling that) if needed. Created inside a
   * transaction, it is dropped again if that transaction aborts.
   */
  ensureCollection(db: string, name: string, options: Doc = {}, txn?: Transaction): Collection {
    const existing = this.getCollection(db, name);
    if (existing) return existing;
    checkDbName(db);
    checkCollectionName(db, name);
    let colls = this.dbs.get(db);
    if (!colls) {
      colls = new Map();
      this.dbs.set(db, colls);
    }
    const coll = new Collection(db, name, options);
    coll.createdBy = txn;
    txn?.created.push(coll);
    colls.set(name, coll);
    this.log({ op: 'createCollection', db, name, options });
    return coll;
  }

  /** Drops a collection; `silently` (an aborted transaction's own creation) reports no drop event. */
  dropCollection(db: string, name: string, silently = false): boolean {
    const colls = this.dbs.get(db);
    const coll = colls?.get(name);
    if (!colls || !coll) return false;
    colls.delete(name);
    if (colls.size === 0) this.dbs.delete(db);
    this.pruneQueue.delete(coll);
    this.log({ op: 'dropCollection', db, name });
    if (this.commitListener && !silently) this.commitListener.dropped(++this.clock, db, name);
    return true;
  }

  /**
   * Renames a collection within its database, replacing the collection of that name if there is
   * one (mongod's renameCollection with dropTarget): one catalog change, journaled as one record,
   * so readers see either the old target or the whole new one. The documents keep their versions.
   */
  renameCollection(coll: Collection, to: string): void {
    checkCollectionName(coll.db, to);
    const colls = this.dbs.get(coll.db);
    if (!colls || colls.get(coll.name) !== coll)
      throw new MongoCommandError(26, `collection ${coll.ns} does not exist`);
    const from = coll.name;
    const target = colls.get(to);
    if (target) this.pruneQueue.delete(target);
    colls.delete(from);
    colls.set(to, coll);
    coll.name = to;
    this.log({ op: 'renameCollection', db: coll.db, name: from, to });
  }

  dropDatabase(db: string): void {
    const existed = this.dbs.has(db);
    for (const name of [...(this.dbs.get(db)?.keys() ?? [])]) this.dropCollection(db, name);
    this.dbs.delete(db);
    if (existed && this.commitListener) this.commitListener.dropped(++this.clock, db, undefined);
  }

  /** Replaces a collection's options (collMod), journaled. */
  setCollectionOptions(coll: Collection, options: Doc): void {
    coll.options = options;
    this.log({ op: 'setCollectionOptions', db: coll.db, name: coll.name, options });
  }

  /**
   * Throws LockWait while an open transaction other than `except` has written to `coll`: what an
   * index build or mongod's exclusive collection lock waits for (callers retry, see retryOnLock).
   */
  checkNoOtherWriters(coll: Collection, except?: Transaction): void {
    for (const txn of this.activeTxns) {
      if (txn !== except && txn.writes.get(coll)?.size) throw new LockWait(txn.done);
    }
  }

  /** Adds an index and indexes existing documents; fails (and leaves nothing) on duplicate keys. */
  addIndex(coll: Collection, spec: IndexSpec): void {
    const index = new Index(spec);
    for (const [id, chain] of coll.docs) {
      for (const v of chain) if (v.doc) index.add(id, v.doc);
    }
    if (index.unique) {
      const [first] = this.duplicateKeys(coll, spec);
      if (first) throw this.duplicateKeyError(coll, index, first.key);
    }
    coll.indexes.set(spec.name, index);
    this.log({ op: 'createIndex', db: coll.db, name: coll.name, spec });
  }

  /**
   * The keys of index `spec` that more than one document holds in the latest state, each with the
   * `_id`s of those documents, as mongod finds them when it builds a unique index or converts one:
   * equal keys (under the index's collation) are neighbours once sorted by the index's order.
   */
  duplicateKeys(coll: Collection, spec: IndexSpec): { key: unknown[]; ids: unknown[] }[] {
    const latest = new Index(spec);
    const latestDocs = new Map<string, Doc>();
    for (const [id, chain] of coll.docs) {
      const doc = chain[chain.length - 1]?.doc;
      if (doc) {
        latest.add(id, doc);
        latestDocs.set(id, doc);
      }
    }
    const groups: { key: unknown[]; ids: unknown[] }[] = [];
    let group: { key: unknown[]; idKeys: Set<string> } | undefined;
    const flush = (): void => {
      if (group && group.idKeys.size > 1)
        groups.push({ key: group.key, ids: [...group.idKeys].map((id) => latestDocs.get(id)?._id) });
    };
    for (const e of latest.entries.forward()) {
      if (group && latest.sameKey(group.key, e.key)) group.idKeys.add(e.id);
      else {
        flush();
        group = { key: e.key, idKeys: new Set([e.id]) };
      }
    }
    flush();
    return groups;
  }

  dropIndex(coll: Collection, name: string): void {
    coll.indexes.delete(name);
    this.log({ op: 'dropIndex', db: coll.db, name: coll.name, index: name });
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** The version of a document a view sees, or null. */
  visible(coll: Collection, id: string, view: ReadView): Doc | null {
    if (view.txn) {
      const own = view.txn.writes.get(coll)?.get(id);
      if (own !== undefined) return own;
    }
    const chain = coll.docs.get(id);
    if (!chain) return null;
    if (view.snapshot === Number.POSITIVE_INFINITY) return (chain[chain.length - 1] as Version).doc;
    for (let i = chain.length - 1; i >= 0; i--) {
      const v = chain[i] as Version;
      if (v.ts <= view.snapshot) return v.doc;
    }
    return null;
  }

  /** Whether a document currently has more than one retained version. */
  isMultiVersion(coll: Collection, id: string): boolean {
    return (coll.docs.get(id)?.length ?? 0) > 1;
  }

  // ---- writes --------------------------------------------------------------------------------

  duplicateKeyError(coll: Collection, index: Index, key: unknown[]): MongoCommandError {
    const keyValue = index.keyDoc(key);
    const shown = Object.entries(keyValue)
      .map(([f, v]) => `${f}: ${formatKeyValue(v)}`)
      .join(', ');
    return new MongoCommandError(
      11000,
      `E11000 duplicate key error collection: ${coll.ns} index: ${index.name} dup key: { ${shown} }`,
      { keyPattern: { ...index.spec.key }, keyValue },
    );
  }

  private takeLockOrFail(lockKey: string, txn: Transaction | undefined): void {
    const holder = this.locks.get(lockKey);
    if (holder && holder !== txn) {
      if (txn) throw writeConflict();
      throw new LockWait(holder.done);
    }
  }

  private docLockKey(coll: Collection, id: string): string {
    return `${coll.lockPrefix}\0${id}`;
  }

  private keyLockKey(coll: Collection, index: Index, key: unknown[]): string {
    return `${coll.lockPrefix}\0${index.name}\0${index.lockKeyOf(key)}`;
  }

  /**
   * Checks that `doc` (about to become the version of document `id`) keeps every unique index
   * unique in the writer's view, and that no concurrent writer holds or has committed the key.
   */
  private checkUnique(coll: Collection, id: string, doc: Doc, view: ReadView): string[] {
    const keyLocks: string[] = [];
    const txn = view.txn;
    const own = txn?.writes.get(coll);
    for (const index of coll.indexes.values()) {
      if (!(index.unique || index.prepareUnique) || index.name === '_id_') continue;
      // A prepareUnique index refuses only keys the document adds (mongod checks on index
      // insertion): a key it already had may keep the duplicates that existed before.
      const before = index.unique ? null : this.visible(coll, id, view);
      const beforeKeys = before ? index.keysOf(before) : [];
      for (const key of index.keysOf(doc)) {
        if (beforeKeys.some((k) => index.sameKey(k, key))) continue;
        const lockKey = this.keyLockKey(coll, index, key);
        this.takeLockOrFail(lockKey, txn);
        keyLocks.push(lockKey);
        const producesKey = (d: Doc | null): boolean => !!d && index.keysOf(d).some((k) => index.sameKey(k, key));
        for (const otherId of index.idsWithKey(key)) {
          if (otherId === id) continue;
          if (own?.has(otherId)) continue; // judged below from the transaction's own version
          if (producesKey(this.visible(coll, otherId, view))) throw this.duplicateKeyError(coll, index, key);
          if (txn) {
            const chain = coll.docs.get(otherId);
            const last = chain?.[chain.length - 1];
            if (last && last.ts > txn.snapshot && producesKey(last.doc)) throw writeConflict();
          }
        }
        if (own) {
          for (const [otherId, d] of own) {
            if (otherId !== id && producesKey(d)) throw this.duplicateKeyError(coll, index, key);
          }
        }
      }
    }
    return keyLocks;
  }

  /** Checks the document lock and, in a transaction, that nobody committed it after the snapshot. */
  private checkDocWritable(coll: Collection, id: string, view: ReadView): string {
    const lockKey = this.docLockKey(coll, id);
    this.takeLockOrFail(lockKey, view.txn);
    if (view.txn) {
      const chain = coll.docs.get(id);
      const last = chain?.[chain.length - 1];
      if (last && last.ts > view.txn.snapshot) throw writeConflict();
    }
    return lockKey;
  }

  /**
   * Writes one document version (null = delete) in the given view: in a transaction it is
   * buffered under locks; otherwise it commits at once. A stored document must pass the
   * collection's validator unless the command bypasses validation (`bypassValidation`).
   * Throws DocumentValidationFailure, DuplicateKey, WriteConflict or LockWait.
   */
  writeDoc(
    coll: Collection,
    id: string,
    doc: Doc | null,
    view: ReadView,
    mode: WriteKind,
    bypassValidation = false,
  ): void {
    const docLock = this.checkDocWritable(coll, id, view);
    const before = this.visible(coll, id, view);
    if (doc) checkDocument(coll.ns, coll.options, before, doc, { bypass: bypassValidation, warn: this.warningLog });
    if (mode === 'insert' && before) {
      throw this.duplicateKeyError(coll, coll.indexes.get('_id_') as Index, [(doc as Doc)._id]);
    }
    const keyLocks = doc ? this.checkUnique(coll, id, doc, view) : [];
    if (doc) {
      // Surface "cannot index parallel arrays" before anything is written.
      for (const index of coll.indexes.values()) index.keysOf(doc);
    }
    const txn = view.txn;
    if (txn) {
      let own = txn.writes.get(coll);
      if (!own) {
        own = new Map();
        txn.writes.set(coll, own);
      }
      own.set(id, doc);
      if (this.commitListener) txn.changes.push({ coll, kind: mode, before, after: doc });
      for (const lockKey of [docLock, ...keyLocks]) {
        if (!this.locks.has(lockKey)) {
          this.locks.set(lockKey, txn);
          txn.locks.push(lockKey);
        }
      }
      return;
    }
    this.commit([{ coll, id, doc, kind: mode, before }]);
  }

  /**
   * Makes writes visible atomically under one new timestamp. A transaction passes itself and its
   * changes in write order; a single write reports its own.
   */
  private commit(writes: PendingWrite[], txn?: Transaction): void {
    if (writes.length === 0) return;
    const ts = ++this.clock;
    const keepHistory = this.activeTxns.size > 0;
    const record: JournalRecord[] = [];
    // Indexed loop: inserts into a capped collection append the evictions they cause.
    for (let i = 0; i < writes.length; i++) {
      const { coll, id, doc } = writes[i] as PendingWrite;
      if (this.getCollection(coll.db, coll.name) !== coll) continue; // dropped meanwhile
      const chain = coll.docs.get(id);
      const last = chain ? (chain[chain.length - 1] as Version) : undefined;
      const prev = last ? last.doc : null;
      const bytes = doc ? calculateObjectSize(doc) : 0;
      coll.liveBytes += bytes - (last?.bytes ?? 0);
      if (doc && !prev) {
        coll.recordIds.set(id, ++coll.lastRecordId);
        // Natural order is insertion order: a document re-inserted while older versions are kept moves to the end.
        if (chain) {
          coll.docs.delete(id);
          coll.docs.set(id, chain);
        }
      } else if (!doc) coll.recordIds.delete(id);
      const capped = isCapped(coll.options);
      if (capped) coll.cappedBytes += cappedDocBytes(doc) - cappedDocBytes(prev);
      if (!keepHistory) {
        if (prev) for (const index of coll.indexes.values()) index.remove(id, prev, [doc]);
        if (doc) {
          for (const index of coll.indexes.values()) index.add(id, doc);
          coll.docs.set(id, [{ ts, doc, bytes }]);
        } else coll.docs.delete(id);
      } else {
        if (doc) for (const index of coll.indexes.values()) index.add(id, doc);
        if (chain) chain.push({ ts, doc, bytes });
        else coll.docs.set(id, [{ ts, doc, bytes }]);
        let queued = this.pruneQueue.get(coll);
        if (!queued) {
          queued = new Set();
          this.pruneQueue.set(coll, queued);
        }
        queued.add(id);
      }
      if (this.journal) {
        record.push(
          doc
            ? { op: 'put', db: coll.db, name: coll.name, doc }
            : { op: 'delete', db: coll.db, name: coll.name, id: prev?._id ?? null },
        );
      }
      if (capped && doc && !prev) {
        for (const evicted of cappedEvictions(coll, id)) writes.push({ coll, id: evicted, doc: null });
      }
    }
    if (this.journal && record.length > 0) this.journal.append({ op: 'batch', ops: record });
    if (this.commitListener) {
      const changes: DocumentChange[] = txn
        ? txn.changes
        : writes.flatMap((w) =>
            w.kind ? [{ coll: w.coll, kind: w.kind, before: w.before ?? null, after: w.doc }] : [],
          );
      const live = changes.filter((c) => this.getCollection(c.coll.db, c.coll.name) === c.coll);
      if (live.length > 0) this.commitListener.documentsCommitted(ts, live, txn);
    }
  }

  /** Drops versions no open transaction can see any more (and their index keys). */
  private prune(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const t of this.activeTxns) oldest = Math.min(oldest, t.snapshot);
    for (const [coll, ids] of this.pruneQueue) {
      for (const id of ids) {
        const chain = coll.docs.get(id);
        if (!chain) {
          ids.delete(id);
          continue;
        }
        let keepFrom = 0;
        for (let i = chain.length - 1; i >= 0; i--) {
          if ((chain[i] as Version).ts <= oldest) {
            keepFrom = i;
            break;
          }
        }
        if (keepFrom > 0) {
          const dropped = chain.splice(0, keepFrom);
          const retained = chain.map((v) => v.doc);
          for (const v of dropped) {
            if (v.doc) for (const index of coll.indexes.values()) index.remove(id, v.doc, retained);
          }
        }
        if (chain.length === 1) {
          ids.delete(id);
          if ((chain[0] as Version).doc === null) coll.docs.delete(id);
        }
      }
      if (ids.size === 0) this.pruneQueue.delete(coll);
    }
  }

  // ---- transactions --------------------------------------------------------------------------

  beginTransaction(txnNumber: number, lsid?: Doc): Transaction {
    const txn = new Transaction(this.clock, txnNumber, lsid);
    this.activeTxns.add(txn);
    return txn;
  }

  commitTransaction(txn: Transaction): void {
    if (txn.state !== 'active') return;
    const writes: PendingWrite[] = [];
    for (const [coll, docs] of txn.writes) for (const [id, doc] of docs) writes.push({ coll, id, doc });
    this.activeTxns.delete(txn); // its snapshot no longer needs protecting
    this.commit(writes, txn);
    this.endTransaction(txn, 'committed');
  }

  abortTransaction(txn: Transaction, reason: string): void {
    if (txn.state !== 'active') return;
    txn.abortReason = reason;
    this.endTransaction(txn, 'aborted');
  }

  private endTransaction(txn: Transaction, state: 'committed' | 'aborted'): void {
    txn.state = state;
    this.activeTxns.delete(txn);
    for (const lockKey of txn.locks) if (this.locks.get(lockKey) === txn) this.locks.delete(lockKey);
    txn.locks.length = 0;
    if (state === 'aborted') txn.writes.clear();
    txn.changes.length = 0;
    this.settleCreatedCollections(txn, state);
    txn.resolveDone();
    this.prune();
  }

  /** Collections a transaction created become everyone's on commit and disappear on abort. */
  private settleCreatedCollections(txn: Transaction, state: 'committed' | 'aborted'): void {
    for (const coll of txn.created) {
      coll.createdBy = undefined;
      if (state === 'aborted' && this.getCollection(coll.db, coll.name) === coll)
        this.dropCollection(coll.db, coll.name, true);
    }
    txn.created.length = 0;
  }

  // ---- persistence ---------------------------------------------------------------------------

  private log(record: JournalRecord): void {
    this.journal?.append(record);
  }

  /** Applies a journal record while loading (journaling disabled). */
  replay(record: JournalRecord): void {
    switch (record.op) {
      case 'createCollection':
        this.ensureCollection(record.db, record.name, record.options);
        break;
      case 'dropCollection':
        this.dropCollection(record.db, record.name);
        break;
      case 'setCollectionOptions': {
        const coll = this.getCollection(record.db, record.name);
        if (coll) coll.options = record.options;
        break;
      }
      case 'createIndex': {
        const coll = this.ensureCollection(record.db, record.name);
        if (!coll.indexes.has(record.spec.name)) this.addIndex(coll, record.spec);
        break;
      }
      case 'dropIndex': {
        const coll = this.getCollection(record.db, record.name);
        if (coll) this.dropIndex(coll, record.index);
        break;
      }
      case 'renameCollection': {
        const coll = this.getCollection(record.db, record.name);
        if (coll) this.renameCollection(coll, record.to);
        break;
      }
      case 'put': {
        const coll = this.ensureCollection(record.db, record.name);
        this.commit([{ coll, id: keyString(record.doc._id), doc: record.doc }]);
        break;
      }
      case 'delete': {
        const coll = this.getCollection(record.db, record.name);
        if (coll) this.commit([{ coll, id: keyString(record.id), doc: null }]);
        break;
      }
      case 'batch':
        for (const op of record.ops) this.replay(op);
        break;
    }
  }

  /**
   * An estimate of the bytes a compacted journal needs for the latest committed state: the
   * documents' BSON plus a per-document entry overhead (JOURNAL_BYTES_PER_DOC). The journal compares it with its
   * file size to decide when compaction pays (see CompactionPolicy in journal.ts).
   */
  journalLiveBytes(): number {
    let bytes = 0;
    for (const colls of this.dbs.values()) {
      for (const coll of colls.values()) {
        const perDoc = JOURNAL_BYTES_PER_DOC + coll.db.length + coll.name.length;
        bytes += coll.liveBytes + coll.recordIds.size * perDoc;
        bytes += JOURNAL_BYTES_PER_CATALOG_ENTRY * (1 + coll.indexes.size);
      }
    }
    return bytes;
  }

  /** The whole latest committed state as journal records (for compaction). */
  *snapshotRecords(): Generator<JournalRecord> {
    for (const [db, colls] of this.dbs) {
      for (const [name, coll] of colls) {
        yield { op: 'createCollection', db, name, options: coll.options };
        for (const index of coll.indexes.values()) {
          if (index.name !== '_id_') yield { op: 'createIndex', db, name, spec: index.spec };
        }
        for (const chain of coll.docs.values()) {
          const doc = chain[chain.length - 1]?.doc;
          if (doc) yield { op: 'put', db, name, doc };
        }
      }
    }
  }
}
