import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CollectionInfo, type Db, MongoBulkWriteError } from 'mongodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/mongo.ts';
import { acrossRestart, withServer } from '../support/restart.ts';
import { serverError } from '../support/server-error.ts';

type Row = { _id: number; x?: unknown; y?: unknown };

/** The `options` listCollections shows for one collection. */
async function listedOptions(db: Db, name: string): Promise<CollectionInfo['options']> {
  const [info] = (await db.listCollections({ name }).toArray()) as CollectionInfo[];
  return info?.options;
}

const typeDetails = (value: unknown, type: string) => ({
  operatorName: '$type',
  specifiedAs: { x: { $type: 'string' } },
  reason: 'type did not match',
  consideredValue: value,
  consideredType: type,
});

describe('document validation (validator, validationLevel, validationAction)', () => {
  const { client, db } = useTestDatabase('validation');
  const rows = () => db.collection<Row>('rows');

  beforeEach(async () => {
    await db.dropCollection('rows').catch(() => undefined);
    await db.createCollection('rows', { validator: { x: { $type: 'string' } } });
  });

  it('refuses an insert that fails the validator with 121 and mongod 5.0+ errInfo details', async () => {
    const err = await serverError(rows().insertOne({ _id: 1, x: 1 }));
    expect(err.code).toBe(121);
    expect(err.message).toBe('Document failed validation');
    expect(err.errInfo).toEqual({ failingDocumentId: 1, details: typeDetails(1, 'int') });
    // A missing field is reported as such.
    const missing = await serverError(rows().insertOne({ _id: 2 }));
    expect(missing.errInfo?.details).toEqual({
      operatorName: '$type',
      specifiedAs: { x: { $type: 'string' } },
      reason: 'field was missing',
    });
    await rows().insertOne({ _id: 3, x: 'ok' });
    expect(await rows().countDocuments()).toBe(1);
  });

  it('reports each unsatisfied clause of a validator with several under $and', async () => {
    await db.command({ collMod: 'rows', validator: { x: { $type: 'string' }, y: { $gt: 5 }, z: { $exists: true } } });
    const err = await serverError(rows().insertOne({ _id: 1, x: 'ok', y: 3 }));
    expect(err.errInfo?.details).toEqual({
      operatorName: '$and',
      clausesNotSatisfied: [
        {
          index: 1,
          details: {
            operatorName: '$gt',
            specifiedAs: { y: { $gt: 5 } },
            reason: 'comparison failed',
            consideredValue: 3,
          },
        },
        {
          index: 2,
          details: { operatorName: '$exists', specifiedAs: { z: { $exists: true } }, reason: 'path does not exist' },
        },
      ],
    });
  });

  it('reports an implicit equality as $eq, specified as written', async () => {
    await db.command({ collMod: 'rows', validator: { x: 'order' } });
    const err = await serverError(rows().insertOne({ _id: 1, x: 'quote' }));
    expect(err.errInfo?.details).toEqual({
      operatorName: '$eq',
      specifiedAs: { x: 'order' },
      reason: 'comparison failed',
      consideredValue: 'quote',
    });
  });

  it('validates updates, replacements, upserts and findAndModify (121), and unordered bulk writes per document', async () => {
    await rows().insertOne({ _id: 1, x: 'a' });
    const update = await serverError(rows().updateOne({ _id: 1 }, { $set: { x: 2 } }));
    expect(update.code).toBe(121);
    expect(update.errInfo).toEqual({ failingDocumentId: 1, details: typeDetails(2, 'int') });
    expect((await serverError(rows().replaceOne({ _id: 1 }, { x: true }))).code).toBe(121);
    expect((await serverError(rows().updateOne({ _id: 9 }, { $set: { x: 9 } }, { upsert: true }))).code).toBe(121);
    const fam = await serverError(rows().findOneAndUpdate({ _id: 1 }, { $set: { x: 1.5 } }));
    expect(fam.code).toBe(121);
    // findAndModify fails as a command: its reply carries the code name.
    expect(fam.codeName).toBe('DocumentValidationFailure');
    expect(fam.errInfo).toEqual({ failingDocumentId: 1, details: typeDetails(1.5, 'double') });
    expect((await serverError(rows().findOneAndReplace({ _id: 1 }, { x: null }))).code).toBe(121);
    const bulk = await rows()
      .bulkWrite([{ insertOne: { document: { _id: 2, x: 2 } } }, { insertOne: { document: { _id: 3, x: 'c' } } }], {
        ordered: false,
      })
      .catch((e: unknown) => e);
    expect(bulk).toBeInstanceOf(MongoBulkWriteError);
    expect((bulk as MongoBulkWriteError).writeErrors).toMatchObject([{ index: 0, code: 121 }]);
    expect(await rows().find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, x: 'a' },
      { _id: 3, x: 'c' },
    ]);
  });

  it('validates what $out and $merge write', async () => {
    const source = db.collection<Row>('rows_source');
    await source.deleteMany({});
    await source.insertMany([{ _id: 1, x: 1 }]);
    const merge = await serverError(source.aggregate([{ $merge: { into: 'rows' } }]).toArray());
    expect(merge.code).toBe(121);
    await db.dropCollection('rows_out').catch(() => undefined);
    await db.createCollection('rows_out', { validator: { x: { $type: 'string' } } });
    expect((await serverError(source.aggregate([{ $out: 'rows_out' }]).toArray())).code).toBe(121);
    expect(await rows().countDocuments()).toBe(0);
    // bypassDocumentValidation lets both through.
    await source.aggregate([{ $merge: { into: 'rows' } }], { bypassDocumentValidation: true }).toArray();
    expect(await rows().findOne({ _id: 1 })).toEqual({ _id: 1, x: 1 });
  });

  it('bypassDocumentValidation: true skips validation on insert, update and findAndModify', async () => {
    const bypass = { bypassDocumentValidation: true };
    await rows().insertOne({ _id: 1, x: 1 }, bypass);
    await rows().updateOne({ _id: 1 }, { $set: { x: 2 } }, bypass);
    await rows().findOneAndUpdate({ _id: 1 }, { $set: { x: 3 } }, bypass);
    expect(await rows().findOne({ _id: 1 })).toEqual({ _id: 1, x: 3 });
    // Without it, the next change is checked again.
    expect((await serverError(rows().updateOne({ _id: 1 }, { $set: { x: 4 } }))).code).toBe(121);
  });

  it("validationLevel 'moderate' lets documents that already fail be updated, but checks valid ones and inserts", async () => {
    await rows().insertOne({ _id: 1, x: 0 }, { bypassDocumentValidation: true });
    await rows().insertOne({ _id: 2, x: 'valid' });
    expect((await serverError(rows().updateOne({ _id: 1 }, { $set: { y: 1 } }))).code).toBe(121);
    await db.command({ collMod: 'rows', validationLevel: 'moderate' });
    await rows().updateOne({ _id: 1 }, { $set: { y: 1 } });
    expect((await serverError(rows().updateOne({ _id: 2 }, { $set: { x: 5 } }))).code).toBe(121);
    expect((await serverError(rows().insertOne({ _id: 3, x: 5 }))).code).toBe(121);
    await db.command({ collMod: 'rows', validationLevel: 'off' });
    await rows().insertOne({ _id: 3, x: 5 });
    expect(await rows().countDocuments()).toBe(3);
  });

  it('collMod adds, changes and removes a validator, and listCollections shows the options', async () => {
    await db.dropCollection('rows');
    await rows().insertOne({ _id: 1, x: 1 });
    await db.command({ collMod: 'rows', validator: { x: { $gte: 10 } }, validationAction: 'error' });
    expect(await listedOptions(db, 'rows')).toEqual({ validator: { x: { $gte: 10 } }, validationAction: 'error' });
    const err = await serverError(rows().insertOne({ _id: 2, x: 5 }));
    expect(err.errInfo?.details).toEqual({
      operatorName: '$gte',
      specifiedAs: { x: { $gte: 10 } },
      reason: 'comparison failed',
      consideredValue: 5,
    });
    await db.command({ collMod: 'rows', validator: {} });
    expect(await listedOptions(db, 'rows')).toEqual({ validationAction: 'error' });
    await rows().insertOne({ _id: 2, x: 5 });
  });

  it('refuses bad options and operators mongod does not allow in a validator, and $jsonSchema (115)', async () => {
    const create = (options: Record<string, unknown>) => db.command({ create: 'rows_bad', ...options });
    expect((await serverError(create({ validator: 7 }))).code).toBe(14);
    expect((await serverError(create({ validator: { x: 1 }, validationLevel: 'lax' }))).code).toBe(2);
    expect((await serverError(create({ validationAction: 'errorAndLog' }))).code).toBe(2);
    expect((await serverError(create({ validationAction: 1 }))).code).toBe(14);
    expect((await serverError(create({ validator: { $where: 'true' } }))).message).toBe(
      '$where is not allowed in this context',
    );
    expect((await serverError(create({ validator: { $text: { $search: 'a' } } }))).code).toBe(2);
    expect((await serverError(create({ validator: { loc: { $near: [0, 0] } } }))).code).toBe(2);
    expect((await serverError(create({ validator: { x: { $bogus: 1 } } }))).code).toBe(2);
    const schema = await serverError(create({ validator: { $jsonSchema: { required: ['x'] } } }));
    expect(schema.code).toBe(115);
    expect((await serverError(db.command({ collMod: 'rows', validator: { $and: [{ $jsonSchema: {} }] } }))).code).toBe(
      115,
    );
    expect(
      (await serverError(db.command({ insert: 'rows', documents: [{ x: 'a' }], bypassDocumentValidation: 'y' }))).code,
    ).toBe(14);
    // No validators in the databases mongod keeps for itself (72 InvalidOptions).
    const internal = client.db('config').command({ create: 'rows_bad', validator: { x: 1 } });
    expect((await serverError(internal)).code).toBe(72);
    expect(await db.listCollections({ name: 'rows_bad' }).toArray()).toEqual([]);
    // The collection's validator is unchanged by the refused collMod.
    expect((await serverError(rows().insertOne({ _id: 1, x: 1 }))).code).toBe(121);
  });
});

describe('document validation of a server on a journal directory', () => {
  it("validationAction 'warn' stores the failing document and logs a line", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'validation-warn-'));
    try {
      const lines = await withServer(dir, async (c) => {
        const d = c.db('validation_warn');
        await d.createCollection('rows', { validator: { x: { $type: 'string' } }, validationAction: 'warn' });
        await d.collection<Row>('rows').insertOne({ _id: 1, x: 1 });
        expect(await d.collection<Row>('rows').findOne({ _id: 1 })).toEqual({ _id: 1, x: 1 });
      });
      expect(lines.filter((l) => l.includes('Document would fail validation'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a validator and its level through a restart (journaled create and collMod)', async () => {
    await acrossRestart(
      async (c) => {
        const d = c.db('validation_restart');
        await d.createCollection('made', { validator: { x: { $type: 'string' } } });
        await d.collection<Row>('changed').insertOne({ _id: 1, x: 1 });
        await d.command({ collMod: 'changed', validator: { x: { $in: ['a', 'b'] } }, validationLevel: 'moderate' });
      },
      async (c) => {
        const d = c.db('validation_restart');
        expect((await serverError(d.collection<Row>('made').insertOne({ _id: 1, x: 1 }))).code).toBe(121);
        expect(await listedOptions(d, 'changed')).toEqual({
          validator: { x: { $in: ['a', 'b'] } },
          validationLevel: 'moderate',
        });
        const err = await serverError(d.collection<Row>('changed').insertOne({ _id: 2, x: 'c' }));
        expect(err.errInfo?.details).toEqual({
          operatorName: '$in',
          specifiedAs: { x: { $in: ['a', 'b'] } },
          reason: 'no matching value found in array',
          consideredValue: 'c',
        });
        // moderate: the document that failed before the restart may still be updated.
        await d.collection<Row>('changed').updateOne({ _id: 1 }, { $set: { y: 1 } });
      },
    );
  });
});
