/**
 * The 8.0 claim (one client bulkWrite) with an outbox event among its models: the event's insert
 * sits between the service checks and the order's models, so what the claim reads back from the
 * order's update must be taken after it. A create and a move both pass their event this way (a
 * move reads its order first); this calls claimAndWrite directly with an update and an event.
 */
import type { ClientSession } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClaimOutcome, ClientBulkWriteUnsupportedError, claimAndWrite } from '#lib/db/createWrites';
import { collections } from '#lib/db/indexes';
import { type OutboxDocument, outboxEvent } from '#lib/db/outbox';
import { useTestDatabase } from '../support/mongo.ts';

const { client, db } = useTestDatabase('events_claim');
const BEFORE = new Date('2045-01-01T00:00:00Z');
const AFTER = new Date('2045-01-01T05:00:00Z');
let serverIs8 = false;

beforeAll(async () => {
  serverIs8 = (await db.admin().command({ hello: 1 })).maxWireVersion >= 25;
  await db.collection<{ _id: string }>(collections.services).insertOne({ _id: 'svc', name: 'Service' } as never);
  await db
    .collection<{ _id: string }>(collections.orders)
    .insertOne({ _id: 'ord', datetime: BEFORE, totalfee: 1, services: [{ id: 'svc' }], version: 1 } as never);
});

/** One claim in a transaction of its own: the order `ord` at `version` updated to `datetime`, with an event. */
async function claimUpdate(datetime: Date, version: number): Promise<{ outcome: ClaimOutcome; eventId: string }> {
  const event = outboxEvent({ type: 'order.moved', resourceId: 'ord', version: 0, since: BEFORE, at: datetime });
  const session: ClientSession = client.startSession();
  try {
    const outcome = await session.withTransaction(() =>
      claimAndWrite(
        client,
        db,
        {
          lockKeys: ['claim-with-event'],
          serviceIds: ['svc', 'svc-gone'],
          write: { update: { filter: { _id: 'ord', version }, set: { datetime } } },
          event,
        },
        session,
      ),
    );
    return { outcome, eventId: event._id };
  } finally {
    await session.endSession();
  }
}

const stored = (eventId: string) => db.collection<OutboxDocument>(collections.outboxEvents).findOne({ _id: eventId });

describe('the 8.0 claim with an event before the order update', () => {
  it('reads whether the update matched at the version given from the order model, not the event', async () => {
    if (!serverIs8) {
      // Before 8.0 there is no client bulkWrite: the caller falls back to the collection commands.
      await expect(claimUpdate(AFTER, 1)).rejects.toBeInstanceOf(ClientBulkWriteUnsupportedError);
      return;
    }
    const moved = await claimUpdate(AFTER, 1);
    expect(moved.outcome).toEqual({ missingServices: ['svc-gone'], update: { matched: true } });
    expect(await stored(moved.eventId)).toMatchObject({ type: 'order.moved', resource: 'order/ord' });

    const inPlace = await claimUpdate(AFTER, 2);
    expect(inPlace.outcome.update).toEqual({ matched: true });

    const stale = await claimUpdate(BEFORE, 1);
    expect(stale.outcome.update).toEqual({ matched: false });
    expect(await db.collection(collections.orders).findOne({ _id: 'ord' } as never)).toMatchObject({
      datetime: AFTER,
      version: 3,
    });
  });
});
