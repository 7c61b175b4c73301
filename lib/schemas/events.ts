/**
 * The events the API publishes to EventBridge (docs/events.md), one schema per type, from the
 * same TypeBox schemas as the API's answers: an event's `order` or `service` is exactly what
 * `GET /orders/{id}` or `GET /services/{id}` returned right after the change. Each schema
 * describes an EventBridge entry's `Detail`; its `DetailType` is the event's `type`.
 * `npm run openapi` writes them, with an example each, to events.json.
 */
import { type Static, type TLiteral, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { ResourceId } from './common.ts';
import { EVENT_TYPES, type EventType, resourceKindOf } from './eventTypes.ts';
import { Order, OrderId } from './order.ts';
import { Service } from './service.ts';

export { EVENT_SOURCE, EVENT_TYPES, type EventType, resourceKindOf } from './eventTypes.ts';

/** What every event's detail carries, whatever its type. */
function envelope<T extends EventType, I extends TSchema>(type: T, id: I) {
  return {
    eventId: Type.String({
      format: 'uuid',
      description:
        'Stable id of this event: the same on every delivery of it (delivery is at least once). ' +
        'Deduplicate on it. EventBridge entries have no id field of their own, so it travels in the detail.',
    }),
    type: Type.Literal(type) as TLiteral<T>,
    resourceId: Type.Unsafe<Static<I>>({ ...id, description: `The ${resourceKindOf(type)}'s id` }),
    version: Type.Integer({
      minimum: 1,
      description:
        "The resource's version after this change (its ETag, without quotes): 1 on create, one more on each " +
        'later change, the delete included. A consumer that has seen a higher version of the resource drops this one.',
    }),
    resourceCreatedAt: Type.String({
      format: 'date-time',
      description:
        'When this life of the resource began (its createdAt). A deleted id can be created again, starting over ' +
        'at version 1: (resourceCreatedAt, version) orders every event of an id, across a delete and a re-create.',
    }),
    time: Type.String({
      format: 'date-time',
      description: 'When the change was made: the updatedAt it wrote, or the time of the delete',
    }),
    actor: Type.Union([Type.String(), Type.Null()], {
      description: 'The `sub` claim of the token that made the change; null when the API runs without tokens (local)',
    }),
  };
}

function eventSchema<T extends EventType, I extends TSchema, P extends Record<string, TSchema>>(
  type: T,
  id: I,
  payload: P,
): TObject<ReturnType<typeof envelope<T, I>> & P> {
  return Type.Object(
    { ...envelope(type, id), ...payload },
    { additionalProperties: false, title: type, description: EVENT_TYPES[type] },
  );
}

const orderNow = { order: { ...Order, description: 'The order as the API returns it after the change' } };
const serviceNow = { service: { ...Service, description: 'The service as the API returns it after the change' } };

/** The detail of each event type, by type. */
export const eventSchemas = {
  'order.created': eventSchema('order.created', OrderId, orderNow),
  'order.moved': eventSchema('order.moved', OrderId, orderNow),
  'order.updated': eventSchema('order.updated', OrderId, orderNow),
  'order.deleted': eventSchema('order.deleted', OrderId, {}),
  'service.created': eventSchema('service.created', ResourceId, serviceNow),
  'service.renamed': eventSchema('service.renamed', ResourceId, serviceNow),
  'service.deleted': eventSchema('service.deleted', ResourceId, {}),
} as const satisfies Record<EventType, TSchema>;

/** An event's detail, of any type. */
export type EventDetail = { [T in EventType]: Static<(typeof eventSchemas)[T]> }[EventType];
