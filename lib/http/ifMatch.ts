import type { VersionPrecondition } from '#lib/domain/versions';
import { IF_MATCH_PATTERN } from './headerPatterns.ts';
import { PROBLEMS, problemOf } from './problems.ts';

const IF_MATCH = new RegExp(IF_MATCH_PATTERN);
const ENTITY_TAGS = /(W\/)?"([^"]*)"/g;

/**
 * Parses an If-Match header into the versions it allows. Weak tags never match (If-Match
 * uses strong comparison, RFC 9110 13.1.1), and tags that are not ours match nothing.
 * Undefined when the header is absent; 400 when it does not match IF_MATCH_PATTERN, the
 * pattern the OpenAPI document gives the header.
 */
export function parseIfMatch(header: string | undefined): VersionPrecondition | undefined {
  if (header === undefined) return undefined;
  if (!IF_MATCH.test(header)) {
    throw problemOf(PROBLEMS.validationError, 'If-Match must be * or a list of entity tags such as "3"', {
      extra: { errors: [{ in: 'header', pointer: '/if-match', detail: 'is not * or a list of entity tags' }] },
    });
  }
  if (header.trim() === '*') return '*';
  const versions: number[] = [];
  for (const [, weak, tag] of header.matchAll(ENTITY_TAGS)) {
    // Strong comparison is character by character: only our canonical form ("7", not "07") matches.
    if (!weak && /^(?:0|[1-9]\d{0,14})$/.test(tag ?? '')) versions.push(Number(tag));
  }
  return versions;
}
