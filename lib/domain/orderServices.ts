import { InvalidInputError } from './errors.ts';

/**
 * Refuses an order that lists one service twice, pointing at the repeat (400).
 * Runs after schema validation, so there are at most 50 references to compare.
 */
export function assertDistinctServices(services: readonly { id: string }[]): void {
  const firstIndex = new Map<string, number>();
  services.forEach((service, index) => {
    const first = firstIndex.get(service.id);
    if (first !== undefined) {
      throw new InvalidInputError(
        `/services/${index}`,
        'body',
        `repeats service '${service.id}' (see /services/${first})`,
      );
    }
    firstIndex.set(service.id, index);
  });
}
