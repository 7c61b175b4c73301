import { randomBytes } from 'node:crypto';
import { InvalidInputError } from './errors.ts';

/**
 * Characters an id may use: safe in URLs, logs and MongoDB keys (no `$`, no `.`). Defined here,
 * not in lib/schemas, so runtime code can use it without bundling the schema builder.
 */
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

/** An id as a client may send it on create: a string id or a non-negative integer. */
export type ClientChosenId = string | number;

/** The stored string form of a client-chosen id: integers become their decimal string. */
export function normalizeId(id: ClientChosenId): string {
  return typeof id === 'number' ? String(id) : id;
}

/**
 * A new id for a resource created without one: 20 URL-safe characters, a time prefix so
 * ids created later sort later, then randomness so concurrent creates never collide.
 */
export function generateId(now: Date = new Date()): string {
  return now.getTime().toString(36).padStart(9, '0') + randomBytes(8).toString('base64url').slice(0, 11);
}

/**
 * Order ids that name a route instead: `GET /orders/availability` is a static path, which API
 * Gateway and serverless-offline prefer to `/orders/{id}`, so an order with that id could never be read.
 */
export const RESERVED_ORDER_IDS: readonly string[] = ['availability'];

/** Returns `id`, or refuses (400) an id that `RESERVED_ORDER_IDS` keeps for a route. */
export function assertUsableOrderId(id: string): string {
  if (RESERVED_ORDER_IDS.includes(id)) {
    throw new InvalidInputError('/id', 'body', `'${id}' is reserved: GET /orders/${id} is a route of its own`);
  }
  return id;
}
