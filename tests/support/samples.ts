// The seeded records are lib/schemas/samples.ts's: one source for the seed, the docs and the tests.
export { SAMPLE_ORDERS, SAMPLE_SERVICES } from '#lib/schemas/samples';

/** The sample day, and what GET /orders/availability answers for it with the sample orders stored. */
export const SAMPLE_DAY = { from: '2022-11-01T00:00:00Z', to: '2022-11-02T00:00:00Z' };
export const SAMPLE_DAY_AVAILABILITY = {
  from: '2022-11-01T00:00:00.000Z',
  to: '2022-11-02T00:00:00.000Z',
  windowMinutes: 180,
  intervals: [
    { start: '2022-11-01T00:00:00.000Z', end: '2022-11-01T08:11:11.111Z' },
    { start: '2022-11-01T20:11:11.111Z', end: '2022-11-01T23:59:59.999Z' },
  ],
};
