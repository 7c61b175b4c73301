import { type Db, MongoClient, type MongoClientOptions } from 'mongodb';
import { config } from '#lib/config';
import { tracingEnabled } from '#lib/observability/tracing';
import { traceCommands } from './commandSpans.ts';
import { resolveConnectionString } from './connectionString.ts';
import { ensureIndexes } from './indexes.ts';

/**
 * Sized for Lambda: one container serves one request at a time, so a few sockets suffice
 * (MONGODB_MAX_POOL_SIZE, README "Connection budget");
 * short selection and connect timeouts turn an unreachable database into a 503 within
 * seconds instead of a hang until API Gateway's 30-second limit; a stalled socket errors
 * (503) before the function's 10-second timeout. Transaction retries have their own budget
 * (see transactions.ts).
 */
const LAMBDA_CLIENT_OPTIONS: MongoClientOptions = {
  // maxPoolSize comes from the configuration (MONGODB_MAX_POOL_SIZE): the connection budget.
  minPoolSize: 0,
  maxIdleTimeMS: 60_000,
  serverSelectionTimeoutMS: 3_000,
  connectTimeoutMS: 3_000,
  socketTimeoutMS: 8_000,
  retryWrites: true,
  retryReads: true,
  appName: 'order-management-api',
};

const APP_NAME_IN_URI = /[?&]appName=/i;

interface Connection {
  client: MongoClient;
  db: Db;
  /** What the connected server supports, from the handshake (no extra message). */
  features: ServerFeatures;
}

/** The wire version of MongoDB 8.0, which added the client `bulkWrite` command. */
const MONGODB_8_WIRE_VERSION = 25;

/**
 * What the connected deployment supports. `clientBulkWrite` follows the lowest maxWireVersion
 * among the servers the driver has described (a rolling upgrade mixes versions); a repository
 * that meets CommandNotFound anyway turns it off (`clientBulkWriteRefused`).
 */
export class ServerFeatures {
  private readonly wireVersions = new Map<string, number>();
  private refused = false;

  /** True when every described server is MongoDB 8.0 or later and none has refused the command. */
  get clientBulkWrite(): boolean {
    if (this.refused || this.wireVersions.size === 0) return false;
    return Math.min(...this.wireVersions.values()) >= MONGODB_8_WIRE_VERSION;
  }

  /** Records a server's wire version from the driver's server description (0 while unknown). */
  described(address: string, maxWireVersion: number): void {
    if (maxWireVersion > 0) this.wireVersions.set(address, maxWireVersion);
    else this.wireVersions.delete(address);
  }

  /** A server answered the client bulkWrite with CommandNotFound: use the 7.0 path from now on. */
  clientBulkWriteRefused(): void {
    this.refused = true;
  }
}

let connecting: Promise<Connection> | undefined;

/**
 * The container's shared connection, created on first use (never at import time) and reused
 * by every warm invocation. A failed first connect is forgotten, so the next request retries
 * without needing a new container.
 */
export function connection(): Promise<Connection> {
  connecting ??= open().catch((error: unknown) => {
    connecting = undefined;
    throw error;
  });
  return connecting;
}

/** The application's database. */
export async function database(): Promise<Db> {
  return (await connection()).db;
}

async function open(): Promise<Connection> {
  const settings = config();
  const uri = await resolveConnectionString(settings);
  // Command monitoring costs an event object per command: only when spans are recorded.
  const traced = tracingEnabled();
  const client = new MongoClient(uri, {
    ...LAMBDA_CLIENT_OPTIONS,
    // An appName in the connection string wins (options given here would override it): it is
    // how the fault suite scopes its fail points to the handlers' own connections.
    ...(APP_NAME_IN_URI.test(uri) && { appName: undefined }),
    maxPoolSize: settings.mongodbMaxPoolSize,
    monitorCommands: traced,
  });
  if (traced) traceCommands(client);
  const features = new ServerFeatures();
  client.on('serverDescriptionChanged', (event) => {
    features.described(event.address, event.newDescription.maxWireVersion);
  });
  try {
    await client.connect();
    const db = client.db(settings.mongodbDatabase);
    await ensureIndexes(db);
    return { client, db, features };
  } catch (error) {
    await client.close().catch(() => {});
    throw error;
  }
}

/** Closes the shared connection; the next call to `connection()` opens a new one. */
export async function closeConnection(): Promise<void> {
  const current = connecting;
  connecting = undefined;
  if (current) await (await current.catch(() => undefined))?.client.close();
}
