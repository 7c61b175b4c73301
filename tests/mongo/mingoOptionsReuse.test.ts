/**
 * The embedded server hands mingo options made once (dev/mongo/bson/mingo-options.ts) and runs
 * plain operator updates through mingo's operators directly (dev/mongo/query/update.ts), to avoid
 * copying mingo's operator context on every statement. These pin that the results are exactly what
 * mingo's own entry points give with fresh options.
 */
import { Decimal128, Long } from 'bson';
import { find, update as mingoUpdate } from 'mingo';
import { Query } from 'mingo/query';
import { describe, expect, it } from 'vitest';
import { cloneDoc, withIdFirst } from '../../dev/mongo/bson/documents.ts';
import { BSON_CONTEXT, bsonQuery } from '../../dev/mongo/bson/match.ts';
import { project } from '../../dev/mongo/commands/common.ts';
import { applyUpdate } from '../../dev/mongo/query/update.ts';

type Doc = Record<string, unknown>;

const stored: Doc = {
  _id: 7,
  n: 5,
  f: 1.5,
  s: 'x',
  a: [3, 1, 2],
  tags: ['red', 'blue'],
  nested: { deep: { k: 1 }, list: [{ q: 1 }, { q: 2 }] },
  when: new Date(Date.UTC(2040, 0, 1)),
};

/** Operator updates without positional paths, arrayFilters or $rename: the direct path. */
const updates: Doc[] = [
  { $inc: { writes: 1 } },
  { $inc: { n: 2, f: -0.5, 'nested.deep.k': 3, 'fresh.counter': 1 } },
  { $set: { s: 'y', 'nested.deep.k': 9, 'brand.new.path': [1, 2] }, $unset: { f: '' } },
  { $set: { 'a.1': 10, 'nested.list.0.q': 5 } },
  { $mul: { n: 3, missing: 2 }, $min: { f: 0.1 }, $max: { when: new Date(Date.UTC(2041, 0, 1)) } },
  { $push: { a: { $each: [9, 0], $sort: 1, $slice: 4 } }, $addToSet: { tags: { $each: ['blue', 'green'] } } },
  { $pull: { a: { $gte: 2 } }, $pop: { tags: -1 } },
  { $pull: { 'nested.list': { q: 2 } }, $pullAll: { tags: ['red'] } },
  { $bit: { n: { and: 4 } } },
  { $set: { n: 5 } }, // no change
  { $unset: { nothere: '' } }, // no change
];

describe('operator updates without positional paths', () => {
  it.each(updates.map((u) => [JSON.stringify(u), u]))('%s gives what mingo update gives', (_, u) => {
    const expected = cloneDoc(stored);
    mingoUpdate(expected, cloneDoc(u as Doc) as never);
    const got = applyUpdate(stored, cloneDoc(u as Doc), { isInsert: false });
    expect(got).toEqual(withIdFirst(expected));
    expect(Object.keys(got)).toEqual(Object.keys(withIdFirst(expected)));
  });

  it('leaves the stored document untouched', () => {
    const before = cloneDoc(stored);
    for (const u of updates) applyUpdate(stored, cloneDoc(u), { isInsert: false });
    expect(stored).toEqual(before);
  });

  it('an upsert seed gets $setOnInsert and $inc like mongod', () => {
    expect(applyUpdate({ _id: 'k' }, { $inc: { writes: 1 }, $setOnInsert: { at: 1 } }, { isInsert: true })).toEqual({
      _id: 'k',
      writes: 1,
      at: 1,
    });
  });

  it('$currentDate sets the time of the statement', () => {
    const before = Date.now();
    const got = applyUpdate(stored, { $currentDate: { at: true, ts: { $type: 'date' } } }, { isInsert: false });
    expect((got.at as Date).getTime()).toBeGreaterThanOrEqual(before);
    expect(got.ts).toEqual(got.at);
  });
});

describe('filters compiled with options made once', () => {
  const docs: Doc[] = [stored, { _id: 8, n: 1, a: [], s: 'X' }, { _id: 9, nested: { deep: { k: 2 } } }];
  const filters: Doc[] = [
    { n: { $gt: 2 } },
    { a: { $elemMatch: { $gte: 3 } } },
    { $or: [{ s: 'X' }, { 'nested.deep.k': 2 }] },
    { $expr: { $gt: [{ $add: ['$n', 1] }, 2] } },
    { when: { $lt: '$$NOW' } },
    { $expr: { $lt: ['$when', '$$NOW'] } },
  ];

  it.each(filters.map((f) => [JSON.stringify(f), f]))('%s matches what a fresh query matches', (_, filter) => {
    const fresh = new Query(filter as Doc, { context: BSON_CONTEXT });
    const shared = bsonQuery(filter as Doc);
    expect(docs.map((d) => shared.test(d))).toEqual(docs.map((d) => fresh.test(d)));
  });

  // BSON equality across numeric types, arrays, dotted paths, NaN and missing fields.
  const equalityDocs: Doc[] = [
    { _id: 5 },
    { _id: 5.0 },
    { _id: Long.fromNumber(5) },
    { _id: new Decimal128('5.00') },
    { _id: '5' },
    { _id: [5] },
    { _id: { a: 5 } },
    { _id: null },
    {},
    { _id: Number.NaN },
    { _id: true, tags: ['red', 'blue'], nested: { deep: { k: 1 } } },
    { _id: 'k', tags: 'red', nested: [{ deep: { k: 1 } }, { deep: { k: 2 } }] },
  ];
  const equalities: Doc[] = [
    { _id: 5 },
    { _id: '5' },
    { _id: true },
    { _id: Number.NaN },
    { _id: 'k', tags: 'red' },
    { tags: 'red' },
    { 'nested.deep.k': 2 },
    { 'nested.deep.k': 1, _id: true },
    { 'tags.1': 'blue' },
  ];

  it.each(equalities.map((f) => [String(Object.entries(f)), f]))(
    'equality %s matches what a fresh query matches',
    (_, filter) => {
      const fresh = new Query(filter as Doc, { context: BSON_CONTEXT });
      const shared = bsonQuery(filter as Doc);
      expect(equalityDocs.map((d) => shared.test(d))).toEqual(equalityDocs.map((d) => fresh.test(d)));
    },
  );

  it('evaluates $$NOW per query, not once for all', async () => {
    const first = bsonQuery({ $expr: { $gt: ['$$NOW', '$when'] } });
    const doc = { when: new Date(Date.now() + 30) };
    expect(first.test(doc)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(bsonQuery({ $expr: { $gt: ['$$NOW', '$when'] } }).test(doc)).toBe(true);
  });
});

describe('projections with options made once', () => {
  const docs: Doc[] = [stored, { _id: 8, a: [5, 6], nested: { list: [{ q: 3 }] } }];
  const cases: [Doc, Doc][] = [
    [{ _id: 1, n: 1 }, {}],
    [{ n: 0, nested: 0 }, {}],
    [{ 'nested.deep.k': 1, s: 1 }, {}],
    [{ a: { $slice: 2 } }, {}],
    [{ 'a.$': 1 }, { a: { $gte: 2 } }],
  ];

  it.each(cases.map(([p, f]) => [JSON.stringify(p), p, f]))(
    '%s gives what mingo find gives',
    (_, projection, filter) => {
      const expected = find(
        docs,
        Object.keys(projection as Doc)[0]?.endsWith('.$') ? (filter as Doc) : {},
        projection as Doc,
      ).all();
      const got = project(docs, projection, filter as Doc);
      // project() restores mongod's field order; compare the contents.
      expect(got).toEqual(expected);
    },
  );
});
