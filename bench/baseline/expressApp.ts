/**
 * The baseline most teams would write instead of one function per operation: the same API as
 * ONE Express 5 app wrapped for Lambda by serverless-http (a "lambdalith").
 *
 * Written the way such apps usually are, not as a strawman:
 * - the `mongodb` driver with one lazily opened client per container, reused while warm;
 * - request validation with ajv + ajv-formats, schemas compiled when the module loads;
 * - scopes from API Gateway's JWT authorizer (requestContext.authorizer.jwt), as in gateway mode;
 * - the same rules: 3-hour window between orders, referenced services must exist, a service
 *   referenced by an order cannot be deleted, keyset pagination, If-Match on PUT/DELETE.
 * Like most such apps it checks the window with a read then an insert, without a transaction
 * (so two concurrent creates can both pass: the function-per-operation API closes that race
 * with a transaction and lock documents, which costs round trips; see bench/README.md).
 */
import { randomBytes } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type Collection, type Db, type Filter, MongoClient, MongoServerError } from 'mongodb';
import serverless from 'serverless-http';

// ---------------------------------------------------------------- validation (compiled at load)
const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true });
addFormats(ajv);

const ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' };
const CLIENT_ID = { anyOf: [ID, { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }] };
const PAGE = {
  limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  cursor: { type: 'string', minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' },
};
const validateIdParams = ajv.compile<{ id: string }>({
  type: 'object',
  properties: { id: ID },
  required: ['id'],
});
const validateServiceInput = ajv.compile<{ id?: string | number; name: string }>({
  type: 'object',
  properties: { id: CLIENT_ID, name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } },
  required: ['name'],
  additionalProperties: false,
});
const validateOrderInput = ajv.compile<{
  id?: string | number;
  datetime: string;
  totalfee: number;
  services: { id: string }[];
}>({
  type: 'object',
  properties: {
    id: CLIENT_ID,
    datetime: { type: 'string', format: 'date-time' },
    totalfee: { type: 'number', minimum: 0, maximum: 1e13 },
    services: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      uniqueItems: true,
      items: { type: 'object', properties: { id: ID }, required: ['id'], additionalProperties: false },
    },
  },
  required: ['datetime', 'totalfee', 'services'],
  additionalProperties: false,
});
const validateServiceList = ajv.compile<{ limit: number; cursor?: string }>({
  type: 'object',
  properties: PAGE,
  additionalProperties: false,
});
const validateOrderList = ajv.compile<{ limit: number; cursor?: string; from?: string; to?: string }>({
  type: 'object',
  properties: {
    ...PAGE,
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
  },
  additionalProperties: false,
});

// ---------------------------------------------------------------- data access
interface ServiceDoc {
  _id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}
interface OrderDoc {
  _id: string;
  datetime: Date;
  totalfee: number;
  services: { id: string }[];
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

const WINDOW_MS = Number(process.env.ORDER_WINDOW_MINUTES || 180) * 60_000;
let connecting: Promise<Db> | undefined;

async function db(): Promise<Db> {
  connecting ??= (async () => {
    const client = await new MongoClient(process.env.MONGODB_URI ?? '', {
      maxPoolSize: 5,
      serverSelectionTimeoutMS: 3_000,
    }).connect();
    const database = client.db(process.env.MONGODB_DATABASE || 'orders');
    await database.collection('orders').createIndex({ datetime: 1, _id: 1 }, { name: 'datetime_id' });
    return database;
  })().catch((error: unknown) => {
    connecting = undefined;
    throw error;
  });
  return connecting;
}
const orders = async (): Promise<Collection<OrderDoc>> => (await db()).collection<OrderDoc>('orders');
const services = async (): Promise<Collection<ServiceDoc>> => (await db()).collection<ServiceDoc>('services');

// ---------------------------------------------------------------- helpers
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function check<T>(validate: ((data: unknown) => data is T) & { errors?: unknown }, data: unknown): T {
  if (!validate(data)) throw new HttpError(400, 'Invalid request', validate.errors);
  return data;
}

function requireScope(scope: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const jwt = (req as Request & { lambdaEvent?: GatewayEvent }).lambdaEvent?.requestContext?.authorizer?.jwt;
    if (!jwt) return next(new HttpError(401, 'A bearer token is required'));
    const scopes = jwt.scopes ?? String(jwt.claims?.scope ?? '').split(' ');
    if (!scopes.includes(scope)) return next(new HttpError(403, `This route needs the scope '${scope}'`));
    next();
  };
}

interface GatewayEvent {
  requestContext?: { authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } } };
}

const newId = () => Date.now().toString(36).padStart(9, '0') + randomBytes(8).toString('base64url').slice(0, 11);
const encodeCursor = (value: unknown[]) => Buffer.from(JSON.stringify(value)).toString('base64url');
function decodeCursor(token: string): unknown[] {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value)) return value;
  } catch {}
  throw new HttpError(400, 'cursor is not one this list returned');
}
function ifMatchVersions(req: Request): number[] | undefined {
  const header = req.get('if-match');
  if (!header || header.trim() === '*') return undefined;
  return header.split(',').map((tag) => Number(tag.trim().replace(/^"|"$/g, '')));
}
const serviceJson = (s: ServiceDoc) => ({
  id: s._id,
  name: s.name,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.updatedAt.toISOString(),
});
const orderJson = (o: OrderDoc) => ({
  id: o._id,
  datetime: o.datetime.toISOString(),
  totalfee: o.totalfee,
  services: o.services.map((s) => ({ id: s.id })),
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
});

async function assertServicesExist(ids: string[]): Promise<void> {
  const found = await (await services()).countDocuments({ _id: { $in: ids } });
  if (found !== ids.length) throw new HttpError(422, 'Some referenced services do not exist');
}

async function assertOutsideWindow(id: string, datetime: Date): Promise<void> {
  const neighbour = await (await orders()).findOne(
    {
      datetime: { $gt: new Date(datetime.getTime() - WINDOW_MS), $lt: new Date(datetime.getTime() + WINDOW_MS) },
      _id: { $ne: id },
    },
    { projection: { _id: 1 } },
  );
  if (neighbour) throw new HttpError(409, `Another order (${neighbour._id}) is less than 3 hours away`);
}

// ---------------------------------------------------------------- the app
export const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '64kb' }));

app.post('/services', requireScope('services:write'), async (req, res) => {
  const input = check(validateServiceInput, req.body);
  const now = new Date();
  const doc: ServiceDoc = {
    _id: String(input.id ?? newId()),
    name: input.name,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await (await services()).insertOne(doc);
  res.status(201).location(`/services/${doc._id}`).json(serviceJson(doc));
});

app.get('/services', requireScope('services:read'), async (req, res) => {
  const query = check(validateServiceList, { ...req.query });
  const filter: Filter<ServiceDoc> = query.cursor ? { _id: { $gt: String(decodeCursor(query.cursor)[0]) } } : {};
  const docs = await (await services())
    .find(filter)
    .sort({ _id: 1 })
    .limit(query.limit + 1)
    .toArray();
  const items = docs.slice(0, query.limit);
  const last = items.at(-1);
  res.json({
    items: items.map(serviceJson),
    next: docs.length > query.limit && last ? encodeCursor([last._id]) : null,
  });
});

app.get('/services/:id', requireScope('services:read'), async (req, res) => {
  const { id } = check(validateIdParams, { ...req.params });
  const doc = await (await services()).findOne({ _id: id });
  if (!doc) throw new HttpError(404, `service ${id} not found`);
  res.set('etag', `"${doc.version}"`).json(serviceJson(doc));
});

app.put('/services/:id', requireScope('services:write'), async (req, res) => {
  const { id } = check(validateIdParams, { ...req.params });
  const input = check(validateServiceInput, req.body);
  const versions = ifMatchVersions(req);
  const doc = await (await services()).findOneAndUpdate(
    versions ? { _id: id, version: { $in: versions } } : { _id: id },
    { $set: { name: input.name, updatedAt: new Date() }, $inc: { version: 1 } },
    { returnDocument: 'after' },
  );
  if (!doc) throw new HttpError(versions ? 412 : 404, `service ${id} not found at that version`);
  res.set('etag', `"${doc.version}"`).json(serviceJson(doc));
});

app.delete('/services/:id', requireScope('services:write'), async (req, res) => {
  const { id } = check(validateIdParams, { ...req.params });
  const referencing = await (await orders()).findOne({ 'services.id': id }, { projection: { _id: 1 } });
  if (referencing) throw new HttpError(409, `service ${id} is used by order ${referencing._id}`);
  const { deletedCount } = await (await services()).deleteOne({ _id: id });
  if (deletedCount === 0) throw new HttpError(404, `service ${id} not found`);
  res.status(204).end();
});

app.post('/orders', requireScope('orders:write'), async (req, res) => {
  const input = check(validateOrderInput, req.body);
  const id = String(input.id ?? newId());
  const datetime = new Date(input.datetime);
  await assertServicesExist(input.services.map((s) => s.id));
  await assertOutsideWindow(id, datetime);
  const now = new Date();
  const doc: OrderDoc = {
    _id: id,
    datetime,
    totalfee: input.totalfee,
    services: input.services.map((s) => ({ id: s.id })),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
  await (await orders()).insertOne(doc);
  res.status(201).location(`/orders/${id}`).set('etag', '"1"').json(orderJson(doc));
});

app.get('/orders', requireScope('orders:read'), async (req, res) => {
  const query = check(validateOrderList, { ...req.query });
  const filter: Filter<OrderDoc> = {};
  const range: { $gte?: Date; $lt?: Date } = {};
  if (query.from) range.$gte = new Date(query.from);
  if (query.to) range.$lt = new Date(query.to);
  if (query.cursor) {
    const [lastId, lastAt] = decodeCursor(query.cursor) as [string, number];
    if (!range.$gte || range.$gte.getTime() < lastAt) range.$gte = new Date(lastAt);
    filter.$nor = [{ datetime: new Date(lastAt), _id: { $lte: lastId } }];
  }
  if (range.$gte || range.$lt) filter.datetime = range;
  const docs = await (await orders())
    .find(filter)
    .sort({ datetime: 1, _id: 1 })
    .limit(query.limit + 1)
    .toArray();
  const items = docs.slice(0, query.limit);
  const last = items.at(-1);
  res.json({
    items: items.map(orderJson),
    next: docs.length > query.limit && last ? encodeCursor([last._id, last.datetime.getTime()]) : null,
  });
});

app.get('/orders/:id', requireScope('orders:read'), async (req, res) => {
  const { id } = check(validateIdParams, { ...req.params });
  const doc = await (await orders()).findOne({ _id: id });
  if (!doc) throw new HttpError(404, `order ${id} not found`);
  res.set('etag', `"${doc.version}"`).json(orderJson(doc));
});

app.put('/orders/:id', requireScope('orders:write'), async (req, res) => {
  const { id } = check(validateIdParams, { ...req.params });
  const input = check(validateOrderInput, req.body);
  const versions = ifMatchVersions(req);
  const existing = await (await orders()).findOne({ _id: id });
  if (!existing) throw new HttpError(404, `order ${id} not found`);
  if (versions && !versions.includes(existing.version)) throw new HttpError(412, 'version mismatch');
  const datetime = new Date(input.datetime);
  await assertServicesExist(input.services.map((s) => s.id));
  await assertOutsideWindow(id, datetime);
  const doc: OrderDoc = {
    ...existing,
    datetime,
    totalfee: input.totalfee,
    services: input.services.map((s) => ({ id: s.id })),
    updatedAt: new Date(),
    version: existing.version + 1,
  };
  await (await orders()).replaceOne({ _id: id, version: existing.version }, doc);
  res.set('etag', `"${doc.version}"`).json(orderJson(doc));
});

app.delete('/orders/:id', requireScope('orders:write'), async (req, res) => {
  const { id } = check(validateIdParams, { ...req.params });
  const versions = ifMatchVersions(req);
  const { deletedCount } = await (await orders()).deleteOne(
    versions ? { _id: id, version: { $in: versions } } : { _id: id },
  );
  if (deletedCount === 0) throw new HttpError(versions ? 412 : 404, `order ${id} not found at that version`);
  res.status(204).end();
});

app.use((req, _res, next) => next(new HttpError(404, `No route for ${req.method} ${req.path}`)));

app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  if (error instanceof HttpError) {
    res.status(error.status).json({ error: error.message, details: error.details });
  } else if (error instanceof MongoServerError && error.code === 11000) {
    res.status(409).json({ error: 'Id already exists' });
  } else if ((error as { type?: string }).type === 'entity.parse.failed') {
    res.status(400).json({ error: 'Malformed JSON' });
  } else {
    console.error(error);
    res.status(500).json({ error: 'Internal Server Error' });
  }
});

/** The Lambda entry point: serverless-http turns API Gateway v2 events into Express requests. */
export const handler = serverless(app, {
  request(req: object, event: unknown) {
    (req as { lambdaEvent?: unknown }).lambdaEvent = event;
  },
});
