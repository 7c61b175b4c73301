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
  return {
    mongodbUri: env.MONGODB_URI || undefined,
    mongodbUriParameter: env.MONGODB_URI_PARAMETER || undefined,
    mongodbDatabase: env.MONGODB_DATABASE || 'orders',
    orderWindowMinutes,
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
