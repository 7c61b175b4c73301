/**
 * The document of the events the API publishes (events.json, next to openapi.json): each event
 * type's detail schema, straight from the TypeBox schemas in lib/schemas/events.ts (so from the same
 * Order and Service schemas as the API's answers), with an example each. `npm run openapi` writes
 * it; tests/contract/eventsFresh.test.ts fails when the committed file is stale and checks each
 * example, and what the relay actually sends, against its schema. docs/events.md explains it.
 */
import type { TSchema } from '@sinclair/typebox';
import { EVENT_SOURCE, EVENT_TYPES, type EventType, eventSchemas, resourceKindOf } from '#lib/schemas/events';
import { SAMPLE_ORDERS, SAMPLE_SERVICES } from '#lib/schemas/samples';
import packageJson from '../../package.json' with { type: 'json' };
import type { JsonObject } from './document.ts';

const SAMPLE_TIME = '2022-10-20T08:30:00.000Z';
const SAMPLE_LATER = '2022-10-21T09:45:00.000Z';
const SAMPLE_ACTOR = 'billing-sync-client';

const sampleOrder = {
  ...SAMPLE_ORDERS[0],
  services: SAMPLE_ORDERS[0].services.map((service) => ({ ...service })),
  createdAt: SAMPLE_TIME,
  updatedAt: SAMPLE_TIME,
};
const sampleService = { ...SAMPLE_SERVICES[0], createdAt: SAMPLE_TIME, updatedAt: SAMPLE_TIME };

/** Each type's example: a plausible change of a seeded record, with a fixed event id. */
const EXAMPLES: Record<EventType, JsonObject> = {
  'order.created': { version: 1, time: SAMPLE_TIME, order: sampleOrder },
  'order.moved': {
    version: 2,
    time: SAMPLE_LATER,
    order: { ...sampleOrder, datetime: '2022-11-02T11:11:11.111Z', updatedAt: SAMPLE_LATER },
  },
  'order.updated': {
    version: 2,
    time: SAMPLE_LATER,
    order: { ...sampleOrder, totalfee: 120, updatedAt: SAMPLE_LATER },
  },
  'order.deleted': { version: 3, time: SAMPLE_LATER },
  'service.created': { version: 1, time: SAMPLE_TIME, service: sampleService },
  'service.renamed': {
    version: 2,
    time: SAMPLE_LATER,
    service: { ...sampleService, name: 'Inspection (on site)', updatedAt: SAMPLE_LATER },
  },
  'service.deleted': { version: 2, time: SAMPLE_LATER },
};

function example(type: EventType, index: number): JsonObject {
  const kind = resourceKindOf(type);
  return {
    eventId: `0b6f3c1e-5d2a-4c8e-9f10-${String(index + 1).padStart(12, '0')}`,
    type,
    resourceId: kind === 'order' ? SAMPLE_ORDERS[0].id : SAMPLE_SERVICES[0].id,
    resourceCreatedAt: SAMPLE_TIME,
    actor: SAMPLE_ACTOR,
    ...EXAMPLES[type],
  };
}

function plain(schema: TSchema): JsonObject {
  return JSON.parse(JSON.stringify(schema)) as JsonObject;
}

/** The events document: every type's EventBridge fields, detail schema and example. */
export function buildEventsDocument(): JsonObject {
  const types = Object.keys(EVENT_TYPES) as EventType[];
  return {
    title: 'Order Management API events',
    version: packageJson.version,
    description:
      'What the API puts on its EventBridge bus (the `eventBusName` stage setting), one entry per committed ' +
      'change: `source` is the one below, `detail-type` the event type, `detail` the JSON object each schema ' +
      'describes. Delivery is at least once: deduplicate on `detail.eventId`, which stays the same on every ' +
      "delivery (EventBridge's own entry id does not). Per resource, events are put in version order; " +
      "EventBridge does not keep order to targets, so drop an event whose version is lower than the resource's " +
      'last one seen (compare (resourceCreatedAt, version): a deleted id can be created again). See docs/events.md.',
    source: EVENT_SOURCE,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    events: Object.fromEntries(
      types.map((type, index) => [
        type,
        {
          detailType: type,
          description: EVENT_TYPES[type],
          schema: plain(eventSchemas[type]),
          example: example(type, index),
        },
      ]),
    ),
  };
}
