import {
  createIssuerKeys,
  type IssuerKeys,
  localAuthEnvironment,
  signToken,
  type TokenOptions,
} from '#dev/auth/devIssuer';

let keys: Promise<IssuerKeys> | undefined;

/** This test process's development issuer. */
export function testIssuer(): Promise<IssuerKeys> {
  keys ??= createIssuerKeys();
  return keys;
}

/** Environment that makes the API check tokens from the test issuer (AUTH_MODE=local). */
export async function testAuthEnvironment(): Promise<Record<string, string>> {
  return localAuthEnvironment(await testIssuer());
}

/** An `Authorization` header value with a token from the test issuer (all scopes by default). */
export async function bearer(options: TokenOptions = {}): Promise<string> {
  return `Bearer ${await signToken(await testIssuer(), options)}`;
}
