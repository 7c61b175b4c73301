/**
 * The journal's syncs, observed directly: kill -9 cannot see a missing fsync (the operating system
 * keeps written data when only the process dies), so these tests watch the calls themselves.
 * node:fs is wrapped (same behaviour, calls recorded) and FileHandle's `write`/`datasync` are
 * spied on; the journal and the server run in this process.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedMongo } from '#dev/mongo/index';
import { openJournal } from '#dev/mongo/storage/journal';
import { encodeRecord, FILE_MAGIC } from '#dev/mongo/storage/journal-format';

const fsCalls = vi.hoisted(() => ({
  events: [] as string[],
  fdPaths: new Map<number, string>(),
  handlePaths: new WeakMap<object, string>(),
}));

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const { basename: name } = await import('node:path');
  const wrapped = {
    ...actual,
    openSync: ((...args: Parameters<typeof actual.openSync>) => {
      const fd = actual.openSync(...args);
      const [path] = args;
      fsCalls.fdPaths.set(fd, String(path));
      return fd;
    }) as typeof actual.openSync,
    fsyncSync: ((fd: number) => {
      actual.fsyncSync(fd);
      fsCalls.events.push(`fsync ${fsCalls.fdPaths.get(fd) ?? fd}`);
    }) as typeof actual.fsyncSync,
    renameSync: ((from: string, to: string) => {
      actual.renameSync(from, to);
      fsCalls.events.push(`rename ${name(String(from))} -> ${name(String(to))}`);
    }) as typeof actual.renameSync,
  };
  return { ...wrapped, default: wrapped };
});

// Directory fsyncs may also go through a FileHandle (`(await open(dir)).sync()`): record its path too.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const wrapped = {
    ...actual,
    open: (async (...args: Parameters<typeof actual.open>) => {
      const handle = await actual.open(...args);
      const [path] = args;
      fsCalls.handlePaths.set(handle, String(path));
      return handle;
    }) as typeof actual.open,
  };
  return { ...wrapped, default: wrapped };
});

const JOURNAL = 'journal.bson';
const dirs: string[] = [];
/** While set, every journal datasync waits for it before syncing. */
let datasyncGate: Promise<void> | undefined;
/** While set, every journal datasync fails with it (a disk error) instead of syncing. */
let datasyncFailure: Error | undefined;

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-sync-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  // FileHandle is not exported: reach its prototype through a handle.
  const handle = await open(join(tempDir(), 'probe'), 'w');
  const proto = Object.getPrototypeOf(handle) as {
    write: (...args: unknown[]) => Promise<unknown>;
    datasync: () => Promise<void>;
    sync: () => Promise<void>;
  };
  await handle.close();
  const write = proto.write;
  const datasync = proto.datasync;
  const sync = proto.sync;
  vi.spyOn(proto, 'write').mockImplementation(async function (this: unknown, ...args: unknown[]) {
    const result = await write.apply(this, args);
    fsCalls.events.push('write');
    return result;
  });
  vi.spyOn(proto, 'datasync').mockImplementation(async function (this: unknown) {
    fsCalls.events.push('datasync started');
    if (datasyncGate) await datasyncGate;
    if (datasyncFailure) throw datasyncFailure;
    await datasync.call(this);
    fsCalls.events.push('datasync done');
  });
  vi.spyOn(proto, 'sync').mockImplementation(async function (this: object) {
    await sync.call(this);
    fsCalls.events.push(`fsync ${fsCalls.handlePaths.get(this) ?? 'a file handle'}`);
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});

afterEach(() => {
  datasyncGate = undefined;
  datasyncFailure = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Events recorded from now on. */
function recordFromHere(): string[] {
  fsCalls.events.length = 0;
  return fsCalls.events;
}

/** Resolves once `events` holds `event`, or rejects after `ms`. */
async function until(events: string[], event: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!events.includes(event)) {
    if (Date.now() > deadline) throw new Error(`no '${event}' within ${ms} ms: ${events.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A gate that holds every journal datasync until `open()`. */
function closeDatasyncGate(): { open: () => void } {
  let open = (): void => {};
  datasyncGate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open: () => {
      datasyncGate = undefined;
      open();
    },
  };
}

/** The events after the last 'write' before `ack`: what happened between the record's write and the reply. */
function afterLastWrite(events: string[], ack: string): string[] {
  const ackAt = events.indexOf(ack);
  expect(ackAt).toBeGreaterThan(-1);
  const lastWrite = events.lastIndexOf('write', ackAt);
  expect(lastWrite).toBeGreaterThan(-1);
  return events.slice(lastWrite + 1, ackAt);
}

describe('journal syncs', () => {
  it('acknowledges a unit only after a datasync that followed its record’s write', async () => {
    const journal = await openJournal(
      tempDir(),
      () => {},
      () => [],
      { log: () => {} },
    );
    try {
      const events = recordFromHere();
      await journal.runUnit(async () => {
        journal.append({ op: 'put', db: 'j', name: 'c', doc: { _id: 1 } });
      }, true);
      events.push('ack');
      expect(afterLastWrite(events, 'ack')).toEqual(['datasync started', 'datasync done']);
    } finally {
      await journal.close();
    }
  });

  it('answers an insert over the wire only after its record was written and datasynced', async () => {
    const server = await startEmbeddedMongo({ port: 0, dbPath: tempDir(), log: () => {} });
    const client = new MongoClient(server.uri);
    try {
      const items = client.db('j').collection<{ _id: number }>('items');
      await items.insertOne({ _id: 0 }); // creates the collection: its own record
      const events = recordFromHere();
      await items.insertOne({ _id: 1 });
      events.push('ack');
      expect(afterLastWrite(events, 'ack')).toEqual(['datasync started', 'datasync done']);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('fsyncs the directory after compaction renames the new file over the journal', async () => {
    const dir = tempDir();
    const journal = await openJournal(
      dir,
      () => {},
      () => [{ op: 'put', db: 'j', name: 'c', doc: { _id: 1 } }],
      { log: () => {} },
    );
    try {
      await journal.runUnit(async () => {
        journal.append({ op: 'put', db: 'j', name: 'c', doc: { _id: 2 } });
      }, true);
      const events = recordFromHere();
      await journal.compact(true);
      const renamed = events.indexOf(`rename ${JOURNAL}.compact -> ${JOURNAL}`);
      expect(renamed).toBeGreaterThan(-1);
      // The new file's data is synced before the rename, the directory entry after it.
      expect(events.slice(0, renamed)).toContain('datasync done');
      expect(events.slice(renamed + 1)).toContain(`fsync ${dir}`);
    } finally {
      await journal.close();
    }
  });

  it('holds a unit that changed nothing until what was queued before it is on disk', async () => {
    const journal = await openJournal(
      tempDir(),
      () => {},
      () => [],
      { log: () => {} },
    );
    const events = recordFromHere();
    const gate = closeDatasyncGate();
    try {
      const first = journal
        .runUnit(async () => {
          journal.append({ op: 'put', db: 'j', name: 'c', doc: { _id: 1 } });
        }, true)
        .then(() => events.push('first acknowledged'));
      await until(events, 'datasync started');
      // A retried write answered from the session: no change of its own, but it waits for earlier ones.
      const retried = journal.runUnit(async () => {}, true).then(() => events.push('retry acknowledged'));
      // It may only settle after the gate opens; give it ample time to settle wrongly first.
      await Promise.race([retried, new Promise((resolve) => setTimeout(resolve, 1_000))]);
      events.push('gate opened');
      gate.open();
      await Promise.all([first, retried]);
      expect(events.indexOf('retry acknowledged')).toBeGreaterThan(events.indexOf('datasync done'));
      expect(events.indexOf('datasync done')).toBeGreaterThan(events.indexOf('gate opened'));
    } finally {
      gate.open();
      await journal.close();
    }
  });

  it('answers a duplicate-key insert over the wire only once the original insert is on disk', async () => {
    const server = await startEmbeddedMongo({ port: 0, dbPath: tempDir(), log: () => {} });
    const original = new MongoClient(server.uri);
    const retry = new MongoClient(server.uri);
    let gate: { open: () => void } | undefined;
    try {
      await original.db('j').createCollection('items');
      await retry.connect();
      const events = recordFromHere();
      gate = closeDatasyncGate();
      const first = original
        .db('j')
        .collection<{ _id: number }>('items')
        .insertOne({ _id: 1 })
        .then(() => events.push('original acknowledged'));
      await until(events, 'datasync started');
      // Applied in memory already, so the duplicate changes nothing; it must not overtake the original.
      const duplicate = retry
        .db('j')
        .collection<{ _id: number }>('items')
        .insertOne({ _id: 1 })
        .catch((error: unknown) => {
          expect(error).toBeInstanceOf(MongoServerError);
          expect((error as MongoServerError).code).toBe(11000);
          events.push('duplicate refused');
        });
      await Promise.race([duplicate, new Promise((resolve) => setTimeout(resolve, 1_500))]);
      events.push('gate opened');
      gate.open();
      await Promise.all([first, duplicate]);
      expect(events).toContain('duplicate refused');
      expect(events.indexOf('duplicate refused')).toBeGreaterThan(events.indexOf('datasync done'));
      expect(events.indexOf('datasync done')).toBeGreaterThan(events.indexOf('gate opened'));
    } finally {
      gate?.open();
      await original.close();
      await retry.close();
      await server.stop();
    }
  });
});

/** Writes a journal file of `n` one-put records; the record at `damaged` (if any) has a flipped payload byte. */
function writeJournalFile(dir: string, n: number, damaged?: number): string {
  const records = Array.from({ length: n }, (_, i) =>
    encodeRecord({ ops: [{ op: 'put', db: 'j', name: 'c', doc: { _id: i + 1 }, s: i + 1 }] }),
  );
  if (damaged !== undefined) {
    const record = records[damaged] as Buffer;
    record[20] = (record[20] as number) ^ 0xff;
  }
  const path = join(dir, JOURNAL);
  writeFileSync(path, Buffer.concat([FILE_MAGIC, ...records]));
  return path;
}

/** Opens the journal in `dir` (nothing to apply) and closes it: the file events recorded meanwhile. */
async function syncsOfOpening(dir: string, options: { repair?: boolean } = {}): Promise<string[]> {
  const events = recordFromHere();
  const journal = await openJournal(
    dir,
    () => {},
    () => [],
    { log: () => {}, ...options },
  );
  await journal.close();
  return events;
}

describe('journal start syncs', () => {
  it('fsyncs the truncated file after cutting a torn last record off it', async () => {
    const dir = tempDir();
    const path = writeJournalFile(dir, 3);
    writeFileSync(path, readFileSync(path).subarray(0, -5));
    const events = await syncsOfOpening(dir);
    // The cut must be on disk before a new record is appended after it.
    expect(events).toContain(`fsync ${path}`);
  });

  it('fsyncs the directory after removing a leftover of an interrupted compaction', async () => {
    const dir = tempDir();
    const path = writeJournalFile(dir, 2);
    writeFileSync(`${path}.compact`, FILE_MAGIC);
    const events = await syncsOfOpening(dir);
    expect(existsSync(`${path}.compact`)).toBe(false);
    expect(events).toEqual([`fsync ${dir}`]);
  });

  it('--repair fsyncs the directory holding the damaged copy before renaming the repaired journal over it', async () => {
    const dir = tempDir();
    writeJournalFile(dir, 4, 1);
    const events = await syncsOfOpening(dir, { repair: true });
    const renamed = events.indexOf(`rename ${JOURNAL}.compact -> ${JOURNAL}`);
    expect(renamed).toBeGreaterThan(-1);
    // A crash during the repair must leave the damaged file under one of its two names.
    expect(events.slice(0, renamed)).toContain(`fsync ${dir}`);
  });
});

/**
 * Where the first durable-reply tests start: a journaled server holding `{_id: 0}`, one client's
 * insert of `{_id: 1}` held at its datasync (the gate closed; `insert` settles once it is
 * acknowledged), and a second client (`reader`) connected. `close` opens the gate and stops all.
 */
async function insertHeldAtDatasync() {
  const server = await startEmbeddedMongo({ port: 0, dbPath: tempDir(), log: () => {} });
  const writer = new MongoClient(server.uri);
  const reader = new MongoClient(server.uri);
  let gate: { open: () => void } | undefined;
  const close = async () => {
    gate?.open();
    await writer.close();
    await reader.close();
    await server.stop();
  };
  try {
    await writer.db('j').collection<{ _id: number }>('items').insertOne({ _id: 0 });
    await reader.connect();
    const events = recordFromHere();
    const closed = closeDatasyncGate();
    gate = closed;
    const insert = writer
      .db('j')
      .collection<{ _id: number }>('items')
      .insertOne({ _id: 1 })
      .then(() => events.push('insert acknowledged'));
    await until(events, 'datasync started');
    return { reader, events, gate: closed, insert, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The reply that waits for the disk (wire/durability.ts), seen by a client: which commands wait for
 * the journal, and what a client is told once the journal cannot be written.
 */
describe('durable replies over the wire', () => {
  it('answers a read at once while an earlier write is still waiting for its datasync', async () => {
    const held = await insertHeldAtDatasync();
    try {
      const { reader, events, gate, insert } = held;
      // A read changes nothing and promises nothing about the disk: it is not held behind the sync.
      const read = reader
        .db('j')
        .collection<{ _id: number }>('items')
        .find({}, { projection: { _id: 1 } })
        .toArray()
        .then((docs) => {
          events.push('read answered');
          return docs;
        });
      // Ample time to answer; a read held behind the gate fails here rather than timing out.
      await Promise.race([read, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      events.push('gate opened');
      gate.open();
      const [ids] = await Promise.all([read, insert]);
      expect(ids.map((doc) => doc._id).sort()).toEqual([0, 1]);
      expect(events.indexOf('read answered')).toBeGreaterThan(-1);
      expect(events.indexOf('read answered')).toBeLessThan(events.indexOf('gate opened'));
      expect(events.indexOf('insert acknowledged')).toBeGreaterThan(events.indexOf('datasync done'));
    } finally {
      await held.close();
    }
  });

  it('commits a transaction that only read once the writes queued before it are on disk', async () => {
    const held = await insertHeldAtDatasync();
    try {
      const { reader, events, gate, insert } = held;
      const session = reader.startSession();
      try {
        session.startTransaction();
        // The transaction reads the insert that is not durable yet, then commits having changed nothing.
        const seen = await reader.db('j').collection<{ _id: number }>('items').findOne({ _id: 1 }, { session });
        expect(seen).toEqual({ _id: 1 });
        const commit = session.commitTransaction().then(() => events.push('commit acknowledged'));
        await Promise.race([commit, new Promise((resolve) => setTimeout(resolve, 1_000))]);
        events.push('gate opened');
        gate.open();
        await Promise.all([insert, commit]);
      } finally {
        await session.endSession();
      }
      expect(events.indexOf('datasync done')).toBeGreaterThan(events.indexOf('gate opened'));
      expect(events.indexOf('commit acknowledged')).toBeGreaterThan(events.indexOf('datasync done'));
    } finally {
      await held.close();
    }
  });

  it('refuses a write with InternalError once the journal cannot be written, and every write after it', async () => {
    const lines: string[] = [];
    const server = await startEmbeddedMongo({ port: 0, dbPath: tempDir(), log: (line) => lines.push(line) });
    const client = new MongoClient(server.uri, { retryWrites: false });
    try {
      const items = client.db('j').collection<{ _id: number }>('items');
      await items.insertOne({ _id: 0 });
      datasyncFailure = new Error('EIO: i/o error, fdatasync');
      const refused = await items.insertOne({ _id: 1 }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(MongoServerError);
      expect(refused).toMatchObject({ code: 1, codeName: 'InternalError' });
      expect((refused as MongoServerError).message).toBe(
        'the journal could not be written (EIO: i/o error, fdatasync); nothing is acknowledged any more, restart the server',
      );
      // The disk is fine again, but what was applied in memory may be lost: nothing is acknowledged.
      datasyncFailure = undefined;
      const later = await items.insertOne({ _id: 2 }).catch((error: unknown) => error);
      expect(later).toMatchObject({ code: 1, codeName: 'InternalError' });
      expect((later as MongoServerError).message).toContain('the journal could not be written (EIO');
      expect(lines.filter((line) => line.includes('write failed'))).toHaveLength(1);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('answers an unknown command on a journaled server with CommandNotFound, keeping the connection', async () => {
    const server = await startEmbeddedMongo({ port: 0, dbPath: tempDir(), log: () => {} });
    const client = new MongoClient(server.uri);
    try {
      const admin = client.db('admin');
      const refused = await admin.command({ noSuchCommand: 1 }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(MongoServerError);
      expect(refused).toMatchObject({ code: 59, codeName: 'CommandNotFound' });
      expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 });
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('answers at once on a server without a journal (in memory)', async () => {
    const server = await startEmbeddedMongo({ port: 0, log: () => {} });
    // A server that drops the connection fails the test in seconds, not at the driver's 30 s default.
    const client = new MongoClient(server.uri, { serverSelectionTimeoutMS: 3_000 });
    try {
      const events = recordFromHere();
      const items = client.db('j').collection<{ _id: number }>('items');
      await items.insertOne({ _id: 1 });
      expect(await items.findOne({ _id: 1 })).toEqual({ _id: 1 });
      expect(events).not.toContain('datasync started');
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
