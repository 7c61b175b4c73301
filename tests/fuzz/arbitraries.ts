/**
 * Generators of bad (and sometimes good) input for the fuzz properties. Bodies come out as
 * the exact text sent, so keys like `__proto__` survive as own JSON keys.
 */
import fc from 'fast-check';
import { encodePageCursor } from '#lib/domain/pageCursor';
import { MAX_BODY_BYTES } from '#lib/http/middleware/jsonBody';
import { FIXTURE_ORDER_IDS, FIXTURE_ORDERS, FIXTURE_SERVICE_IDS } from './harness.ts';

/** Sets an own enumerable property, even for `__proto__` (plain assignment would set the prototype). */
function withOwn(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** Strings with `$`, `.`, NUL, lone surrogates, right-to-left marks and other unicode. */
export const nastyString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '$',
    '$gt',
    '$where',
    '$ne',
    'a.b',
    '.',
    '..',
    '\u0000',
    'a\u0000b',
    '\uD800',
    '\uDFFF\uD800',
    '\uFFFE',
    '\u202Eevil',
    '\u200B',
    '𝕏💥',
    'é',
    'ｅ',
    '<script>alert(1)</script>',
    "'; db.dropDatabase(); '",
    '$' + '{process.env}',
    '%00',
    '%2e%2e',
    '\\u0000',
    '\r\n',
    '__proto__',
    'constructor',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

/** Numbers at the edges: huge, tiny, negative zero, beyond 2^53, awkward decimals. */
export const nastyNumber = fc.oneof(
  fc.constantFrom(
    1e308,
    -1e308,
    -0,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    -1,
    0.1 + 0.2,
    5e-324,
    1e13,
    1e13 + 0.01,
    1.005,
    100.001,
    0.015,
    1e21,
  ),
  fc.double(),
  fc.integer(),
);

/** Odd ids for paths and bodies: operators, dots, NUL, 64/65+ characters, unicode, empty. */
export const oddId = fc.constantFrom(
  '$gt',
  '$where',
  '{"$gt":""}',
  'a.b',
  '.',
  '..',
  '../orders',
  'a/b',
  '%00',
  '\u0000',
  'a\u0000b',
  '',
  ' ',
  '\t',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'null',
  'undefined',
  'NaN',
  '-1',
  '-0',
  '0',
  '1e3',
  '9007199254740993',
  'x'.repeat(64),
  'y'.repeat(65),
  'z'.repeat(1000),
  'é',
  '💥',
  '\u202E',
  'ＡＢＣ',
  'a b',
  'a%2Fb',
  '*',
  '\\',
);

/** A path id for a route of `kind`: often a real record of that kind, often odd, sometimes anything. */
export function pathId(kind: 'service' | 'order'): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...(kind === 'service' ? FIXTURE_SERVICE_IDS : FIXTURE_ORDER_IDS)) },
    { weight: 1, arbitrary: fc.constantFrom(...FIXTURE_SERVICE_IDS, ...FIXTURE_ORDER_IDS) },
    { weight: 3, arbitrary: oddId },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/) },
    { weight: 1, arbitrary: nastyString },
  );
}

const validId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(...FIXTURE_SERVICE_IDS, ...FIXTURE_ORDER_IDS, '__proto__', 'constructor'),
);

/** Any value a JSON field could hold, including operator objects and edge numbers. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 2, arbitrary: nastyNumber },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(
      { $gt: '' },
      { $ne: null },
      { $where: 'sleep(1000)' },
      { $regex: '.*' },
      [{ $gt: '' }],
      true,
      null,
      [],
      {},
    ),
  },
);

const serviceReference = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIXTURE_SERVICE_IDS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) },
);

/** Date-times: fresh slots, slots next to fixture orders (window conflicts), and strings a Date cannot hold. */
const datetime = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((date) => date.toISOString()),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...FIXTURE_ORDERS.map((order) => order.datetime)), fc.integer({ min: -200, max: 200 }))
      .map(([at, minutes]) => new Date(new Date(at).getTime() + minutes * 60_000).toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '2016-12-31T23:59:60Z',
      '2031-01-01 09:00:00Z',
      '2031-01-01t09:00:00z',
      '2031-01-01T09:00:00+23:59',
      '2031-01-01T09:00:00-00:00',
      '9999-12-31T23:59:59.999999999Z',
      '0000-01-01T00:00:00Z',
      '2031-02-30T00:00:00Z',
      '2031-01-01T09:00:00',
      '2031-01-01',
      '+275760-09-13T00:00:00Z',
      '1970-01-01T00:00:00Z',
    ),
  },
);

/** An optional body id: mostly absent, since a PUT's body id must equal its path id. */
const optionalId = fc.option(validId, { nil: undefined, freq: 3 });

/** Drops absent fields, so `JSON.stringify` and the mutations see only the fields sent. */
function present(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

const validService = fc
  .record({ id: optionalId, name: fc.string({ minLength: 1, maxLength: 200 }) })
  .map((service) => present(service));

const validOrder = fc
  .record({
    id: optionalId,
    datetime,
    totalfee: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 10_000_000 }).map((cents) => cents / 100) },
      { weight: 1, arbitrary: nastyNumber },
    ),
    services: fc.uniqueArray(serviceReference, { minLength: 1, maxLength: 4 }).map((ids) => ids.map((id) => ({ id }))),
  })
  .map((order) => present(order));

const extraKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '$set',
    '$where',
    'a.b',
    '_id',
    'createdAt',
    'updatedAt',
    'version',
    'referenceWrites',
    '',
    'ID',
    'Name',
  ),
  fc.string({ maxLength: 12 }),
);

/** One change that (usually) makes a valid body invalid. */
type Mutation =
  | { kind: 'remove'; index: number }
  | { kind: 'replace'; index: number; value: unknown }
  | { kind: 'extra'; key: string; value: unknown }
  | { kind: 'serviceItem'; value: unknown }
  | { kind: 'services'; value: unknown }
  | { kind: 'wrap'; as: 'array' | 'string' | 'null' };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), index: fc.nat(), value: anyJson }),
  fc.record({ kind: fc.constant('extra' as const), key: extraKey, value: anyJson }),
  fc.record({
    kind: fc.constant('serviceItem' as const),
    value: fc.oneof(
      anyJson,
      fc.constantFrom<unknown>({ id: { $gt: '' } }, { id: 'svc-wash', extra: 1 }, { id: 42 }, {}, 'svc-wash'),
      extraKey.map((key) => withOwn({ id: 'svc-wash' }, key, 1)),
    ),
  }),
  fc.record({
    kind: fc.constant('services' as const),
    value: fc.oneof(
      fc.constantFrom<unknown>([], [{ id: 'svc-wash' }, { id: 'svc-wash' }], { id: 'svc-wash' }),
      fc
        .array(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), { minLength: 51, maxLength: 60 })
        .map((ids) => ids.map((id) => ({ id }))),
      fc.uniqueArray(serviceReference, { minLength: 2, maxLength: 6 }).map((ids) => ids.map((id) => ({ id }))),
    ),
  }),
  fc.record({
    kind: fc.constant('wrap' as const),
    as: fc.constantFrom('array' as const, 'string' as const, 'null' as const),
  }),
);

function mutate(body: Record<string, unknown>, change: Mutation): unknown {
  const keys = Object.keys(body);
  const copy = { ...body };
  switch (change.kind) {
    case 'remove': {
      const key = keys[change.index % keys.length];
      if (key !== undefined) delete copy[key];
      return copy;
    }
    case 'replace': {
      const key = keys[change.index % keys.length];
      return key === undefined ? copy : withOwn(copy, key, change.value);
    }
    case 'extra':
      return withOwn(copy, change.key, change.value);
    case 'serviceItem': {
      const services = Array.isArray(copy.services) ? [...copy.services] : [];
      services[0] = change.value;
      return withOwn(copy, 'services', services);
    }
    case 'services':
      return withOwn(copy, 'services', change.value);
    case 'wrap':
      return change.as === 'array' ? [copy] : change.as === 'string' ? JSON.stringify(copy) : null;
  }
}

/** A JSON body for a service or order route: valid, one field mutated, or any JSON value at all. */
export function jsonBody(kind: 'service' | 'order'): fc.Arbitrary<string> {
  const valid = kind === 'service' ? validService : validOrder;
  return fc.oneof(
    { weight: 3, arbitrary: valid.map((body) => JSON.stringify(body)) },
    { weight: 4, arbitrary: fc.tuple(valid, mutation).map(([body, change]) => JSON.stringify(mutate(body, change))) },
    { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(validService, validOrder)
        .map(([service, order]) => JSON.stringify(kind === 'service' ? order : service)),
    },
  );
}

/** Nesting hundreds to tens of thousands of levels deep, at the root or inside a field. */
export const deepBody = fc
  .record({
    // Up to what fits twice in 64 KiB: the services array compares its items pairwise.
    depth: fc.oneof(
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 1_000 }) },
      { weight: 2, arbitrary: fc.integer({ min: 1_000, max: 16_000 }) },
    ),
    shape: fc.constantFrom('array' as const, 'object' as const),
    at: fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom('root' as const, 'name' as const, 'datetime' as const, 'extra' as const),
      },
      { weight: 2, arbitrary: fc.constant('serviceItem' as const) },
      { weight: 6, arbitrary: fc.constant('twoServiceItems' as const) },
    ),
  })
  .map(({ depth: wanted, shape, at }) => {
    // Never deeper than fits under the body limit (too big is sizedBody's business: a 413).
    const bytesPerLevel = (shape === 'array' ? 2 : 6) * (at === 'twoServiceItems' ? 2 : 1);
    const depth = Math.min(wanted, Math.floor((MAX_BODY_BYTES - 200) / bytesPerLevel));
    const nested =
      shape === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const order = (services: string) => `{"datetime":"2040-01-01T00:00:00Z","totalfee":1,"services":${services}}`;
    const bodies: Record<typeof at, string> = {
      root: nested,
      name: `{"name":${nested}}`,
      datetime: `{"datetime":${nested},"totalfee":1,"services":[{"id":"svc-wash"}]}`,
      extra: `{"name":"x","datetime":"2040-01-01T00:00:00Z","totalfee":1,"services":[{"id":"svc-wash"}],"deep":${nested}}`,
      serviceItem: order(`[${nested}]`),
      twoServiceItems: order(`[${nested},${nested}]`),
    };
    return bodies[at];
  });

/** Bodies around the 64 KiB limit, with one-, two- and four-byte characters. */
const sizedBody = fc
  .record({
    delta: fc.oneof(fc.constantFrom(-1, 0, 1, 2, 4, -2000, 10_000, 200_000), fc.integer({ min: -64, max: 64 })),
    unit: fc.constantFrom('a', 'é', '💥'),
    field: fc.constantFrom('name', 'padding'),
  })
  .map(({ delta, unit, field }) => {
    const prefix = `{"${field}":"`;
    const suffix = '"}';
    const target = MAX_BODY_BYTES + delta - Buffer.byteLength(prefix + suffix);
    const unitBytes = Buffer.byteLength(unit);
    const padding = unit.repeat(Math.floor(target / unitBytes)) + 'a'.repeat(target % unitBytes);
    return prefix + padding + suffix;
  });

/** Text that is not JSON, or is JSON in a way parsers disagree on. */
const notJson = fc.oneof(
  fc.constantFrom(
    ' ',
    '{',
    '{"name":',
    'undefined',
    'NaN',
    '{name: "x"}',
    "{'name':'x'}",
    '[1,]',
    '{"name":"x",}',
    '\u0000',
    '\uFEFF{"name":"x"}',
    '{"name":"x"}garbage',
    '{"name":"x"}{"name":"y"}',
    '<xml name="x"/>',
    'name=x&id=1',
    '1e999',
    '-',
    '"\\ud800"',
    '{"name":"\\u0000"}',
    '{"name":"x","name":{"$gt":""}}',
    '{"__proto__":{"name":"x"},"name":"y"}',
    '{"constructor":{"prototype":{"polluted":true}},"name":"x"}',
  ),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

/** Content types: right, almost right, wrong, missing ('' removes the header). */
export const contentType = fc.constantFrom(
  '',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/problem+json',
  'application/jsonp',
  'text/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  ' application/json',
  'application/json;charset=utf-16',
  'application/*',
  '*/*',
  'application/json\u0000',
  'ａpplication/json',
);

/** Headers besides the content type; never `authorization`, which the helper sets. */
export const extraHeaders = fc.dictionary(
  fc.constantFrom(
    'idempotency-key',
    'if-match',
    'x-http-method-override',
    'content-encoding',
    'content-length',
    'x-forwarded-for',
  ),
  nastyString,
  { maxKeys: 2 },
);

/** JSON that is not an object, and blank bodies: serverless-offline once turned these into 500s. */
const nonObjectJson = fc.constantFrom('null', 'null ', 'false', '""', '0', '[]', '"x"', '', ' ');

/** Any body a client might send: JSON, near-valid, oversized, or not JSON at all (deep nesting has its own property). */
export function awkwardBody(kind: 'service' | 'order'): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: jsonBody(kind) },
    { weight: 1, arbitrary: nonObjectJson },
    { weight: 2, arbitrary: sizedBody },
    { weight: 2, arbitrary: notJson },
  );
}

const queryName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('limit', 'cursor', 'from', 'to') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'offset',
      'sort',
      '__proto__',
      'constructor',
      '$where',
      'limit[]',
      'filter[id]',
      '',
      'LIMIT',
      'a.b',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);

const cursorLike = fc.oneof(
  fc
    .tuple(
      fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      fc.option(fc.integer({ min: -8.64e15, max: 8.64e15 }), { nil: undefined }),
    )
    .map(([id, at]) => encodePageCursor(at === undefined ? { id } : { id, at })),
  fc.jsonValue({ maxDepth: 2 }).map((value) => Buffer.from(JSON.stringify(value)).toString('base64url')),
  fc.constantFrom(
    Buffer.from('["a",8640000000000001]').toString('base64url'),
    Buffer.from('["a",1.5]').toString('base64url'),
    Buffer.from('["$gt",0]').toString('base64url'),
    Buffer.from('[{"$gt":""}]').toString('base64url'),
    Buffer.from('["a",0,0]').toString('base64url'),
    'A'.repeat(512),
    'A'.repeat(513),
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
);

const queryValue = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '1',
    '20',
    '100',
    '101',
    '1e3',
    '1e2',
    '1.5',
    '1.0',
    '-0',
    '0x10',
    ' 5',
    '5 ',
    'NaN',
    'Infinity',
    '',
    'null',
    'true',
    '[]',
    '{"$gt":0}',
    '9'.repeat(400),
  ),
  fc.integer().map(String),
  cursorLike,
  datetime,
  nastyString,
);

/** Page sizes a coercing validator may turn into numbers it never range-checks. */
const limitValue = fc.constantFrom(
  '-1',
  '0',
  '101',
  '1e3',
  '1.5',
  '0x10',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '-1e400',
  '9007199254740993',
  '2,3',
);

/** Query strings: the known parameters with odd values, unknown ones, repeats (joined with commas). */
export const queryPairs = fc
  .tuple(
    fc.option(
      limitValue.map((value): [string, string] => ['limit', value]),
      { nil: undefined, freq: 2 },
    ),
    fc.array(fc.tuple(queryName, queryValue), { maxLength: 4 }),
  )
  .map(([limit, pairs]) => (limit ? [limit, ...pairs] : pairs));

/** Methods and paths no route matches, for the catch-all. */
export const unmatchedRequest = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'PROPFIND'),
  rawPath: fc
    .array(
      fc.oneof(
        fc.constantFrom('orders', 'services', '..', '%00', '$gt', 'a.b', '', '{id}', '%2F', '💥', 'x'.repeat(300)),
        fc.string({ maxLength: 12 }),
      ),
      { maxLength: 5 },
    )
    .map((segments) => `/${segments.join('/')}`),
});
