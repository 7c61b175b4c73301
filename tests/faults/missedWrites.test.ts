/**
 * A write by id that matched nothing, explained while another request creates the document.
 * A DELETE or PUT without If-Match matched nothing because the document did not exist at that
 * moment: the answer is 404, whatever a later read would show. (The storm property in
 * tests/handlers/windowConcurrency.test.ts once met it by chance: a DELETE racing a create
 * answered 412 with no If-Match sent.) The explaining read, when there is one, is held back by a
 * blockConnection fail point while the document is created, so the race happens every time.
 */
import type { CommandSucceededEvent } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { api } from '../support/api.ts';
import { lockFailCommand } from '../support/failCommandLock.ts';
import { type FaultSuite, failCommand, failPointsOff, useFaultSuite } from './support.ts';

const suite = useFaultSuite('faults_missed');

/** How long the handlers' next `find` is held: ample time for the concurrent create to land. */
const HOLD_MS = 1_000;

/**
 * Sends `request`; as soon as its `write` command has been answered, creates the document through
 * another client (`create`), while the handlers' next `find` is held back. Returns the answer.
 */
async function racedByCreate(
  current: FaultSuite,
  write: string,
  create: () => Promise<unknown>,
  request: () => Promise<{ status: number }>,
): Promise<{ status: number }> {
  const client = await current.handlersClient();
  const release = await lockFailCommand(current.admin);
  let created: Promise<unknown> | undefined;
  const listener = (event: CommandSucceededEvent) => {
    if (event.commandName === write) created ??= create();
  };
  try {
    await failCommand(current, { times: 1 }, { failCommands: ['find'], blockConnection: true, blockTimeMS: HOLD_MS });
    client.on('commandSucceeded', listener);
    const response = await request();
    expect(created, `the request sent no ${write}`).toBeDefined();
    await created;
    return response;
  } finally {
    client.off('commandSucceeded', listener);
    await failPointsOff(current).catch(() => 0);
    await release();
  }
}

describe('a write that matched nothing while the document was being created', () => {
  it('answers 404 to a DELETE of an order without If-Match, not 412', async () => {
    // The connection and its indexes first, so that the only `find` left is the explaining one.
    expect((await api.getOrder('missed-order')).status).toBe(404);
    const orders = suite.admin.db(suite.dbName).collection<{ _id: string }>('orders');
    // The delete is a findAndModify in its transaction with its order.deleted event.
    const response = await racedByCreate(
      suite,
      'findAndModify',
      () =>
        orders.insertOne({
          _id: 'missed-order',
          datetime: new Date('2039-01-01T00:00:00Z'),
          totalfee: 1,
          services: [],
          createdAt: new Date(),
          updatedAt: new Date(),
          version: 1,
        } as { _id: string }),
      () => api.deleteOrder('missed-order'),
    );
    expect(response.status).toBe(404);
    // The create that came after the delete stands.
    expect(await orders.countDocuments({ _id: 'missed-order' })).toBe(1);
  });

  it('answers 404 to a PUT of a service without If-Match, not 412', async () => {
    const services = suite.admin.db(suite.dbName).collection<{ _id: string }>('services');
    const response = await racedByCreate(
      suite,
      'findAndModify',
      () =>
        services.insertOne({
          _id: 'missed-service',
          name: 'Created meanwhile',
          createdAt: new Date(),
          updatedAt: new Date(),
          version: 1,
        } as { _id: string }),
      () => api.updateService('missed-service', { name: 'Renamed' }),
    );
    expect(response.status).toBe(404);
    expect(await services.findOne({ _id: 'missed-service' })).toMatchObject({ name: 'Created meanwhile', version: 1 });
  });
});
