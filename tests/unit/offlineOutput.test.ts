import { describe, expect, it } from 'vitest';
import { offlineOutputFilter } from '#dev/offlineOutput';

/**
 * serverless-offline's route box as it prints it with its output piped (80 columns): each
 * route is followed by its Lambda-invoke URL, wrapped over two lines, sometimes right before
 * `/invocations` (the stray row `npm start` used to print).
 */
const ROUTE_BOX = [
  '┌──────────────────────────────────────────────────────────────────────────────┐',
  '│                                                                              │',
  '│   GET    | http://localhost:3000/orders                                      │',
  '│   POST   |                                                                   │',
  '│   http://localhost:3000/2015-03-31/functions/listOrders/invocations          │',
  '│   GET    | http://localhost:3000/orders/availability                         │',
  '│   POST   | http://localhost:3000/2015-03-31/functions/getOrderAvailability   │',
  '│   /invocations                                                               │',
  '│   GET    | http://localhost:3000/orders/{id}                                 │',
  '│   POST   | http://localhost:3000/2015-03-31/functions/getOrder/invocations   │',
  '│   DELETE | http://localhost:3000/orders/{id}                                 │',
  '│   POST   |                                                                   │',
  '│   http://localhost:3000/2015-03-31/functions/deleteOrder/invocations         │',
  '│                                                                              │',
  '└──────────────────────────────────────────────────────────────────────────────┘',
];

function filtered(lines: readonly string[]): string[] {
  const filter = offlineOutputFilter();
  return [...lines.flatMap((line) => filter.push(line)), ...filter.flush()];
}

describe("npm start's filter of serverless-offline's output", () => {
  it('keeps every route of the box and no line of an invoke URL, however the box wrapped it', () => {
    const kept = filtered(ROUTE_BOX);
    // In this box every line of an invoke entry says POST or invocations; every other line stays, in order.
    expect(kept).toEqual(ROUTE_BOX.filter((line) => !/POST|invocations/.test(line)));
    expect(kept.filter((line) => / \| http/.test(line))).toHaveLength(4);
  });

  it('keeps a wrapped route and drops an unwrapped invoke URL and colour codes around it alike', () => {
    const kept = filtered([
      '│   GET    | http://localhost:3000/a/very/long/path/that/the/box/had/to/wrap/over   │',
      '│   /two/lines                                                                  │',
      '\u001b[2m│\u001b[22m   POST   | http://localhost:3000/2015-03-31/functions/f/invocations   \u001b[2m│\u001b[22m',
      'Server ready: http://localhost:3000 🚀',
    ]);
    expect(kept).toHaveLength(3);
    expect(kept[1]).toContain('/two/lines');
    expect(kept[2]).toBe('Server ready: http://localhost:3000 🚀');
  });

  it("drops serverless-offline's per-request lines and blank lines, which the API's own log line repeats", () => {
    expect(
      filtered(['GET /orders (λ: listOrders)', '(λ: listOrders) RequestId: 1 Duration: 2 ms', '', '{"level":"INFO"}']),
    ).toEqual(['{"level":"INFO"}']);
  });
});
