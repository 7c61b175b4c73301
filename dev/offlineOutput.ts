/**
 * What `npm start` keeps of serverless-offline's output (dev/start.ts). serverless-offline prints
 * its routes in a box, each route followed by a `POST | …/2015-03-31/functions/<name>/invocations`
 * entry: the Lambda-invoke URL, which answers 404 to a browser. The box is wrapped to the
 * terminal's width (80 columns when output is piped), so one entry may span several lines, e.g.
 * `│ POST | http://localhost:3000/2015-03-31/functions/getOrderAvailability │` and then
 * `│ /invocations │`. Entries are therefore judged whole: lines are held until the entry ends.
 */
import { stripVTControlCharacters } from 'node:util';

/** The invoke URLs serverless-offline lists next to each route. */
const INVOKE_PATH = '/2015-03-31/functions/';

/** The text inside a line of the box, or undefined for a line outside it (borders included). */
function boxContent(line: string): string | undefined {
  const text = stripVTControlCharacters(line).trim();
  if (text.length < 2 || !text.startsWith('│') || !text.endsWith('│')) return undefined;
  return text.slice(1, -1).trim();
}

/** Per-request lines that repeat what the API's own JSON log line says, and blank lines. */
function isRequestNoise(line: string): boolean {
  const text = stripVTControlCharacters(line).trim();
  return /^\(λ: [\w-]+\) RequestId: /.test(text) || /^[A-Z]+ \S+ \(λ: [\w-]+\)$/.test(text) || text === '';
}

/**
 * A line filter with memory: `push(line)` returns the lines to print now (an entry of the route
 * box is printed once it is known to be a route, not an invoke URL); `flush()` returns what is held.
 */
export function offlineOutputFilter(): { push: (line: string) => string[]; flush: () => string[] } {
  let entry: string[] = [];
  let entryText = '';
  const flush = (): string[] => {
    const kept = entryText.replaceAll(' ', '').includes(INVOKE_PATH) ? [] : entry;
    entry = [];
    entryText = '';
    return kept;
  };
  const push = (line: string): string[] => {
    const content = boxContent(line);
    if (content === undefined) {
      const held = flush();
      return isRequestNoise(line) ? held : [...held, line];
    }
    // A new entry starts with its method and a bar (`GET    | http://…`).
    if (/^[A-Z]+\s*\|/.test(content)) {
      const held = flush();
      entry = [line];
      entryText = content;
      return held;
    }
    if (content === '' || entry.length === 0) return [...flush(), line];
    entry.push(line);
    entryText += content;
    return [];
  };
  return { push, flush };
}
