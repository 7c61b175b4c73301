import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { OrderDocument } from '#lib/db/ordersRepository';
import type { OutboxDocument } from '#lib/db/outbox';
import type { ServiceDocument } from '#lib/db/servicesRepository';
import { eventDetail, eventEntry } from '#lib/events/detail';
import type { JsonObject } from '#lib/openapi/document';
import { buildEventsDocument } from '#lib/openapi/eventsDocument';
import { EVENT_SOURCE, EVENT_TYPES, type EventType, eventSchemas } from '#lib/schemas/events';

const committed = JSON.parse(readFileSync(new URL('../../events.json', import.meta.url), 'utf8')) as JsonObject;
const events = committed.events as Record<string, { detailType: string; schema: JsonObject; example: unknown }>;

function validator(schema: object) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

const at = new Date('2030-05-06T07:08:09.010Z');
const orderDocument: OrderDocument = {
  _id: 'o-1',
  datetime: new Date('2030-06-01T10:00:00.000Z'),
  totalfee: 12.5,
  services: [{ id: 's-1' }],
  createdAt: at,
  updatedAt: at,
  version: 1,
};
const serviceDocument: ServiceDocument = { _id: 's-1', name: 'Inspection', createdAt: at, updatedAt: at, version: 1 };

/** An outbox document of `type` as a repository writes it. */
function outboxOf(type: EventType): OutboxDocument {
  const kind = type.split('.')[0];
  const document = type.endsWith('.deleted') ? undefined : kind === 'order' ? orderDocument : serviceDocument;
  return {
    _id: '1c0f3d55-2b7a-4f3e-8a8e-6a1f1c2d3e4f',
    type,
    resource: `${kind}/x`,
    resourceId: kind === 'order' ? 'o-1' : 's-1',
    version: 2,
    since: at,
    at,
    actor: null,
    ...(document && { document }),
    deliveredAt: null,
  };
}

describe('events.json', () => {
  it('is what the event schemas generate (run `npm run openapi` after changing them)', () => {
    expect(committed).toEqual(buildEventsDocument());
  });

  it('describes every event type once, as its detail-type', () => {
    expect(Object.keys(events).sort()).toEqual(Object.keys(EVENT_TYPES).sort());
    for (const [type, event] of Object.entries(events)) expect(event.detailType).toBe(type);
    expect(committed.source).toBe(EVENT_SOURCE);
  });

  it('gives each type an example its schema accepts, and no other type’s schema does', () => {
    for (const [type, event] of Object.entries(events)) {
      const validate = validator(event.schema);
      expect(validate(event.example), `${type}: ${JSON.stringify(validate.errors)}`).toBe(true);
      for (const [other, otherEvent] of Object.entries(events)) {
        if (other !== type) expect(validator(otherEvent.schema)(event.example), `${type} as ${other}`).toBe(false);
      }
    }
  });

  it('describes what the relay sends: each type’s entry has its detail-type and a detail its schema accepts', () => {
    for (const type of Object.keys(EVENT_TYPES) as EventType[]) {
      const entry = eventEntry(outboxOf(type), 'bus');
      expect(entry).toMatchObject({ Source: EVENT_SOURCE, DetailType: type, EventBusName: 'bus', Time: at });
      const detail = JSON.parse(entry.Detail ?? '');
      expect(detail).toEqual(eventDetail(outboxOf(type)));
      const validate = validator(JSON.parse(JSON.stringify(eventSchemas[type])));
      expect(validate(detail), `${type}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
