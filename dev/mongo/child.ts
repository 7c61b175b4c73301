/**
 * The embedded MongoDB in a process of its own (`dev/mongo/cli.ts` under tsx), for what needs a
 * separate process: crash tests that SIGKILL it, and benchmarks that keep its work off the
 * measuring process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** A running child server. */
export interface ChildMongo {
  child: ChildProcess;
  /** `mongodb://127.0.0.1:<port>/?directConnection=true` */
  uri: string;
  port: number;
  /** What it printed so far (stdout and stderr). */
  output: string[];
  /** Sends `signal` (default SIGTERM) and resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `dev/mongo/cli.ts --port 0 ...args` and resolves once it listens; rejects if it exits or takes over `timeoutMs`. */
export function startChildMongo(args: string[] = [], timeoutMs = 60_000): Promise<ChildMongo> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/mongo/cli.ts', '--port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let exited = child.exitCode !== null;
  child.once('exit', () => {
    exited = true;
  });
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> =>
    new Promise((resolve) => {
      if (exited) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`embedded MongoDB did not start within ${timeoutMs} ms: ${output.join('')}`));
    }, timeoutMs);
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      output.push(d.toString());
      const port = /listening: mongodb:\/\/127\.0\.0\.1:(\d+)/.exec(output.join(''))?.[1];
      if (port) {
        clearTimeout(timer);
        resolve({ child, uri: `mongodb://127.0.0.1:${port}/?directConnection=true`, port: Number(port), output, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded MongoDB exited with ${code}: ${output.join('')}`));
    });
  });
}
