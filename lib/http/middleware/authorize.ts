import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { config } from '#lib/config';
import { commitScope } from '#lib/db/commitScope';
import { type HttpProblem, PROBLEMS, problemOf } from '../problems.ts';
import type { Scope } from '../routes.ts';

interface GatewayJwtContext {
  authorizer?: { jwt?: { claims?: Record<string, unknown>; scopes?: string[] | null } };
}

function unauthorized(detail: string, error?: 'invalid_token'): HttpProblem {
  return problemOf(PROBLEMS.unauthorized, detail, {
    headers: { 'www-authenticate': error ? `Bearer error="${error}"` : 'Bearer' },
  });
}

function forbidden(scope: Scope): HttpProblem {
  return problemOf(PROBLEMS.insufficientScope, `This route needs a token with the scope '${scope}'`, {
    headers: { 'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
  });
}

/** Scopes from a token's claims: the space-separated `scope` claim or the `scp` array. */
export function scopesOf(claims: Record<string, unknown>): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter(Boolean);
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

let localKey: ReturnType<typeof import('jose').importJWK> | undefined;

/**
 * Verifies a bearer token against the local development issuer's public key. jose is loaded
 * only here: a deployed function (gateway mode) never imports it.
 */
async function verifyLocally(authorization: string | undefined): Promise<Record<string, unknown>> {
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i.exec(authorization ?? '');
  if (!authorization) throw unauthorized('A bearer token is required');
  if (!match?.[1]) throw unauthorized('The Authorization header is not a bearer token', 'invalid_token');
  const settings = config();
  if (!settings.localJwk) throw new Error('AUTH_MODE=local needs AUTH_LOCAL_JWK');
  const { importJWK, jwtVerify } = await import('jose');
  localKey ??= importJWK(JSON.parse(settings.localJwk), 'ES256');
  try {
    const { payload } = await jwtVerify(match[1], await localKey, {
      issuer: settings.jwtIssuer,
      audience: settings.jwtAudience,
      algorithms: ['ES256'],
      requiredClaims: ['exp'],
    });
    return payload;
  } catch {
    // Expired, wrong issuer or audience, bad signature: the client learns only that it is invalid.
    throw unauthorized('The bearer token is invalid or expired', 'invalid_token');
  }
}

/**
 * Requires a bearer token carrying `scope`: 401 without a valid token, 403 without the scope.
 * In AWS, API Gateway's JWT authorizer has verified the token and passes its scopes in the
 * request context; locally the token is verified here. See AppConfig.authMode.
 */
export function authorize(scope: Scope): MiddlewareObj<APIGatewayProxyEventV2> {
  const admit = (claims: Record<string, unknown>, scopes: string[]) => {
    if (!scopes.includes(scope)) throw forbidden(scope);
    // The actor the change's event names (lib/db/outbox.ts); a read has no commit scope.
    const commit = commitScope();
    if (commit && typeof claims.sub === 'string') commit.actor = claims.sub;
  };
  return {
    // Synchronous unless the token is verified here (local mode): a request in AWS does not
    // wait a turn of the event loop for a check that has nothing to wait for.
    before: (request) => {
      const settings = config();
      if (settings.authMode === 'off') return;
      if (settings.authMode === 'gateway') {
        const jwt = (request.event.requestContext as GatewayJwtContext).authorizer?.jwt;
        if (!jwt?.claims) throw unauthorized('A bearer token is required');
        // The caller is not remembered: callerOf reads it from these claims, on the event.
        admit(jwt.claims, jwt.scopes ?? scopesOf(jwt.claims));
        return;
      }
      return verifyLocally(request.event.headers?.authorization).then((claims) => {
        admit(claims, scopesOf(claims));
        callers.set(request.event, callerFrom(claims));
      });
    },
  };
}

/** The callers of requests whose tokens were verified here (local mode). */
const callers = new WeakMap<APIGatewayProxyEventV2, string>();

/** A caller as its token's claims name it: issuer and subject. */
function callerFrom(claims: Record<string, unknown>): string {
  return `${String(claims.iss ?? '')} ${String(claims.sub ?? '')}`;
}

/**
 * Who made an authorised request: the token's issuer and subject (`anonymous` with auth off).
 * Idempotency keys are scoped by it, so two callers choosing the same key never collide.
 * Behind API Gateway the verified claims travel with the event (only its authorizer puts them
 * there), so the caller is read from them when asked for, which only an Idempotency-Key does,
 * rather than remembered for every request: a WeakMap entry per request cost a warm GET over a
 * microsecond, and the garbage collector more (bench, issue #22).
 */
export function callerOf(event: APIGatewayProxyEventV2): string {
  const verified = callers.get(event);
  if (verified !== undefined) return verified;
  if (config().authMode === 'gateway') {
    const claims = (event.requestContext as GatewayJwtContext | undefined)?.authorizer?.jwt?.claims;
    if (claims) return callerFrom(claims);
  }
  return 'anonymous';
}
