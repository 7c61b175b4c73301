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

/**
 * Refuses a fee with more than two decimals (400). The schema's `multipleOf: 0.01` is checked
 * with a float tolerance so that 0.07 passes; that tolerance also lets 0.0100000000001 through,
 * which this exact check does not.
 */
export function assertWholeCents(totalfee: number): void {
  if (Math.round(totalfee * 100) / 100 !== totalfee) {
    throw new InvalidInputError('/totalfee', 'body', 'must have at most two decimals');
  }
}
