import type { VersionPrecondition } from '#lib/domain/versions';
import { HttpProblem } from './problems.ts';

const ENTITY_TAG = /^\s*(W\/)?"([^"]*)"\s*$/;

/**
 * Parses an If-Match header into the versions it allows. Weak tags never match (If-Match
 * uses strong comparison, RFC 9110 13.1.1), and tags that are not ours match nothing.
 * Undefined when the header is absent; 400 when it is not a list of entity tags.
 */
export function parseIfMatch(header: string | undefined): VersionPrecondition | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const versions: number[] = [];
  for (const part of header.split(',')) {
    const match = ENTITY_TAG.exec(part);
    if (!match) {
      throw new HttpProblem(400, 'If-Match must be * or a list of entity tags such as "3"', {
        type: '/problems/validation-error',
        title: 'Invalid request',
        extra: { errors: [{ in: 'header', pointer: '/if-match', detail: 'is not a list of entity tags' }] },
      });
    }
    // Strong comparison is character by character: only our canonical form ("7", not "07") matches.
    if (!match[1] && /^(?:0|[1-9]\d{0,14})$/.test(match[2] ?? '')) versions.push(Number(match[2]));
  }
  return versions;
}
