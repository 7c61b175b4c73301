import { config } from '#lib/config';
import * as ordersRepository from '#lib/db/ordersRepository';
import { parseDateTime } from '#lib/domain/datetime';
import { InvalidInputError } from '#lib/domain/errors';
import { assertUsableOrderId, generateId, normalizeId } from '#lib/domain/ids';
import { assertDistinctServices } from '#lib/domain/orderServices';
import { availabilityMaxSpan, freeIntervals, windowMs } from '#lib/domain/orderWindow';
import { decodePageCursor } from '#lib/domain/pageCursor';
import type { Versioned, VersionPrecondition } from '#lib/domain/versions';
import { type CountedOutcome, METRIC } from '#lib/observability/metricNames';
import type { Availability, AvailabilityQuery, Order, OrderInput, OrderListQuery } from '#lib/schemas/order';
import { orderRepresentation } from './representations.ts';
import { assertBodyIdMatchesPath, type Page, pageSize, toPage } from './shared.ts';

function currentWindow(): number {
  return windowMs(config().orderWindowMinutes);
}

function versioned(document: ordersRepository.OrderDocument): Versioned<Order> {
  return { resource: orderRepresentation(document), version: document.version };
}

function toDraft(id: string, input: OrderInput): ordersRepository.OrderDraft {
  assertDistinctServices(input.services);
  return {
    id,
    datetime: parseDateTime(input.datetime, '/datetime', 'body'),
    totalfee: input.totalfee,
    services: input.services.map((service) => ({ id: service.id })),
  };
}

/** POST /orders: stores a new order unless it sits within the window of another. */
export async function createOrder(input: OrderInput): Promise<Versioned<Order>> {
  const id = input.id === undefined ? generateId() : assertUsableOrderId(normalizeId(input.id));
  return versioned(await ordersRepository.insertOrder(toDraft(id, input), currentWindow(), new Date()));
}

/** GET /orders/{id}. */
export async function getOrder(id: string): Promise<Versioned<Order>> {
  return versioned(await ordersRepository.findOrder(id));
}

/**
 * PUT /orders/{id}: replaces the whole order under the same rule; the id comes from the path.
 * The answer names its outcome metric: a move (the datetime changed) is counted apart from an
 * edit of fee or services, because only a move can conflict with another order.
 */
export async function replaceOrder(
  id: string,
  input: OrderInput,
  precondition?: VersionPrecondition,
): Promise<Versioned<Order> & CountedOutcome> {
  assertBodyIdMatchesPath(input.id, id);
  const { document, moved } = await ordersRepository.replaceOrder(
    toDraft(id, input),
    currentWindow(),
    new Date(),
    precondition,
  );
  return { ...versioned(document), metric: moved ? METRIC.orderMoved : METRIC.orderUpdated };
}

/** DELETE /orders/{id}. */
export async function deleteOrder(id: string, precondition?: VersionPrecondition): Promise<void> {
  await ordersRepository.deleteOrder(id, precondition);
}

/** GET /orders: one page in datetime order, optionally within [from, to). */
export async function listOrders(query: OrderListQuery): Promise<Page<Order>> {
  const limit = pageSize(query.limit);
  const after = query.cursor === undefined ? undefined : decodePageCursor(query.cursor);
  if (query.cursor !== undefined && after?.at === undefined) {
    throw new InvalidInputError('/cursor', 'query', 'cursor is not one this list returned');
  }
  const from = query.from === undefined ? undefined : parseDateTime(query.from, '/from', 'query');
  const to = query.to === undefined ? undefined : parseDateTime(query.to, '/to', 'query');
  const documents = await ordersRepository.listOrders({
    limit: limit + 1,
    ...(from && { from }),
    ...(to && { to }),
    ...(after?.at !== undefined && { after: { id: after.id, at: after.at } }),
  });
  return toPage(documents, limit, orderRepresentation, (last) => ({ id: last._id, at: last.datetime.getTime() }));
}

/**
 * GET /orders/availability: where a new order may be placed within [from, to), from one range
 * query over the orders that can reach into it (those less than a window from it).
 */
export async function orderAvailability(query: AvailabilityQuery): Promise<Availability> {
  const window = currentWindow();
  const from = parseDateTime(query.from, '/from', 'query');
  const to = parseDateTime(query.to, '/to', 'query');
  if (to <= from) throw new InvalidInputError('/to', 'query', 'must be later than from');
  const maxSpan = availabilityMaxSpan(window);
  if (to.getTime() - from.getTime() > maxSpan) {
    throw new InvalidInputError('/to', 'query', `must be at most ${maxSpan / 60_000} minutes after from`);
  }
  const orders = await ordersRepository.scheduledOrdersBetween(
    new Date(from.getTime() - window),
    new Date(to.getTime() + window),
  );
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    windowMinutes: config().orderWindowMinutes,
    intervals: freeIntervals({ from, to }, orders, window).map(({ start, end }) => ({
      start: start.toISOString(),
      end: end.toISOString(),
    })),
  };
}
