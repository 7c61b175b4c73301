/**
 * mongod has one `failCommand` fail point per server: a test file that sets it replaces what
 * another file set, and one that turns it off turns off the other's (appName scoping only keeps
 * a fail point from touching other clients' commands). Files that configure it on the suite's
 * shared server take this lock around each use: a document in a database of its own, so it works
 * alike on the embedded server and on a real mongod, across the forks vitest runs files in.
 */
import { randomBytes } from 'node:crypto';
import type { MongoClient } from 'mongodb';
import { isDuplicateKeyError } from '#lib/db/errors';

const LOCK_DB = 'test_fail_point_lock';
/** A lock older than this belongs to a process that died: taken over. */
const STALE_MS = 120_000;

interface LockDocument {
  _id: 'failCommand';
  holder: string;
  at: Date;
}

/** Takes the lock, waiting for another holder; returns its release. */
export async function lockFailCommand(client: MongoClient, waitMs = 180_000): Promise<() => Promise<void>> {
  const locks = client.db(LOCK_DB).collection<LockDocument>('locks');
  const holder = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    try {
      await locks.insertOne({ _id: 'failCommand', holder, at: new Date() });
      break;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    await locks.deleteOne({ _id: 'failCommand', at: { $lt: new Date(Date.now() - STALE_MS) } });
    if (Date.now() > giveUpAt) throw new Error('the failCommand lock stayed taken');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return async () => {
    await locks.deleteOne({ _id: 'failCommand', holder });
  };
}
