import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bearer, testAuthEnvironment } from './auth.ts';
import { assertResponseMatchesContract } from './contract.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** A running serverless-offline and how to stop it. */
export interface OfflineApi {
  baseUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `serverless offline` (the same command `npm start` runs) with the given environment
 * and resolves once it reports "Server ready". The build goes to its own folder so it never
 * collides with a developer's `npm start`. Tokens are checked against the test issuer
 * (tests/support/auth.ts) unless `env` says otherwise.
 */
export async function startOffline(env: Record<string, string>, timeoutMs = 120_000): Promise<OfflineApi> {
  const port = await freePort();
  const lambdaPort = await freePort();
  // Each instance builds in its own folder: test files start several at once.
  const workFolder = `.esbuild/offline-${process.pid}-${port}`;
  const child: ChildProcess = spawn(
    process.execPath,
    // The dev stage, as `npm start`: only dev has the local CORS origins and developer defaults
    // (every other stage must be given its settings, README "Operating it").
    [`${root}node_modules/serverless/bin/serverless.js`, 'offline', 'start', '--stage', 'dev'],
    {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ESBUILD_WORK_FOLDER: workFolder,
        // In-process offline shares one pool among all concurrent requests (serverless.yml).
        MONGODB_MAX_POOL_SIZE: '10',
        ...(await testAuthEnvironment()),
        ...env,
        PORT: String(port),
        OFFLINE_LAMBDA_PORT: String(lambdaPort),
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
    },
  );
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serverless offline not ready after ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serverless offline exited with ${code}:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    }
    await rm(`${root}${workFolder}`, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (error) {
    await stop();
    throw error;
  }
  return { baseUrl: `http://127.0.0.1:${port}`, output: () => output, stop };
}

/**
 * Sends one request to a running API with a valid bearer token (all scopes) and answers it with
 * the body parsed when it is JSON. No contract check: see callOverHttp.
 */
export async function sendOverHttp(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: await bearer(),
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  return {
    status: response.status,
    headers: response.headers,
    body: isJson && text ? JSON.parse(text) : text,
  };
}

/** sendOverHttp, then a check of the answer against openapi.json (throws ContractViolation). */
export async function callOverHttp(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const received = await sendOverHttp(baseUrl, method, path, body, headers);
  assertResponseMatchesContract({ method, path }, received);
  return received;
}
