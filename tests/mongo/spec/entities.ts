/**
 * Entities of one unified-format test (clients, databases, collections, sessions, cursors, saved
 * results) and the command-monitoring events each client records.
 */
import {
  BSON,
  type ClientSession,
  type Collection,
  type CommandFailedEvent,
  type CommandStartedEvent,
  type CommandSucceededEvent,
  type Db,
  MongoClient,
  type MongoClientOptions,
  ReadPreference,
} from 'mongodb';
import type { EntityLookup } from './match.ts';

type Doc = Record<string, unknown>;

/** One observed command-monitoring event, in the unified format's naming. */
export interface ObservedEvent {
  type: 'commandStartedEvent' | 'commandSucceededEvent' | 'commandFailedEvent';
  event: CommandStartedEvent | CommandSucceededEvent | CommandFailedEvent;
}

/** A client entity with what it observed. */
export interface ClientEntity {
  client: MongoClient;
  observe: Set<string>;
  ignore: Set<string>;
  observeSensitive: boolean;
  events: ObservedEvent[];
  /** Every commandStarted event (for the lsid assertions), observed or not. */
  started: CommandStartedEvent[];
  checkedOut: number;
}

/** Commands whose monitoring events the spec treats as sensitive (never seen unless asked for). */
const SENSITIVE = new Set([
  'authenticate',
  'saslstart',
  'saslcontinue',
  'getnonce',
  'createuser',
  'updateuser',
  'copydbgetnonce',
  'copydbsaslstart',
  'copydb',
]);

function isSensitive(name: string, body: Doc | undefined): boolean {
  const lower = name.toLowerCase();
  if (SENSITIVE.has(lower)) return true;
  // hello is sensitive only when it carries speculative authentication (the driver redacts it to {}).
  return (lower === 'hello' || lower === 'ismaster') && (!body || Object.keys(body).length === 0);
}

/** A deep copy of a command document (BSON round trip through the driver's own bson). */
function snapshotOf(command: Doc): Doc {
  try {
    return BSON.deserialize(BSON.serialize(command)) as Doc;
  } catch {
    return command;
  }
}

/** Converts the spec's `{ mode, tagSets, maxStalenessSeconds }` to the driver's ReadPreference. */
export function readPreferenceOf(v: unknown): ReadPreference | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const rp = v as { mode: string; tagSets?: Doc[]; maxStalenessSeconds?: number; hedge?: Doc };
  return new ReadPreference((rp.mode.charAt(0).toLowerCase() + rp.mode.slice(1)) as never, rp.tagSets as never, {
    ...(rp.maxStalenessSeconds !== undefined ? { maxStalenessSeconds: rp.maxStalenessSeconds } : {}),
  });
}

/** Read/write concern and read preference options of a database or collection entity. */
export function scopedOptions(opts: Doc | undefined): Doc {
  if (!opts) return {};
  const out: Doc = { ...opts };
  if (opts.readPreference) out.readPreference = readPreferenceOf(opts.readPreference);
  return out;
}

/** All entities of a test. */
export class Entities implements EntityLookup {
  readonly map = new Map<string, unknown>();
  readonly clients = new Map<string, ClientEntity>();

  constructor(private readonly uri: string) {}

  get(name: string): unknown {
    if (!this.map.has(name)) throw new Error(`no entity named ${name}`);
    return this.map.get(name);
  }

  lsidOf(name: string): unknown {
    const session = this.get(name) as ClientSession;
    return session.id;
  }

  client(name: string): ClientEntity {
    const c = this.clients.get(name);
    if (!c) throw new Error(`no client named ${name}`);
    return c;
  }

  /** Creates the entities of a `createEntities` list. */
  async create(list: Doc[]): Promise<void> {
    for (const item of list) {
      const [kind] = Object.keys(item);
      const spec = item[kind as string] as Doc;
      const id = spec.id as string;
      switch (kind) {
        case 'client':
          this.createClient(id, spec);
          break;
        case 'database': {
          const client = this.client(spec.client as string).client;
          this.map.set(id, client.db(spec.databaseName as string, scopedOptions(spec.databaseOptions as Doc)));
          break;
        }
        case 'collection': {
          const db = this.get(spec.database as string) as Db;
          this.map.set(id, db.collection(spec.collectionName as string, scopedOptions(spec.collectionOptions as Doc)));
          break;
        }
        case 'session': {
          const client = this.client(spec.client as string).client;
          const opts = { ...((spec.sessionOptions as Doc | undefined) ?? {}) };
          const dto = opts.defaultTransactionOptions as Doc | undefined;
          if (dto) opts.defaultTransactionOptions = scopedOptions(dto);
          const { snapshotTime, ...sessionOptions } = opts;
          const session = client.startSession(sessionOptions);
          // The driver has no snapshotTime option yet; the field it sends atClusterTime from is set instead.
          if (typeof snapshotTime === 'string')
            (session as unknown as { snapshotTime: unknown }).snapshotTime = this.get(snapshotTime);
          this.map.set(id, session);
          break;
        }
        default:
          throw new Error(`unsupported entity kind ${kind}`);
      }
    }
  }

  private createClient(id: string, spec: Doc): void {
    const uriOptions = { ...((spec.uriOptions as Doc | undefined) ?? {}) };
    const options: MongoClientOptions = {
      monitorCommands: true,
      serverSelectionTimeoutMS: 5000,
      ...(uriOptions as MongoClientOptions),
    };
    if (spec.serverApi) options.serverApi = spec.serverApi as never;
    const client = new MongoClient(this.uri, options);
    const entity: ClientEntity = {
      client,
      observe: new Set((spec.observeEvents as string[] | undefined) ?? []),
      ignore: new Set([...((spec.ignoreCommandMonitoringEvents as string[] | undefined) ?? []), 'configureFailPoint']),
      observeSensitive: spec.observeSensitiveCommands === true,
      events: [],
      started: [],
      checkedOut: 0,
    };
    const record = (type: ObservedEvent['type'], event: ObservedEvent['event'], body?: Doc): void => {
      if (!entity.observe.has(type) || entity.ignore.has(event.commandName)) return;
      if (!entity.observeSensitive && isSensitive(event.commandName, body)) return;
      entity.events.push({ type, event });
    };
    client.on('commandStarted', (e) => {
      // A copy as sent: the driver may later mutate objects the command shares with its options.
      const copy = Object.assign(Object.create(Object.getPrototypeOf(e)), e, { command: snapshotOf(e.command) });
      entity.started.push(copy);
      record('commandStartedEvent', copy, copy.command);
    });
    client.on('commandSucceeded', (e) => record('commandSucceededEvent', e, e.reply as Doc));
    client.on('commandFailed', (e) => record('commandFailedEvent', e));
    client.on('connectionCheckedOut', () => {
      entity.checkedOut++;
    });
    client.on('connectionCheckedIn', () => {
      entity.checkedOut--;
    });
    this.clients.set(id, entity);
    this.map.set(id, client);
  }

  /** Ends sessions and closes clients (in that order, so open transactions are aborted). */
  async close(): Promise<void> {
    for (const v of this.map.values()) {
      if (v && typeof v === 'object' && 'endSession' in v && 'inTransaction' in v) {
        await (v as ClientSession).endSession().catch(() => {});
      }
    }
    for (const c of this.clients.values()) await c.client.close().catch(() => {});
  }
}

/** Type guard used by the operation table. */
export function asCollection(v: unknown): Collection<Doc> {
  return v as Collection<Doc>;
}
