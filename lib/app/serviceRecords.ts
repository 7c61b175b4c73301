import * as servicesRepository from '#lib/db/servicesRepository';
import { InvalidInputError } from '#lib/domain/errors';
import { generateId, normalizeId } from '#lib/domain/ids';
import { decodePageCursor } from '#lib/domain/pageCursor';
import type { Versioned, VersionPrecondition } from '#lib/domain/versions';
import type { Service, ServiceInput, ServiceListQuery } from '#lib/schemas/service';
import { serviceRepresentation } from './representations.ts';
import { assertBodyIdMatchesPath, type Page, pageSize, toPage } from './shared.ts';

function versioned(document: servicesRepository.ServiceDocument): Versioned<Service> {
  return { resource: serviceRepresentation(document), version: document.version };
}

/** POST /services: stores a new service record. */
export async function createService(input: ServiceInput): Promise<Versioned<Service>> {
  const id = input.id === undefined ? generateId() : normalizeId(input.id);
  return versioned(await servicesRepository.insertService({ id, name: input.name }, new Date()));
}

/** GET /services/{id}. */
export async function getService(id: string): Promise<Versioned<Service>> {
  return versioned(await servicesRepository.findService(id));
}

/** PUT /services/{id}: replaces the service's fields; the id comes from the path. */
export async function replaceService(
  id: string,
  input: ServiceInput,
  precondition?: VersionPrecondition,
): Promise<Versioned<Service>> {
  assertBodyIdMatchesPath(input.id, id);
  return versioned(await servicesRepository.replaceService(id, input.name, new Date(), precondition));
}

/** DELETE /services/{id}: refused while an order references the service. */
export async function deleteService(id: string, precondition?: VersionPrecondition): Promise<void> {
  await servicesRepository.deleteService(id, precondition);
}

/** GET /services: one page in id order. */
export async function listServices(query: ServiceListQuery): Promise<Page<Service>> {
  const limit = pageSize(query.limit);
  const after = query.cursor === undefined ? undefined : decodePageCursor(query.cursor);
  if (query.cursor !== undefined && (after === undefined || after.at !== undefined)) {
    throw new InvalidInputError('/cursor', 'query', 'cursor is not one this list returned');
  }
  const documents = await servicesRepository.listServices(limit + 1, after?.id);
  return toPage(documents, limit, serviceRepresentation, (last) => ({ id: last._id }));
}
