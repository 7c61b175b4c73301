/** A resource that does not exist (404). */
export class NotFoundError extends Error {
  constructor(
    readonly resource: 'order' | 'service',
    readonly id: string,
  ) {
    super(`No ${resource} with id '${id}'`);
    this.name = 'NotFoundError';
  }
}

/** A create whose id is taken (409). */
export class DuplicateIdError extends Error {
  constructor(
    readonly resource: 'order' | 'service',
    readonly id: string,
  ) {
    super(`${resource === 'order' ? 'An order' : 'A service'} with id '${id}' already exists`);
    this.name = 'DuplicateIdError';
  }
}

/** An order that references services that do not exist (422). */
export class UnknownServicesError extends Error {
  constructor(readonly missingServiceIds: string[]) {
    super(`These services do not exist: ${missingServiceIds.join(', ')}`);
    this.name = 'UnknownServicesError';
  }
}

/** A service that orders still reference (409). */
export class ServiceInUseError extends Error {
  constructor(
    readonly serviceId: string,
    readonly orderId: string,
  ) {
    super(`Service '${serviceId}' is referenced by order '${orderId}' and cannot be deleted`);
    this.name = 'ServiceInUseError';
  }
}

/** Input that passed the schema but still cannot be used, e.g. a date the runtime cannot represent (400). */
export class InvalidInputError extends Error {
  constructor(
    readonly pointer: string,
    readonly where: 'body' | 'query' | 'path',
    detail: string,
  ) {
    super(detail);
    this.name = 'InvalidInputError';
  }
}
