/**
 * The stage settings that must never fall back to a developer's defaults, read from the
 * environment for every stage but `dev` (serverless.yml's `params.default`, as
 * `${file(./deploy/stageSettings.cjs):jwtIssuer}` and so on; `params.dev` holds the developer
 * defaults and wins for the dev stage).
 *
 * A file function rather than plain `${env:JWT_ISSUER}`: osls resolves `params.default` for every
 * stage, dev included, and an unset `${env:…}` fails with "Value not found at env source" at each
 * place the param is used, naming neither the setting nor the stage. Here a missing setting fails
 * `serverless package`/`deploy` once, naming every missing variable.
 *
 * CommonJS because osls loads file functions with require().
 */
'use strict';

/** Settings a stage other than dev must be given, with what each one is for. */
const REQUIRED = {
  JWT_ISSUER: 'the issuer URL the JWT authorizer trusts',
  JWT_AUDIENCE: 'the audience tokens must carry',
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

/**
 * The settings for the stage being packaged. For dev, whose own params win, it returns empty
 * placeholders (osls refuses a null value here). For any other stage it fails, naming them, when
 * JWT_ISSUER or JWT_AUDIENCE is unset.
 */
module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  if (stage === 'dev') return { jwtIssuer: '', jwtAudience: '', corsOrigins: [] };
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
  };
};
