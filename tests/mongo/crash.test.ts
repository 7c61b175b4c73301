import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collection, MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { startChildMongo } from '#dev/mongo/child';

const ROUNDS = 4;
const CLIENTS = 3;
const LOOPS_PER_CLIENT = 2;
const PAD = 'p'.repeat(8 * 1024);
/**
 * Compact whenever anything is dead: the child compacts back to back while the load runs, so
 * most kills land during an online compaction and leave a partial `journal.bson.compact`.
 */
const CHILD_ARGS = ['--journalCompaction', '1,0'];
const LEFTOVER = 'journal.bson.compact';

type Item = { _id: string; group?: string; pad?: string };
type Counter = { _id: string; v: number };

/** What the clients were told (acknowledged) and what they only attempted. */
class Ledger {
  ackedSingles: string[] = [];
  /** Multi-document writes: group id → the ids it writes. */
  groups = new Map<string, string[]>();
  ackedGroups = new Set<string>();
  incAttempted = new Map<string, number>();
  incAcked = new Map<string, number>();
  acked = 0;
}

async function writeLoad(
  client: MongoClient,
  name: string,
  round: number,
  ledger: Ledger,
  stop: { now: boolean },
): Promise<void> {
  const db = client.db('crash');
  const items: Collection<Item> = db.collection('items');
  const others: Collection<Item> = db.collection('others');
  const counters: Collection<Counter> = db.collection('counters');
  const counterId = `${name}`;
  for (let i = 0; !stop.now; i++) {
    const id = `r${round}-${name}-${i}`;
    try {
      switch (i % 4) {
        case 0:
          await items.insertOne({ _id: id, pad: PAD });
          ledger.ackedSingles.push(id);
          break;
        case 1: {
          const ids = [0, 1, 2, 3, 4].map((k) => `${id}-${k}`);
          ledger.groups.set(id, ids);
          await items.insertMany(ids.map((_id) => ({ _id, group: id, pad: PAD })));
          ledger.ackedGroups.add(id);
          break;
        }
        case 2: {
          const ids = [`${id}-a`, `${id}-b`, `${id}-c`];
          ledger.groups.set(id, ids);
          const session = client.startSession();
          try {
            session.startTransaction();
            await items.insertOne({ _id: ids[0] as string, group: id }, { session });
            await items.insertOne({ _id: ids[1] as string, group: id }, { session });
            await others.insertOne({ _id: ids[2] as string, group: id }, { session });
            await session.commitTransaction();
            ledger.ackedGroups.add(id);
          } finally {
            await session.endSession().catch(() => {});
          }
          break;
        }
        default:
          ledger.incAttempted.set(counterId, (ledger.incAttempted.get(counterId) ?? 0) + 1);
          await counters.updateOne({ _id: counterId }, { $inc: { v: 1 } }, { upsert: true });
          ledger.incAcked.set(counterId, (ledger.incAcked.get(counterId) ?? 0) + 1);
      }
      ledger.acked++;
    } catch {
      return; // the server was killed: this write's outcome is unknown
    }
  }
}

/** `promise`, or a failure naming what hung once `ms` have passed (instead of the test's timeout). */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function verify(uri: string, ledger: Ledger): Promise<void> {
  const client = new MongoClient(uri);
  try {
    const db = client.db('crash');
    const present = new Set<string>();
    for (const name of ['items', 'others']) {
      for (const d of await db
        .collection<Item>(name)
        .find({}, { projection: { _id: 1 } })
        .toArray())
        present.add(d._id);
    }
    const lostSingles = ledger.ackedSingles.filter((id) => !present.has(id));
    expect(lostSingles, 'acknowledged insertOne lost').toEqual([]);
    const lostGroups = [...ledger.ackedGroups].filter((g) =>
      (ledger.groups.get(g) ?? []).some((id) => !present.has(id)),
    );
    expect(lostGroups, 'acknowledged multi-document writes lost (wholly or partly)').toEqual([]);
    const partial = [...ledger.groups].filter(([, ids]) => {
      const n = ids.filter((id) => present.has(id)).length;
      return n > 0 && n < ids.length;
    });
    expect(partial, 'multi-document writes present in part').toEqual([]);
    const counters = new Map(
      (await db.collection<Counter>('counters').find().toArray()).map((c) => [c._id, c.v] as const),
    );
    for (const [id, acked] of ledger.incAcked) {
      const v = counters.get(id) ?? 0;
      expect(v, `counter ${id}`).toBeGreaterThanOrEqual(acked);
      expect(v, `counter ${id}`).toBeLessThanOrEqual(ledger.incAttempted.get(id) ?? 0);
    }
  } finally {
    await client.close();
  }
}

describe('crash safety of the journal (child server killed with SIGKILL)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps every acknowledged write and no partial multi-document write across repeated kill -9', async () => {
    const ledger = new Ledger();
    const leftoverRemoved = (output: string[]) => output.join('').includes('left by an interrupted compaction');
    for (let round = 0; round < ROUNDS; round++) {
      // A kill during a compaction leaves its partial file; the restart must remove it.
      const leftover = readdirSync(dir).includes(LEFTOVER);
      const server = await startChildMongo(['--dbpath', dir, ...CHILD_ARGS]);
      try {
        // Everything acknowledged before the previous kills is still there after this restart.
        await verify(server.uri, ledger);
        expect(leftoverRemoved(server.output), `round ${round}: leftover compaction file removed`).toBe(leftover);
      } catch (err) {
        await server.stop('SIGKILL'); // a failed check must not leave the child running
        throw err;
      }
      const clients = Array.from(
        { length: CLIENTS },
        () => new MongoClient(server.uri, { serverSelectionTimeoutMS: 500, retryWrites: false, maxPoolSize: 4 }),
      );
      const stop = { now: false };
      const ackedBefore = ledger.acked;
      const loads = clients.flatMap((client, c) =>
        Array.from({ length: LOOPS_PER_CLIENT }, (_, l) => writeLoad(client, `c${c}l${l}`, round, ledger, stop)),
      );
      let loadsEnded = false;
      const ended = Promise.all(loads).then(() => {
        loadsEnded = true;
      });
      // Kill at a random moment once the load is running (some writes acknowledged).
      while (ledger.acked - ackedBefore < 60 && !loadsEnded) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, Math.random() * 600));
      await server.stop('SIGKILL');
      stop.now = true;
      // Closing the clients first fails whatever write is still in flight on a dead connection,
      // so the loops end (their outcome is unknown, and the ledger does not count them).
      await within(
        30_000,
        Promise.all(clients.map((c) => c.close().catch(() => {}))),
        `round ${round}: closing the clients did not end after the kill`,
      );
      await within(30_000, ended, `round ${round}: the write loops did not end after the kill`);
      expect(ledger.acked - ackedBefore).toBeGreaterThanOrEqual(60);
    }
    const leftover = readdirSync(dir).includes(LEFTOVER);
    const last = await startChildMongo(['--dbpath', dir, ...CHILD_ARGS]);
    try {
      await verify(last.uri, ledger);
      expect(leftoverRemoved(last.output)).toBe(leftover);
      // A clean stop waits for a running compaction: nothing but the journal is left.
      await last.stop('SIGTERM');
      expect(readdirSync(dir)).toEqual(['journal.bson']);
    } finally {
      await last.stop('SIGKILL');
    }
  }, 180_000);
});
