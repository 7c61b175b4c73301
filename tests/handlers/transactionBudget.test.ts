import { MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, TransactionBudgetExceededError } from '#lib/db/transactions';
import { connectTestClient } from '../support/mongo.ts';

let client: Awaited<ReturnType<typeof connectTestClient>>;

beforeAll(async () => {
  client = await connectTestClient();
});

afterAll(async () => {
  await client.close();
});

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
