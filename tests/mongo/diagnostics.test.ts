import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';

// The commands behind mongosh's explain(), db.stats(), coll.stats(), db.currentOp(), rs.status() and serverStatus().
describe('diagnostic commands mongosh relies on', () => {
  const { client, db } = useTestDatabase('diag');

  beforeAll(async () => {
    await db.collection('c').insertMany([{ a: 1 }, { a: 2 }, { a: 3 }]);
    await db.collection('c').createIndex({ a: 1 });
  });

  it('reports database and collection statistics', async () => {
    const stats = await db.command({ dbStats: 1 });
    expect(stats).toMatchObject({ db: db.databaseName, collections: 1, objects: 3, indexes: 2 });
    expect(stats.dataSize).toBeGreaterThan(0);
    const coll = await db.command({ collStats: 'c' });
    expect(coll).toMatchObject({ ns: `${db.databaseName}.c`, count: 3, nindexes: 2 });
    await expect(db.command({ collStats: 'missing' })).rejects.toMatchObject({ code: 26 });
  });

  it('explains a find with the index the planner used', async () => {
    const plan = await db
      .collection('c')
      .find({ a: { $gte: 2 } })
      .explain('executionStats');
    expect(plan.queryPlanner.winningPlan).toMatchObject({
      stage: 'FETCH',
      inputStage: { stage: 'IXSCAN', indexName: 'a_1' },
    });
    expect(plan.executionStats).toMatchObject({ nReturned: 2 });
    const scan = await db.collection('c').find({ b: 1 }).explain('queryPlanner');
    expect(scan.queryPlanner.winningPlan).toEqual({ stage: 'COLLSCAN' });
  });

  it('answers currentOp, replSetGetStatus and serverStatus.connections', async () => {
    const admin = client.db('admin');
    const ops = await admin.command({ currentOp: 1 });
    expect(ops.inprog.some((op: { command?: Record<string, unknown> }) => op.command?.currentOp === 1)).toBe(true);
    const rs = await admin.command({ replSetGetStatus: 1 });
    expect(rs.members).toEqual([expect.objectContaining({ stateStr: 'PRIMARY', self: true })]);
    const status = await admin.command({ serverStatus: 1 });
    expect(status.connections.current).toBeGreaterThanOrEqual(1);
  });

  it('runs database-level aggregations from $documents and refuses other first stages', async () => {
    const docs = await db.aggregate([{ $documents: [{ x: 1 }, { x: 2 }] }, { $match: { x: 2 } }]).toArray();
    expect(docs).toEqual([{ x: 2 }]);
    await expect(db.aggregate([{ $match: {} }]).toArray()).rejects.toMatchObject({ code: 73 });
  });

  it('changes an index with collMod (hidden, TTL) and refuses what it does not implement', async () => {
    await db.collection('t').createIndex({ at: 1 }, { expireAfterSeconds: 60 });
    const hide = await db.command({ collMod: 't', index: { keyPattern: { at: 1 }, hidden: true } });
    expect(hide).toMatchObject({ hidden_old: false, hidden_new: true });
    const ttl = await db.command({ collMod: 't', index: { name: 'at_1', expireAfterSeconds: 120 } });
    expect(ttl).toMatchObject({ expireAfterSeconds_old: 60, expireAfterSeconds_new: 120 });
    const listed = await db.collection('t').listIndexes().toArray();
    expect(listed.find((i) => i.name === 'at_1')).toMatchObject({ hidden: true, expireAfterSeconds: 120 });
    await expect(db.command({ collMod: 't', validator: { $jsonSchema: { required: ['a'] } } })).rejects.toMatchObject({
      code: 115,
    });
    await expect(db.command({ collMod: 't', index: { name: 'nope', hidden: true } })).rejects.toMatchObject({
      code: 27,
    });
    await expect(db.command({ collMod: 'missing', index: { name: 'x', hidden: true } })).rejects.toMatchObject({
      code: 26,
    });
  });
});
