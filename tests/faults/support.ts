/**
 * What the fault suite shares: the handlers on a connection of their own (a unique appName, so a
 * fail point touches no other test file on the shared server), failCommand set through an admin
 * client (another appName), the command sequence a request sends (command monitoring), and
 * requests sent with a Lambda time limit.
 */
import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { CommandStartedEvent, Document, MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { resetConfig } from '#lib/config';
import { closeConnection, connection } from '#lib/db/client';
import { startTracing, stopTracing } from '#lib/observability/tracing';
import { useApiDatabase } from '../support/api.ts';
import { lockFailCommand } from '../support/failCommandLock.ts';
import { connectTestClient, testMongoUri } from '../support/mongo.ts';

/** A connection string with `appName` added (kept whole otherwise). */
export function withAppName(uri: string, appName: string): string {
  const [base = uri, query] = uri.split('?');
  const path = /^mongodb(\+srv)?:\/\/[^/]+$/.test(base) ? `${base}/` : base;
  return `${path}?${query ? `${query}&` : ''}appName=${appName}`;
}

/** The test file's set-up: its database, the handlers' appName, an admin client. */
export interface FaultSuite {
  dbName: string;
  appName: string;
  admin: MongoClient;
  /** The handlers' own driver client (opened on first use, as in a container). */
  handlersClient(): Promise<MongoClient>;
}

/**
 * Points the handlers at a database of the file's own through a connection string naming a
 * unique appName, with command monitoring on (tracing to memory: lib/db/client.ts monitors
 * commands only when spans are recorded).
 */
export function useFaultSuite(prefix: string): FaultSuite {
  const database = useApiDatabase(prefix);
  const appName = `faults-${randomBytes(4).toString('hex')}`;
  const suite = {
    appName,
    admin: undefined as unknown as MongoClient,
    get dbName() {
      return database.dbName;
    },
    handlersClient: async () => (await connection()).client,
  };
  beforeAll(async () => {
    process.env.MONGODB_URI = withAppName(testMongoUri(), appName);
    resetConfig();
    await startTracing(new InMemorySpanExporter());
    await closeConnection();
    suite.admin = await connectTestClient();
  });
  afterAll(async () => {
    await suite.admin?.close();
    await closeConnection();
    await stopTracing();
  });
  return suite;
}

/**
 * Sets failCommand for the handlers' appName only; returns how often it had fired before
 * (configureFailPoint's `count`, mongod's timesEntered).
 */
export async function failCommand(suite: FaultSuite, mode: unknown, data: Document): Promise<number> {
  const reply = await suite.admin
    .db('admin')
    .command({ configureFailPoint: 'failCommand', mode, data: { ...data, appName: suite.appName } });
  return Number(reply.count);
}

/** Turns failCommand off; returns how often it had fired. */
export async function failPointsOff(suite: FaultSuite): Promise<number> {
  const reply = await suite.admin.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
  return Number(reply.count);
}

/**
 * Runs `body` with failCommand armed by `arm` (under the lock other files' fail points take:
 * tests/support/failCommandLock.ts), turns it off, and fails unless it fired: a fault that never
 * happened would make its case pass for nothing.
 */
export async function withFault<T>(
  suite: FaultSuite,
  arm: () => Promise<number>,
  body: () => Promise<T>,
  disarm: () => Promise<number> = () => failPointsOff(suite),
): Promise<T> {
  const release = await lockFailCommand(suite.admin);
  try {
    const before = await arm();
    // The body's own failure, if any, is the one reported; the check only follows a success.
    const result = await body().finally(disarm);
    const after = await failPointsOff(suite);
    if (after <= before) throw new Error('the fail point never fired');
    return result;
  } finally {
    await failPointsOff(suite).catch(() => 0);
    await release();
  }
}

/** One command a request sent, as a fail point can target it. */
export interface SentCommand {
  name: string;
  /** Its collection, when it names one. */
  collection: string | undefined;
  /** Sent inside a transaction (autocommit: false). */
  inTransaction: boolean;
  /** How many commands of the same name the request sent before it: failCommand's `skip`. */
  occurrence: number;
  /** A write that takes a write concern outside a transaction, or commitTransaction. */
  takesWriteConcern: boolean;
}

const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);

/** The commands `request` sends through the handlers' client, in order. */
export async function commandsOf(suite: FaultSuite, request: () => Promise<unknown>): Promise<SentCommand[]> {
  const client = await suite.handlersClient();
  const events: CommandStartedEvent[] = [];
  const listener = (event: CommandStartedEvent) => events.push(event);
  client.on('commandStarted', listener);
  try {
    await request();
  } finally {
    client.off('commandStarted', listener);
  }
  const seen = new Map<string, number>();
  return events
    .filter((event) => !['hello', 'ismaster', 'endSessions'].includes(event.commandName))
    .map((event) => {
      const occurrence = seen.get(event.commandName) ?? 0;
      seen.set(event.commandName, occurrence + 1);
      const inTransaction = event.command.autocommit === false;
      const target = event.command[event.commandName];
      return {
        name: event.commandName,
        collection: typeof target === 'string' ? target : undefined,
        inTransaction,
        occurrence,
        takesWriteConcern:
          event.commandName === 'commitTransaction' || (!inTransaction && WRITES.has(event.commandName)),
      };
    });
}

/** A short label for a command in test output: `update#1(idempotency_keys, txn)`. */
export function describeCommand(command: SentCommand): string {
  const where = [command.collection, command.inTransaction ? 'txn' : undefined].filter(Boolean).join(', ');
  return `${command.name}#${command.occurrence}${where ? `(${where})` : ''}`;
}

/**
 * Runs `body` with failCommand firing on the `command.occurrence`-th command of that name
 * (mongod's `{skip: n}`, which then fires on every later match), turned off as soon as that
 * command has entered it: one fault, at one place in the request. (mongod takes `times` over
 * `skip` when a mode names both, so `{skip, times}` cannot say "the k-th one, once".) The off
 * waits for the fail point to be entered (`waitForFailPoint`) once the command has been sent: sent
 * at once, it could overtake the command on its way to the server (another connection), under
 * load, and the fault would never happen. It may still reach the server after the driver's own
 * retry of the failed command: that retry then fails too, a harsher fault, not a milder one.
 * Fails unless the fault fired.
 */
export async function withFaultAt<T>(
  suite: FaultSuite,
  command: SentCommand,
  data: Document,
  body: () => Promise<T>,
): Promise<T> {
  const client = await suite.handlersClient();
  let started = 0;
  let entered = 0;
  let off: Promise<number> | undefined;
  const listener = (event: CommandStartedEvent) => {
    if (event.commandName !== command.name) return;
    started += 1;
    if (started === command.occurrence + 1) {
      // A command that never reaches the fail point is reported by withFault (it never fired).
      off = waitForFailPoint(suite, entered + 1)
        .catch(() => undefined)
        .then(() => failPointsOff(suite));
    }
  };
  return withFault(
    suite,
    async () => {
      client.on('commandStarted', listener);
      entered = await failCommand(suite, { skip: command.occurrence }, { ...data, failCommands: [command.name] });
      return entered;
    },
    body,
    async () => {
      client.off('commandStarted', listener);
      return (await off) ?? failPointsOff(suite);
    },
  );
}

/** How long the off waits for the targeted command to enter the fail point. */
const ENTERED_WAIT_MS = 10_000;

/** Resolves once failCommand has fired `timesEntered` times in all (mongod's waitForFailPoint). */
async function waitForFailPoint(suite: FaultSuite, timesEntered: number): Promise<void> {
  await suite.admin.db('admin').command({ waitForFailPoint: 'failCommand', timesEntered, maxTimeMS: ENTERED_WAIT_MS });
}

/**
 * Resolves once the handlers' client has had no command in flight for `quietMs`: a request
 * abandoned by the deadline's 503 has then finished, so its commands cannot be counted by the
 * next case's fail point.
 */
export async function settled(suite: FaultSuite, atLeastMs: number, quietMs = 300): Promise<void> {
  const client = await suite.handlersClient();
  const inFlight = new Set<number>();
  let lastChange = Date.now();
  const started = (event: CommandStartedEvent) => {
    inFlight.add(event.requestId);
    lastChange = Date.now();
  };
  const ended = (event: { requestId: number }) => {
    inFlight.delete(event.requestId);
    lastChange = Date.now();
  };
  client.on('commandStarted', started);
  client.on('commandSucceeded', ended);
  client.on('commandFailed', ended);
  const begun = Date.now();
  try {
    while (Date.now() - begun < atLeastMs || inFlight.size > 0 || Date.now() - lastChange < quietMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.off('commandStarted', started);
    client.off('commandSucceeded', ended);
    client.off('commandFailed', ended);
  }
}
