import { DEFAULT_WINDOW_MINUTES } from '#lib/domain/orderWindow';

/** Settings read from the environment once per container. */
export interface AppConfig {
  /** Connection string, when given directly. */
  mongodbUri: string | undefined;
  /** Name of an SSM Parameter Store SecureString holding the connection string (used when mongodbUri is unset). */
  mongodbUriParameter: string | undefined;
  /** Database name (default `orders`). */
  mongodbDatabase: string;
  /** Minimum distance between two orders, in minutes. */
  orderWindowMinutes: number;
  /** Sockets per container's connection pool (MONGODB_MAX_POOL_SIZE); see README "Connection budget". */
  mongodbMaxPoolSize: number;
  /**
   * How bearer tokens are checked. `gateway` (the default): API Gateway's JWT authorizer
   * verified the token and the handler reads its claims. `local`: the handler verifies the
   * token itself against AUTH_LOCAL_JWK (serverless-offline, tests). `off`: no checks, only
   * allowed outside a deployed Lambda.
   */
  authMode: 'gateway' | 'local' | 'off';
  /** Expected `iss` and `aud` of tokens. */
  jwtIssuer: string;
  jwtAudience: string;
  /** Public JWK (JSON) of the local development issuer, for `local` mode. */
  localJwk: string | undefined;
  /**
   * The EventBridge bus the relay publishes outbox events to (EVENT_BUS_NAME, a stage setting);
   * unset: events stay in the outbox and nothing is published (tests, a bare local run).
   */
  eventBusName: string | undefined;
}

/** Pool size when MONGODB_MAX_POOL_SIZE is unset (serverless.yml sets it per stage). */
const DEFAULT_MAX_POOL_SIZE = 5;

/** The token issuer when JWT_ISSUER is not set: the local development issuer (dev/auth). */
export const DEFAULT_JWT_ISSUER = 'https://dev-issuer.order-management-api.local';

const AUTH_MODES = ['gateway', 'local', 'off'] as const;

function readAuthMode(env: NodeJS.ProcessEnv): AppConfig['authMode'] {
  const mode = env.AUTH_MODE || (env.AUTH === 'off' ? 'off' : 'gateway');
  if (!(AUTH_MODES as readonly string[]).includes(mode)) {
    throw new Error(`AUTH_MODE must be one of ${AUTH_MODES.join(', ')}, got '${mode}'`);
  }
  // serverless-offline fills the authorizer context from tokens it never verifies, so
  // trusting that context there would accept forged tokens: locally the handler verifies.
  if (mode === 'gateway' && env.IS_OFFLINE === 'true') {
    throw new Error(
      'AUTH_MODE=gateway cannot run under serverless-offline: use AUTH_MODE=local (npm start) or AUTH=off',
    );
  }
  // Turning checks off is for a developer's machine; a deployed function refuses to start so.
  if (mode === 'off' && env.AWS_LAMBDA_FUNCTION_NAME && env.IS_OFFLINE !== 'true') {
    throw new Error('AUTH_MODE=off is refused in a deployed Lambda');
  }
  return mode as AppConfig['authMode'];
}

/**
 * The bus to publish to. Under serverless-offline (a developer's machine, the e2e tests) only a
 * stand-in named by the SDK's AWS_ENDPOINT_URL_EVENTBRIDGE is published to (`npm start` runs one),
 * never AWS: serverless.yml gives every stage a bus name, dev included.
 */
function eventBusNameFrom(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.EVENT_BUS_NAME) return undefined;
  if (env.IS_OFFLINE === 'true' && !env.AWS_ENDPOINT_URL_EVENTBRIDGE) return undefined;
  return env.EVENT_BUS_NAME;
}

/**
 * Reads the configuration from an environment. Pure, so tests can pass any environment;
 * an invalid ORDER_WINDOW_MINUTES is a deployment error and fails loudly at first use.
 */
export function readConfig(env: NodeJS.ProcessEnv): AppConfig {
  const rawWindow = env.ORDER_WINDOW_MINUTES;
  const orderWindowMinutes = rawWindow === undefined || rawWindow === '' ? DEFAULT_WINDOW_MINUTES : Number(rawWindow);
  if (!Number.isInteger(orderWindowMinutes) || orderWindowMinutes < 1 || orderWindowMinutes > 525_600) {
    throw new Error(`ORDER_WINDOW_MINUTES must be a whole number of minutes from 1 to 525600, got '${rawWindow}'`);
  }
  const rawPool = env.MONGODB_MAX_POOL_SIZE;
  const mongodbMaxPoolSize = rawPool === undefined || rawPool === '' ? DEFAULT_MAX_POOL_SIZE : Number(rawPool);
  if (!Number.isInteger(mongodbMaxPoolSize) || mongodbMaxPoolSize < 1 || mongodbMaxPoolSize > 100) {
    throw new Error(`MONGODB_MAX_POOL_SIZE must be a whole number from 1 to 100, got '${rawPool}'`);
  }
  return {
    mongodbUri: env.MONGODB_URI || undefined,
    mongodbUriParameter: env.MONGODB_URI_PARAMETER || undefined,
    mongodbDatabase: env.MONGODB_DATABASE || 'orders',
    orderWindowMinutes,
    mongodbMaxPoolSize,
    authMode: readAuthMode(env),
    jwtIssuer: env.JWT_ISSUER || DEFAULT_JWT_ISSUER,
    jwtAudience: env.JWT_AUDIENCE || 'order-management-api',
    localJwk: env.AUTH_LOCAL_JWK || undefined,
    eventBusName: eventBusNameFrom(env),
  };
}

let cached: AppConfig | undefined;

/** The configuration of this container, read on first use. */
export function config(): AppConfig {
  cached ??= readConfig(process.env);
  return cached;
}

/** Forgets the cached configuration (tests change the environment between cases). */
export function resetConfig(): void {
  cached = undefined;
}
