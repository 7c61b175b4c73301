/**
 * Reading CloudWatch embedded metric format (EMF) records, the JSON lines Powertools Metrics
 * writes to stdout, the way CloudWatch Logs reads them: a line is a record when it is a JSON
 * object with `_aws.CloudWatchMetrics`; each metric's value is the top-level key of its name.
 */

/** One EMF record, reduced to what the tests check. */
export interface EmfRecord {
  namespace: string;
  /** The dimension sets, each a list of dimension names. */
  dimensions: string[][];
  /** Each dimension's value, by name. */
  dimensionValues: Record<string, string>;
  /** Each metric's value, by name. */
  values: Record<string, number>;
  /** Each metric's unit, by name. */
  units: Record<string, string>;
}

interface RawEmf {
  _aws?: {
    CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [key: string]: unknown;
}

/** The EMF records among the lines of `text`; other lines (logs, the invoker's result) are skipped. */
export function parseEmf(text: string): EmfRecord[] {
  const records: EmfRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let parsed: RawEmf;
    try {
      parsed = JSON.parse(line) as RawEmf;
    } catch {
      continue;
    }
    for (const directive of parsed._aws?.CloudWatchMetrics ?? []) {
      const dimensionNames = [...new Set(directive.Dimensions.flat())];
      records.push({
        namespace: directive.Namespace,
        dimensions: directive.Dimensions,
        dimensionValues: Object.fromEntries(dimensionNames.map((name) => [name, String(parsed[name])])),
        values: Object.fromEntries(directive.Metrics.map((metric) => [metric.Name, Number(parsed[metric.Name])])),
        units: Object.fromEntries(directive.Metrics.map((metric) => [metric.Name, metric.Unit])),
      });
    }
  }
  return records;
}

/** What was written to process.stdout since interceptStdout, which keeps it off the terminal. */
export interface StdoutCapture {
  readonly text: string;
  /** Puts process.stdout.write back. */
  restore(): void;
}

/**
 * Collects everything written to process.stdout (where Powertools Metrics writes) until
 * restored, instead of printing it: the test output stays readable and the records stay checkable.
 */
export function interceptStdout(): StdoutCapture {
  const write = process.stdout.write;
  const capture = {
    text: '',
    restore: () => {
      process.stdout.write = write;
    },
  };
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    capture.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const callback = rest.find((argument) => typeof argument === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  return capture;
}
