/**
 * `npm start`: the API on serverless-offline, backed by the embedded MongoDB from dev/mongo
 * (data under .data/mongo) unless MONGODB_URI points at a real one. Order and service events go to
 * a local EventBridge stand-in that prints each one as a line (dev/eventBridgeStandIn.ts): the
 * write functions' fast path puts them, and the outbox sweep runs here every 30 s, as the
 * scheduled function does on AWS. One Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEV_ISSUER_KEY_PATH, loadOrCreateIssuerKeys, localAuthEnvironment, signToken } from './auth/devIssuer.ts';
import { startEventBridgeStandIn } from './eventBridgeStandIn.ts';
import { startEmbeddedMongo } from './mongo/index.ts';
import { offlineOutputFilter } from './offlineOutput.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.PORT ?? 3000);
/** How often the outbox sweep runs locally (every minute on AWS; shorter here to show it). */
const SWEEP_EVERY_MS = 30_000;

async function main(): Promise<void> {
  let uri = process.env.MONGODB_URI;
  let stopMongo = async () => {};
  if (uri) {
    console.log('Using MongoDB from MONGODB_URI');
  } else {
    const dbPath = `${root}.data/mongo`;
    mkdirSync(dbPath, { recursive: true });
    const mongo = await startEmbeddedMongo({ port: Number(process.env.MONGO_PORT ?? 0), dbPath });
    uri = mongo.uri;
    stopMongo = mongo.stop;
    console.log(`Embedded MongoDB: ${uri} (data in .data/mongo)`);
  }

  // Tokens come from the local development issuer (npm run token); AUTH=off turns checks off.
  const authOff = process.env.AUTH === 'off' || process.env.AUTH_MODE === 'off';
  const issuer = await loadOrCreateIssuerKeys(DEV_ISSUER_KEY_PATH);
  const authEnvironment: Record<string, string> = authOff ? { AUTH_MODE: 'off' } : localAuthEnvironment(issuer);
  const exampleToken = authOff ? undefined : await signToken(issuer, { expiresInSeconds: 12 * 3600 });

  // What the functions and the sweep below need to publish to the stand-in: its endpoint (the SDK's
  // own setting), a bus name, and credentials the SDK signs with (the stand-in checks none).
  const events = await startEventBridgeStandIn((line) => console.log(line));
  const eventsEnvironment: Record<string, string> = {
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
    EVENT_BUS_NAME: 'order-management-api-dev',
    AWS_REGION: process.env.AWS_REGION ?? 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'local-stand-in',
    AWS_SECRET_ACCESS_KEY: 'local-stand-in',
  };
  Object.assign(process.env, eventsEnvironment, { MONGODB_URI: uri });
  console.log(`EventBridge stand-in: ${events.endpoint} (each event put prints an [event] line)`);
  const sweep = setInterval(() => {
    import('#lib/events/outboxRelay')
      .then(({ relayToBus }) => relayToBus())
      .catch((error: unknown) => console.error('outbox sweep failed:', error));
  }, SWEEP_EVERY_MS);

  const offline = spawn(
    process.execPath,
    [`${root}node_modules/serverless/bin/serverless.js`, 'offline', 'start', '--stage', 'dev'],
    {
      cwd: root,
      env: {
        // In-process offline shares one pool among all concurrent requests (serverless.yml).
        MONGODB_MAX_POOL_SIZE: '10',
        // A metric record (EMF JSON) per write would drown the request log; on AWS they go to
        // CloudWatch. POWERTOOLS_METRICS_DISABLED=false npm start shows them.
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...process.env,
        ...authEnvironment,
        ...eventsEnvironment,
        // No session token from the developer's shell next to the stand-in's key.
        AWS_SESSION_TOKEN: '',
        MONGODB_URI: uri,
        PORT: String(port),
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        // Its output is piped, so it cannot see the terminal: wrap the route box to the terminal's width.
        ...(process.stdout.columns && { COLUMNS: String(process.stdout.columns) }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // serverless writes its banner to stderr; pass both streams through, line by line without the
  // noise (dev/offlineOutput.ts), and watch for readiness.
  const relay = (target: NodeJS.WriteStream) => {
    let pending = '';
    const filter = offlineOutputFilter();
    return (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      const kept = lines.flatMap((line) => filter.push(line));
      if (kept.length > 0) target.write(`${kept.join('\n')}\n`);
      if (lines.some((line) => line.includes('Server ready'))) announce();
    };
  };
  const announce = () => {
    const base = `http://localhost:${port}`;
    const auth = exampleToken ? ` -H 'authorization: Bearer ${exampleToken}'` : '';
    console.log(`\nOrder Management API: ${base}  (docs: ${base}/docs; sample data: npm run seed)`);
    console.log(authOff ? 'Auth is OFF (AUTH=off).' : 'A token with every scope, valid 12 h (more: npm run token):');
    console.log(
      `curl -s -X POST ${base}/services${auth} -H 'content-type: application/json' -d '{"name":"Calibration"}'`,
    );
    console.log(`curl -s ${base}/services${auth}\n`);
  };
  offline.stdout.on('data', relay(process.stdout));
  offline.stderr.on('data', relay(process.stderr));

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    clearInterval(sweep);
    offline.kill('SIGTERM');
    await events.stop();
    await stopMongo();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  offline.on('exit', (code) => void stop(code ?? 1));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
