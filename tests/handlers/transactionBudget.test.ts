import { MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, TRANSACTION_BUDGET_MS, TransactionBudgetExceededError } from '#lib/db/transactions';
import { api, useApiDatabase } from '../support/api.ts';
import { connectTestClient } from '../support/mongo.ts';
import { holdWindowLock } from '../support/windowLock.ts';

const database = useApiDatabase('handlers_budget');

let client: Awaited<ReturnType<typeof connectTestClient>>;

beforeAll(async () => {
  client = await connectTestClient();
});

afterAll(async () => {
  await client.close();
});

/**
 * A made-up write conflict, to drive the budget loop alone in a few hundred milliseconds. The
 * real ones are covered elsewhere: a write conflict (112) and a TransientTransactionError label
 * failed by the server on each command of every write's transaction, retried by the driver to
 * the success, in tests/faults/writes.test.ts; conflicts that outlast the budget, from a real
 * open transaction, below.
 */
function writeConflict(): MongoServerError {
  const error = new MongoServerError({ ok: 0, code: 112, codeName: 'WriteConflict', errmsg: 'conflict' });
  error.addErrorLabel('TransientTransactionError');
  return error;
}

describe('transactions', () => {
  it('stop retrying write conflicts once their budget is spent', async () => {
    let attempts = 0;
    const started = performance.now();
    const failing = inTransaction(
      client,
      async () => {
        attempts += 1;
        throw writeConflict();
      },
      300,
    );
    await expect(failing).rejects.toBeInstanceOf(TransactionBudgetExceededError);
    const elapsed = performance.now() - started;
    expect(attempts).toBeGreaterThan(1);
    // The budget plus at most one backoff (500 ms cap) and one attempt, not the driver's 120 s.
    expect(elapsed).toBeLessThan(10_000);
  });

  it('return what the work returns when it commits', async () => {
    const db = client.db(`budget_${Date.now()}`);
    const id = await inTransaction(client, async (session) => {
      await db.collection<{ _id: string }>('things').insertOne({ _id: 'one' }, { session });
      return 'one';
    });
    expect(id).toBe('one');
    expect(await db.collection('things').countDocuments()).toBe(1);
    await db.dropDatabase();
  });
});

describe('a create whose write conflicts outlast the budget', () => {
  it('answers 503 saying the writes conflicted, not that the database is unreachable, then succeeds once free', async () => {
    expect((await api.createService({ id: 'busy', name: 'Busy' })).status).toBe(201);
    const datetime = new Date('2039-05-05T10:00:00Z');
    // Another writer holds the order's window lock in an open transaction for the whole budget.
    const holder = await holdWindowLock(client, database.dbName, datetime);
    try {
      const started = performance.now();
      const response = await api.createOrder({
        datetime: datetime.toISOString(),
        totalfee: 1,
        services: [{ id: 'busy' }],
      });
      const elapsed = performance.now() - started;
      expect(response.status).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.body).toMatchObject({ type: '/problems/write-contention', status: 503 });
      expect(String((response.body as { detail: string }).detail)).toMatch(/conflict/);
      expect(String((response.body as { detail: string }).detail)).not.toMatch(/cannot be reached/);
      expect(elapsed).toBeGreaterThanOrEqual(TRANSACTION_BUDGET_MS);
      // Under the function's 10 s timeout.
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      await holder.release();
    }
    const retried = await api.createOrder({
      datetime: datetime.toISOString(),
      totalfee: 1,
      services: [{ id: 'busy' }],
    });
    expect(retried.status).toBe(201);
  });
});
