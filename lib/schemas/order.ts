import { type Static, Type } from '@sinclair/typebox';
import { RESERVED_ORDER_IDS } from '#lib/domain/ids';
import { clientChosenId, DateTimeString, PageQueryProperties, ResourceId } from './common.ts';
import { Amount } from './money.ts';
import { SAMPLE_SERVICE_ID } from './samples.ts';

/** A reference from an order to a service record; its example is a service `npm run seed` creates. */
export const ServiceReference = Type.Object(
  { id: { ...ResourceId, examples: [SAMPLE_SERVICE_ID] } },
  { additionalProperties: false },
);

/**
 * An order's id: a resource id other than the ones `RESERVED_ORDER_IDS` keeps for routes
 * (`GET /orders/availability` would hide an order named `availability`).
 */
export const OrderId = Type.String({
  ...ResourceId,
  not: { enum: [...RESERVED_ORDER_IDS] },
  description: `${ResourceId.description}, except ${RESERVED_ORDER_IDS.map((id) => `\`${id}\``).join(', ')}`,
});

/** An order id a client may choose on create: a string id, or a non-negative integer that becomes its decimal string. */
export const ClientChosenOrderId = clientChosenId(OrderId);

/** Path parameters of the `/orders/{id}` routes. */
export const OrderIdPathParameters = Type.Object({ id: OrderId }, { additionalProperties: false });
export type OrderIdPathParameters = Static<typeof OrderIdPathParameters>;

/** Most services one order may list. */
export const MAX_SERVICES_PER_ORDER = 50;

/** Body of POST /orders and PUT /orders/{id}. */
export const OrderInput = Type.Object(
  {
    id: Type.Optional(ClientChosenOrderId),
    datetime: DateTimeString,
    totalfee: Amount,
    services: Type.Array(ServiceReference, {
      minItems: 1,
      maxItems: MAX_SERVICES_PER_ORDER,
      // Each item is exactly `{ id }` (additionalProperties: false), so items unique as JSON
      // values are ids unique: the rule lib/domain/orderServices.ts states. uniqueItems sits behind
      // `if: { maxItems }` because ajv compares every pair, even of an array far over the limit
      // (6,000 items in 64 KiB took 0.8 s); the `if` keeps it to at most 50 × 49 / 2 comparisons
      // and means the same, since the array may not be longer anyway.
      if: { maxItems: MAX_SERVICES_PER_ORDER },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's `then` keyword; this object is never awaited.
      then: { uniqueItems: true },
      description: `1 to ${MAX_SERVICES_PER_ORDER} references to existing services, each id at most once`,
    }),
  },
  { additionalProperties: false },
);
export type OrderInput = Static<typeof OrderInput>;

/** An order as the API answers it. */
export const Order = Type.Object({
  id: OrderId,
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
      ...DateTimeString,
      description: `Start of the range, included. ${DateTimeString.description}`,
      examples: ['2022-11-01T00:00:00Z'],
    }),
    to: Type.String({
      ...DateTimeString,
      description:
        'End of the range, excluded: later than `from`, by at most 31 days (and 500 order windows). ' +
        DateTimeString.description,
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
