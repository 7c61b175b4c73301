/**
 * The guard that keeps "no order references a deleted service" true under snapshot isolation,
 * striped so that orders booking the same service do not serialise on one document.
 * Pure functions: the repositories turn the keys into lock-document writes.
 *
 * Every order write writes ONE guard document of each service it references (the stripe of its
 * window bucket); a service delete writes ALL stripes of its service. So a delete and any
 * concurrent order write referencing the service share a written document, and MongoDB lets at
 * most one of them commit (WriteConflict for the other, which retries on a fresh snapshot and
 * then sees the committed reference, or the missing service). README "Service deletion".
 */

/**
 * Guard documents per service. Changing it needs drained traffic: a delete must write every
 * stripe an order writer may use, so old and new containers must agree on the count.
 */
export const SERVICE_GUARD_STRIPES = 64;

/**
 * The stripe an order write uses: its window bucket modulo the stripe count. Orders in the same
 * or adjacent buckets conflict on their window locks anyway; orders up to
 * `SERVICE_GUARD_STRIPES` buckets apart never share a guard.
 */
export function serviceGuardStripe(datetime: Date, window: number): number {
  const bucket = Math.floor(datetime.getTime() / window);
  return ((bucket % SERVICE_GUARD_STRIPES) + SERVICE_GUARD_STRIPES) % SERVICE_GUARD_STRIPES;
}

/** The key of one guard document. Service ids never contain ':', so keys never collide with window locks. */
export function serviceGuardKey(serviceId: string, stripe: number): string {
  return `service:${serviceId}:${stripe}`;
}

/** Every guard key of a service: what a delete writes. */
export function allServiceGuardKeys(serviceId: string): string[] {
  return Array.from({ length: SERVICE_GUARD_STRIPES }, (_, stripe) => serviceGuardKey(serviceId, stripe));
}
