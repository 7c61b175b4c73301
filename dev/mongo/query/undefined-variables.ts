/**
 * mongod refuses a `$$name` that nothing defines when it parses the expression (17276 "Use of
 * undefined variable"), so the refusal comes before any document is read, also on an empty
 * collection. mingo only fails while evaluating, with a plain error. This finds such names up front.
 *
 * Scope is over-approximated: a name bound anywhere in the expression (`$let` vars, `as` of
 * `$map`/`$filter`/…, `$reduce`'s this/value) counts as defined everywhere in it, so nothing mongod
 * accepts is refused here.
 */
import { MongoCommandError } from '../bson/errors.ts';

type Doc = Record<string, unknown>;

/** Variables every expression can use (mongod's reserved ids). */
const SYSTEM_VARIABLES = new Set([
  'ROOT',
  'CURRENT',
  'REMOVE',
  'NOW',
  'CLUSTER_TIME',
  'DESCEND',
  'PRUNE',
  'KEEP',
  'SEARCH_META',
  'SEARCH_SCORE',
  'SEARCH_SCORE_DETAILS',
  'USER_ROLES',
  'IS_MR',
]);

/** Names the expression binds somewhere, and the `$$` names it uses. */
function collect(value: unknown, bound: Set<string>, used: Set<string>): void {
  if (typeof value === 'string') {
    if (value.startsWith('$$')) used.add(value.slice(2).split('.')[0] ?? '');
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, bound, used);
    return;
  }
  if (typeof value !== 'object' || value === null || (value as { _bsontype?: string })._bsontype) return;
  const doc = value as Doc;
  for (const [key, v] of Object.entries(doc)) {
    if (key === '$let' && typeof v === 'object' && v !== null) {
      for (const name of Object.keys(((v as Doc).vars ?? {}) as Doc)) bound.add(name);
    }
    if (key === '$reduce') {
      bound.add('this');
      bound.add('value');
    }
    if (['$map', '$filter', '$sortArray', '$firstN', '$lastN', '$maxN', '$minN'].includes(key)) bound.add('this');
    if (key === 'as' && typeof v === 'string') bound.add(v);
    collect(v, bound, used);
  }
}

/** Every `$expr` of a filter (at any depth of `$and`/`$or`/`$nor`), checked for undefined variables. */
export function refuseUndefinedFilterVariables(filter: Doc, variables: Doc | undefined): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$expr') refuseUndefinedVariables(value, variables);
    else if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(value)) {
      for (const clause of value) {
        if (typeof clause === 'object' && clause !== null) refuseUndefinedFilterVariables(clause as Doc, variables);
      }
    }
  }
}

/** Refuses (17276) an expression using a `$$name` that is neither a system variable, a `let` variable nor bound in it. */
export function refuseUndefinedVariables(expression: unknown, variables: Doc | undefined): void {
  const bound = new Set<string>();
  const used = new Set<string>();
  collect(expression, bound, used);
  for (const name of used) {
    if (SYSTEM_VARIABLES.has(name) || bound.has(name) || (variables && Object.hasOwn(variables, name))) continue;
    throw new MongoCommandError(17276, `Use of undefined variable: ${name}`);
  }
}
