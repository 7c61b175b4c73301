import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './offline.ts';

const prismCli = fileURLToPath(new URL('../../node_modules/@stoplight/prism-cli/dist/index.js', import.meta.url));

/** A running Stoplight Prism validating proxy and how to stop it. */
export interface PrismProxy {
  baseUrl: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Errors Prism answers itself carry a `type` under this URI (request or response violations, no route). */
const PRISM_ERROR_TYPE = /^https:\/\/stoplight\.io\/prism\/errors#/;

/**
 * True when Prism answered a request itself instead of forwarding it: one of its problem errors,
 * or its `{"error":{"code":"invalid_json"}}` for a body that is not JSON.
 */
export function isPrismOwnAnswer(body: unknown): body is { validation?: PrismViolation[] } {
  if (body === null || typeof body !== 'object') return false;
  const { type, error } = body as { type?: unknown; error?: { code?: unknown } };
  return (typeof type === 'string' && PRISM_ERROR_TYPE.test(type)) || error?.code === 'invalid_json';
}

/** One problem Prism found, as its error bodies and `sl-violations` header list them. */
interface PrismViolation {
  location?: string[];
  severity: string;
  code?: string;
  message: string;
}

/**
 * Starts `prism proxy <document> <upstream> --errors`: every request is validated against the
 * document before it is forwarded, every response after, and a violation is answered as an error
 * (a request one as 422 or 401, a response one as 500 with `sl-violations`) instead of passed on.
 * Prism's own CORS headers are off, so the API's reach the client. Works offline.
 */
export async function startPrism(document: string, upstream: string, timeoutMs = 60_000): Promise<PrismProxy> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [prismCli, 'proxy', document, upstream, '--errors', '--cors=false', '-p', String(port), '-h', '127.0.0.1'],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running() && child.pid !== undefined) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (running()) process.kill(-child.pid, 'SIGKILL');
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (!output.includes('Prism is listening')) {
    if (!running() || Date.now() > deadline) {
      await stop();
      throw new Error(`Prism did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { baseUrl: `http://127.0.0.1:${port}`, output: () => output, stop };
}
