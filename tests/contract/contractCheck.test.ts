import { describe, expect, it } from 'vitest';
import { assertResponseMatchesContract, ContractViolation } from '../support/contract.ts';

/** A response that satisfies GET /orders/{id}; each test breaks one thing. */
const order = {
  id: '223',
  datetime: '2022-11-01T11:11:11.111Z',
  totalfee: 100,
  services: [{ id: '123' }],
  createdAt: '2022-10-01T00:00:00.000Z',
  updatedAt: '2022-10-01T00:00:00.000Z',
};
const jsonHeaders = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  etag: '"1"',
};
const problemHeaders = { ...jsonHeaders, 'content-type': 'application/problem+json' };
const getOrder = { method: 'GET', path: '/orders/{id}' };

function violation(run: () => void): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ContractViolation);
    return (error as Error).message;
  }
  throw new Error('expected a ContractViolation');
}

describe('the contract check', () => {
  it('accepts a response the document allows, by route template or by concrete path', () => {
    assertResponseMatchesContract(getOrder, { status: 200, headers: jsonHeaders, body: order });
    assertResponseMatchesContract(
      { method: 'GET', path: '/orders/223?x=1' },
      { status: 200, headers: new Headers(jsonHeaders), body: order },
    );
  });

  it('rejects an undeclared status', () => {
    expect(
      violation(() => assertResponseMatchesContract(getOrder, { status: 418, headers: problemHeaders, body: {} })),
    ).toMatch(/status 418 is not declared/);
  });

  it('rejects a body that does not match the schema', () => {
    const { totalfee: _, ...withoutFee } = order;
    expect(
      violation(() => assertResponseMatchesContract(getOrder, { status: 200, headers: jsonHeaders, body: withoutFee })),
    ).toMatch(/must have required property 'totalfee'/);
  });

  it('rejects a missing required header and a wrong header value', () => {
    const { 'cache-control': _, ...withoutCacheControl } = jsonHeaders;
    expect(
      violation(() =>
        assertResponseMatchesContract(getOrder, { status: 200, headers: withoutCacheControl, body: order }),
      ),
    ).toMatch(/required header Cache-Control is missing/);
    expect(
      violation(() =>
        assertResponseMatchesContract(getOrder, {
          status: 200,
          headers: { ...jsonHeaders, 'x-content-type-options': 'sniff' },
          body: order,
        }),
      ),
    ).toMatch(/header X-Content-Type-Options/);
  });

  it('rejects an undeclared content type, e.g. a problem sent as plain JSON', () => {
    const problem = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No order 1' };
    expect(
      violation(() => assertResponseMatchesContract(getOrder, { status: 404, headers: jsonHeaders, body: problem })),
    ).toMatch(/content type application\/json is not declared/);
  });

  it('rejects a body on a response that declares none', () => {
    expect(
      violation(() =>
        assertResponseMatchesContract(
          { method: 'DELETE', path: '/orders/{id}' },
          { status: 204, headers: jsonHeaders, body: 'x' },
        ),
      ),
    ).toMatch(/declares no body/);
  });

  it('requires Retry-After on a 503', () => {
    const problem = { type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'down' };
    expect(
      violation(() => assertResponseMatchesContract(getOrder, { status: 503, headers: problemHeaders, body: problem })),
    ).toMatch(/Retry-After is missing/);
  });

  it('holds the catch-all route to problem+json even for a path the document describes', () => {
    const problem = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route' };
    assertResponseMatchesContract(
      { method: 'GET', path: '/orders', routeKey: '$default' },
      { status: 404, headers: problemHeaders, body: problem },
    );
  });

  it('holds routes the document does not describe to problem+json', () => {
    const problem = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route' };
    assertResponseMatchesContract(
      { method: 'PATCH', path: '/orders/1' },
      { status: 404, headers: problemHeaders, body: problem },
    );
    expect(
      violation(() =>
        assertResponseMatchesContract(
          { method: 'GET', path: '/nowhere' },
          { status: 200, headers: jsonHeaders, body: {} },
        ),
      ),
    ).toMatch(/does not describe answered 200/);
    expect(
      violation(() =>
        assertResponseMatchesContract(
          { method: 'GET', path: '/nowhere' },
          { status: 404, headers: problemHeaders, body: { status: 404 } },
        ),
      ),
    ).toMatch(/ProblemDetails/);
  });
});
