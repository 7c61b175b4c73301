import { logger } from '#lib/http/requestLog';
import { interceptStdout } from './emf.ts';

/** A request line as written to stdout (lib/http/requestLog.ts), parsed. */
export interface RequestLogLine {
  level: string;
  message: 'request';
  timestamp: string;
  service: string;
  requestId: string;
  route?: string;
  method?: string;
  path?: string;
  status?: number;
  durationMs: number;
  traceId?: string;
  xray_trace_id?: string;
  [key: string]: unknown;
}

/**
 * Runs `work` with the request log on (the suite runs with POWERTOOLS_LOG_LEVEL=SILENT) and
 * returns its result and the request lines it wrote to stdout, as CloudWatch Logs would get them.
 */
export async function captureRequestLogs<T>(work: () => Promise<T>): Promise<{ result: T; lines: RequestLogLine[] }> {
  const level = logger.getLevelName();
  const stdout = interceptStdout();
  logger.setLogLevel('INFO');
  try {
    const result = await work();
    // Request lines are written once the answer has left (lib/http/requestLog.ts, writeLine).
    await new Promise((resolve) => setImmediate(resolve));
    const lines = stdout.text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line): line is RequestLogLine => line.message === 'request');
    return { result, lines };
  } finally {
    logger.setLogLevel(level);
    stdout.restore();
  }
}
