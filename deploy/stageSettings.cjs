/**
 * The stage settings read from the environment (serverless.yml's `params.default`, as
 * `${file(./deploy/stageSettings.cjs):jwtIssuer}` and so on; `params.dev` holds the developer
 * defaults and wins for the dev stage). README "Operating it" lists them.
 *
 * - JWT_ISSUER and JWT_AUDIENCE must be given for every stage but dev. A file function rather
 *   than plain `${env:JWT_ISSUER}`: osls resolves `params.default` for every stage, dev included,
 *   and an unset `${env:…}` fails with "Value not found at env source" at each place the param is
 *   used, naming neither the setting nor the stage. Here a missing setting fails
 *   `serverless package`/`deploy`, naming every missing variable.
 * - The optional ones keep a default when unset or empty: GitHub passes an unset `vars.X` as an
 *   empty string, which `${env:X, default}` would take as the value.
 * - Each value is checked, so a typo fails the deploy instead of shipping.
 *
 * CommonJS because osls loads file functions with require().
 */
'use strict';

/** Settings a stage other than dev must be given, with what each one is for. */
const REQUIRED = {
  JWT_ISSUER: 'the issuer URL the JWT authorizer trusts',
  JWT_AUDIENCE: 'the audience tokens must carry',
};

/** Settings every stage may be given, with the default when the variable is unset or empty. */
const OPTIONAL = {
  CORS_ORIGINS: () => '',
  ALARM_EMAIL: () => '',
  METRICS_NAMESPACE: (stage) => `OrderManagementApi/${stage}`,
  THROTTLE_RATE_LIMIT: () => '100',
  THROTTLE_BURST_LIMIT: () => '200',
  MONGODB_URI_PARAMETER: (stage) => `/order-management-api/${stage}/mongodb-uri`,
  EVENT_BUS_NAME: (stage) => `order-management-api-${stage}`,
};

/** Hosts a deployed stage never allows as a CORS origin. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '0.0.0.0']);

/**
 * An error osls prints as its message alone: it adds the stack of any other error it gets from
 * a file function, and these are configuration mistakes, not bugs.
 */
function settingError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/**
 * The CORS origins of CORS_ORIGINS (comma-separated; none when unset or empty). Each must be an
 * origin exactly as browsers send it (scheme, host, optional port; no path, no trailing slash:
 * API Gateway compares strings) and never a local one.
 */
function corsOriginsFrom(value, stage) {
  const origins = (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of origins) {
    let url;
    try {
      url = new URL(origin);
    } catch {
      throw settingError(`CORS_ORIGINS for stage "${stage}": "${origin}" is not an origin (https://host[:port]).`);
    }
    if (url.origin !== origin) {
      throw settingError(
        `CORS_ORIGINS for stage "${stage}": "${origin}" is not an origin as browsers send it; write "${url.origin}".`,
      );
    }
    if (LOCAL_HOSTS.has(url.hostname)) {
      throw settingError(
        `CORS_ORIGINS for stage "${stage}": "${origin}" is a local origin; only the dev stage allows localhost.`,
      );
    }
  }
  return origins;
}

/** A positive whole number of requests per second. */
function rateFrom(name, value) {
  if (!/^[1-9]\d*$/.test(value)) throw settingError(`${name} must be a positive whole number, got "${value}".`);
  return Number(value);
}

/** The optional settings, from the environment or their defaults, checked. */
function optionalSettings(stage) {
  const value = (name) => process.env[name]?.trim() || OPTIONAL[name](stage);
  const alarmEmail = value('ALARM_EMAIL');
  if (alarmEmail && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) {
    throw settingError(`ALARM_EMAIL must be one email address, got "${alarmEmail}".`);
  }
  const metricsNamespace = value('METRICS_NAMESPACE');
  // CloudWatch's rule for a custom namespace; `AWS/` is reserved for AWS's own.
  if (!/^[\w.\-/#:]{1,255}$/.test(metricsNamespace) || metricsNamespace.startsWith('AWS/')) {
    throw settingError(`METRICS_NAMESPACE "${metricsNamespace}" is not a custom CloudWatch namespace.`);
  }
  const mongodbUriParameter = value('MONGODB_URI_PARAMETER');
  if (!mongodbUriParameter.startsWith('/')) {
    throw settingError(
      `MONGODB_URI_PARAMETER must be an SSM parameter path starting with "/", got "${mongodbUriParameter}".`,
    );
  }
  const throttleRateLimit = rateFrom('THROTTLE_RATE_LIMIT', value('THROTTLE_RATE_LIMIT'));
  const throttleBurstLimit = rateFrom('THROTTLE_BURST_LIMIT', value('THROTTLE_BURST_LIMIT'));
  const eventBusName = value('EVENT_BUS_NAME');
  // The stack creates this bus: EventBridge's rule for a custom bus's name (the account's `default`
  // bus and the `aws.` partner names are not ours to create).
  if (!/^[A-Za-z0-9._-]{1,256}$/.test(eventBusName) || eventBusName === 'default' || eventBusName.startsWith('aws.')) {
    throw settingError(`EVENT_BUS_NAME "${eventBusName}" is not a name for a custom EventBridge bus.`);
  }
  return { alarmEmail, metricsNamespace, mongodbUriParameter, throttleRateLimit, throttleBurstLimit, eventBusName };
}

/**
 * The settings for the stage being packaged. For dev, whose own params win for the issuer,
 * audience and origins, those are empty placeholders (osls refuses a null value here). For any
 * other stage it fails, naming them, when JWT_ISSUER or JWT_AUDIENCE is unset.
 */
module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const optional = optionalSettings(stage);
  if (stage === 'dev') return { jwtIssuer: '', jwtAudience: '', corsOrigins: [], ...optional };
  const missing = Object.keys(REQUIRED).filter((name) => !process.env[name]?.trim());
  if (missing.length > 0) {
    throw settingError(
      `Stage "${stage}" needs ${missing.join(' and ')} in the environment (${missing.map((name) => REQUIRED[name]).join('; ')}): ` +
        'only the dev stage has developer defaults. See README "Operating it".',
    );
  }
  return {
    jwtIssuer: process.env.JWT_ISSUER.trim(),
    jwtAudience: process.env.JWT_AUDIENCE.trim(),
    corsOrigins: corsOriginsFrom(process.env.CORS_ORIGINS, stage),
    ...optional,
  };
};
