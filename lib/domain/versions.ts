/**
 * Optimistic concurrency: every stored resource has a version that each write increments,
 * answered as a strong ETag. `If-Match` names the versions a write may replace.
 */

/** A resource with the version its ETag names. */
export interface Versioned<T> {
  resource: T;
  version: number;
}

/** What an If-Match header allows: any existing version (`*`) or one of these versions. */
export type VersionPrecondition = '*' | readonly number[];

/** True when a resource at `version` may be written under `precondition` (none: always). */
export function satisfiesPrecondition(precondition: VersionPrecondition | undefined, version: number): boolean {
  return precondition === undefined || precondition === '*' || precondition.includes(version);
}

/** Raised when If-Match names a version the resource no longer has (412). */
export class PreconditionFailedError extends Error {
  constructor(
    readonly resource: 'order' | 'service',
    readonly id: string,
    readonly currentVersion: number,
  ) {
    super(`The ${resource} '${id}' has changed (it is now at version ${currentVersion}); fetch it again and retry`);
    this.name = 'PreconditionFailedError';
  }
}
