/**
 * The local development token issuer: an ES256 key pair kept under .data/ (git-ignored) and
 * a signer for tokens with the API's scopes. `npm start` gives the public key to the API
 * (AUTH_MODE=local); `npm run token` signs tokens with the private key. Never used in AWS,
 * where API Gateway's JWT authorizer checks tokens from the configured issuer.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

/** Issuer and audience the development tokens carry (the API's defaults, see lib/config.ts). */
export const DEV_ISSUER = 'https://dev-issuer.order-management-api.local';
export const DEV_AUDIENCE = 'order-management-api';

/** Where the development issuer keeps its keys (shared by `npm start` and `npm run token`). */
export const DEV_ISSUER_KEY_PATH = fileURLToPath(new URL('../../.data/dev-issuer.json', import.meta.url));

/** Every scope the API knows. */
export const ALL_SCOPES = ['orders:read', 'orders:write', 'services:read', 'services:write'] as const;

/** A development issuer's key pair as JWKs. */
export interface IssuerKeys {
  privateJwk: JWK;
  publicJwk: JWK;
}

/** A fresh ES256 key pair. */
export async function createIssuerKeys(): Promise<IssuerKeys> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

/** The key pair stored at `path`, created on first use. */
export async function loadOrCreateIssuerKeys(path: string): Promise<IssuerKeys> {
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as IssuerKeys;
  const keys = await createIssuerKeys();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

/** Options for a token; the defaults make a valid one-hour token with every scope. */
export interface TokenOptions {
  scopes?: readonly string[];
  subject?: string;
  issuer?: string;
  audience?: string;
  /** Seconds from now until expiry; negative gives an already expired token. */
  expiresInSeconds?: number;
}

/** Signs a bearer token with the issuer's private key. */
export async function signToken(keys: IssuerKeys, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope: (options.scopes ?? ALL_SCOPES).join(' ') })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer(options.issuer ?? DEV_ISSUER)
    .setAudience(options.audience ?? DEV_AUDIENCE)
    .setSubject(options.subject ?? 'developer')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(await importJWK(keys.privateJwk, 'ES256'));
}

/** The environment that makes the API verify tokens from this issuer itself. */
export function localAuthEnvironment(keys: IssuerKeys): Record<string, string> {
  return {
    AUTH_MODE: 'local',
    AUTH_LOCAL_JWK: JSON.stringify(keys.publicJwk),
    JWT_ISSUER: DEV_ISSUER,
    JWT_AUDIENCE: DEV_AUDIENCE,
  };
}
