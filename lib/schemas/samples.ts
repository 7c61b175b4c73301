/**
 * The assignment's sample records: `npm run seed` loads them (scripts/seed.ts), and the OpenAPI
 * document's examples refer to them, so "Try it out" on /docs works right after a seed.
 *
 * The assignment gives all three orders one datetime, which the 3-hour rule refuses; here they
 * are spaced exactly 3 hours apart so the rule accepts all three.
 */

/** Services `npm run seed` creates. */
export const SAMPLE_SERVICES = [
  { id: '123', name: 'Inspection' },
  { id: '789', name: 'Testing' },
  { id: '456', name: 'Analysis' },
] as const;

/** Orders `npm run seed` creates, each booking one sample service. */
export const SAMPLE_ORDERS = [
  { id: '223', datetime: '2022-11-01T11:11:11.111Z', totalfee: 100, services: [{ id: '123' }] },
  { id: '224', datetime: '2022-11-01T14:11:11.111Z', totalfee: 100, services: [{ id: '789' }] },
  { id: '225', datetime: '2022-11-01T17:11:11.111Z', totalfee: 100, services: [{ id: '456' }] },
] as const;

/** The id the document's examples use for each kind of resource: a record the seed creates. */
export const SAMPLE_SERVICE_ID = SAMPLE_SERVICES[0].id;
export const SAMPLE_ORDER_ID = SAMPLE_ORDERS[0].id;
