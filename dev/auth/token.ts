/**
 * `npm run token -- [--scopes "orders:read orders:write"] [--expires 3600]`: prints a bearer
 * token from the local development issuer (all four scopes by default). The token alone is on
 * the last line, so `TOKEN=$(npm run -s token | tail -1)` works.
 */
import { parseArgs } from 'node:util';
import { ALL_SCOPES, DEV_ISSUER_KEY_PATH, loadOrCreateIssuerKeys, signToken } from './devIssuer.ts';

const { values } = parseArgs({
  options: { scopes: { type: 'string' }, expires: { type: 'string' } },
  allowPositionals: false,
});
const scopes = values.scopes?.split(/[\s,]+/).filter(Boolean) ?? [...ALL_SCOPES];
const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope));
if (unknown.length > 0) {
  console.error(`Unknown scope(s): ${unknown.join(', ')}. Known: ${ALL_SCOPES.join(' ')}`);
  process.exit(2);
}
const expiresInSeconds = values.expires === undefined ? 3600 : Number(values.expires);
const token = await signToken(await loadOrCreateIssuerKeys(DEV_ISSUER_KEY_PATH), { scopes, expiresInSeconds });
console.log(`# scopes: ${scopes.join(' ')}; expires in ${expiresInSeconds} s`);
console.log(token);
