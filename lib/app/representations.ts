import type { OrderDocument } from '#lib/db/ordersRepository';
import type { ServiceDocument } from '#lib/db/servicesRepository';
import type { Order } from '#lib/schemas/order';
import type { Service } from '#lib/schemas/service';

/** A stored service as the API answers it. */
export function serviceRepresentation(document: ServiceDocument): Service {
  return {
    id: document._id,
    name: document.name,
    createdAt: document.createdAt.toISOString(),
    updatedAt: document.updatedAt.toISOString(),
  };
}

/** A stored order as the API answers it: dates in UTC as `toISOString()` writes them. */
export function orderRepresentation(document: OrderDocument): Order {
  return {
    id: document._id,
    datetime: document.datetime.toISOString(),
    totalfee: document.totalfee,
    services: document.services.map((service) => ({ id: service.id })),
    createdAt: document.createdAt.toISOString(),
    updatedAt: document.updatedAt.toISOString(),
  };
}
