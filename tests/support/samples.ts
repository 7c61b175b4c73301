/** The assignment's sample services, as the seed script and several tests create them. */
export const SAMPLE_SERVICES = [
  { id: '123', name: 'Inspection' },
  { id: '789', name: 'Testing' },
  { id: '456', name: 'Analysis' },
];

/** The sample orders as `npm run seed` spaces them: exactly 3 hours apart on 2022-11-01. */
export const SAMPLE_ORDERS = [
  { id: '223', datetime: '2022-11-01T11:11:11.111Z', totalfee: 100, services: [{ id: '123' }] },
  { id: '224', datetime: '2022-11-01T14:11:11.111Z', totalfee: 100, services: [{ id: '789' }] },
  { id: '225', datetime: '2022-11-01T17:11:11.111Z', totalfee: 100, services: [{ id: '456' }] },
];

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
