import { type Static, Type } from '@sinclair/typebox';
import { ClientChosenId, DateTimeString, PageQueryProperties, ResourceId } from './common.ts';
import { Amount } from './money.ts';
import { SAMPLE_SERVICE_ID } from './samples.ts';

/** A reference from an order to a service record; its example is a service `npm run seed` creates. */
export const ServiceReference = Type.Object(
  { id: { ...ResourceId, examples: [SAMPLE_SERVICE_ID] } },
  { additionalProperties: false },
);

/** Body of POST /orders and PUT /orders/{id}. */
export const OrderInput = Type.Object(
  {
    id: Type.Optional(ClientChosenId),
    datetime: DateTimeString,
    totalfee: Amount,
    // Distinctness is checked in lib/domain/orderServices.ts, not with uniqueItems: ajv's
    // uniqueItems deep-compares every pair, even of invalid items, which deeply nested
    // input turns into a stack overflow.
    services: Type.Array(ServiceReference, {
      minItems: 1,
      maxItems: 50,
      description: '1 to 50 references to existing services, each id at most once',
    }),
  },
  { additionalProperties: false },
);
export type OrderInput = Static<typeof OrderInput>;

/** An order as the API answers it. */
export const Order = Type.Object({
  id: ResourceId,
  datetime: Type.String({ format: 'date-time' }),
  totalfee: Type.Number(),
  services: Type.Array(Type.Object({ id: ResourceId })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Order = Static<typeof Order>;

/** Query of GET /orders: a page, optionally within [from, to). */
export const OrderListQuery = Type.Object(
  {
    ...PageQueryProperties,
    from: Type.Optional(DateTimeString),
    to: Type.Optional(DateTimeString),
  },
  { additionalProperties: false },
);
export type OrderListQuery = Static<typeof OrderListQuery>;

/** One page of GET /orders. */
export const OrderPage = Type.Object({
  items: Type.Array(Order),
  next: Type.Union([Type.String(), Type.Null()]),
});

/** Query of GET /orders/availability: the range to look at, `[from, to)`. */
export const AvailabilityQuery = Type.Object(
  {
    from: Type.String({
      format: 'date-time',
      description: 'Start of the range, included',
      examples: ['2022-11-01T00:00:00Z'],
    }),
    to: Type.String({
      format: 'date-time',
      description: 'End of the range, excluded: later than `from`, by at most 31 days (and 500 order windows)',
      examples: ['2022-11-02T00:00:00Z'],
    }),
  },
  { additionalProperties: false },
);
export type AvailabilityQuery = Static<typeof AvailabilityQuery>;

/** Where a new order may be placed within a range, as GET /orders/availability answers it. */
export const Availability = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  windowMinutes: Type.Integer({ minimum: 1, description: 'The minimum distance between two orders, in minutes' }),
  intervals: Type.Array(
    Type.Object({
      start: Type.String({ format: 'date-time' }),
      end: Type.String({ format: 'date-time' }),
    }),
    {
      description:
        'In time order, disjoint and never touching. Both ends are included: an order may be placed at any ' +
        'datetime from `start` to `end` (millisecond precision). An interval ending at an order ends exactly one ' +
        'window before it (allowed); one cut by `to` ends one millisecond before `to`.',
    },
  ),
});
export type Availability = Static<typeof Availability>;
