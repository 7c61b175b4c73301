/**
 * The event types' names and what they say, apart from their TypeBox schemas (events.ts): the
 * write functions name events at run time, and the schemas (TypeBox, about 47 KB) are for the
 * generated events.json and the tests, so a function's bundle carries none of them.
 */

/** The `Source` of every entry the API puts on its bus. */
export const EVENT_SOURCE = 'order-management-api';

/** Every event type, with what it says happened. */
export const EVENT_TYPES = {
  'order.created': 'An order was created (POST /orders).',
  'order.moved': "An order's datetime changed (PUT /orders/{id}); its fee or services may have changed too.",
  'order.updated': "An order's fee or services changed and its datetime did not (PUT /orders/{id}).",
  'order.deleted': 'An order was deleted (DELETE /orders/{id}).',
  'service.created': 'A service record was created (POST /services).',
  'service.renamed': "A service record's name was replaced (PUT /services/{id}).",
  'service.deleted': 'A service record was deleted (DELETE /services/{id}).',
} as const;

/** One of the event types. */
export type EventType = keyof typeof EVENT_TYPES;

/** The kind of resource an event type is about: the part before the dot. */
export function resourceKindOf(type: EventType): 'order' | 'service' {
  return type.startsWith('order.') ? 'order' : 'service';
}
