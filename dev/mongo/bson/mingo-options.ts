/**
 * mingo options built once and reused, instead of a plain options object per call.
 *
 * Why: handed a plain options object, mingo copies the whole operator context (several hundred
 * operators over six maps) for every `Query` it compiles, and its `update` copies it again and
 * merges four operator maps into the copy. On a small write that is most of the embedded
 * server's work: a profile of `POST /orders` (7 update statements in one bulkWrite) put ~40% of
 * the server's CPU there. mingo's `ComputeOptions.init` takes a `ComputeOptions` it was given as
 * is (same options, same context; only the per-call locals are copied: its documented
 * behaviour), so an instance made once carries its context copy for every later call.
 *
 * mingo does not export the `ComputeOptions` class from its entry points, so it is taken from the
 * options a query operator is compiled with (operators receive that instance by contract).
 *
 * Reusing an instance is safe only where nothing adds operators to its context: mingo does that
 * in the `$fill` and `$setWindowFields` pipeline stages, which queries, projections and
 * operator updates never run. Aggregation keeps plain options (a fresh context per pipeline).
 */
import { Context } from 'mingo';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import * as projectionOps from 'mingo/operators/projection';
import * as queryOps from 'mingo/operators/query';
import * as windowOps from 'mingo/operators/window';
import { Query } from 'mingo/query';
import type { Options } from 'mingo/types';

/** A mingo `ComputeOptions`: `Options` plus the per-call locals (`update` merges into them). */
export interface ComputeOptions extends Options {
  update(locals: Record<string, unknown>): ComputeOptions;
}

interface ComputeOptionsClass {
  init(options: Partial<Options> | ComputeOptions): ComputeOptions;
}

/** The class, from the options one throwaway query hands its (only) operator at compile time. */
const ComputeOptionsClass: ComputeOptionsClass = (() => {
  let seen: unknown;
  const probe = (_selector: string, _value: unknown, options: unknown) => {
    seen = options;
    return () => true;
  };
  new Query({ probe: { $probe: 1 } }, { context: Context.init({ query: { $probe: probe } as never }) });
  const found = (seen as { constructor?: Partial<ComputeOptionsClass> } | undefined)?.constructor;
  if (typeof found?.init !== 'function') throw new Error('mingo no longer hands query operators its ComputeOptions');
  return found as ComputeOptionsClass;
})();

/**
 * Options made once (their context copied once) for reuse: pass the result wherever mingo takes
 * options, or derive per-call locals from it with `forCall`.
 */
export function sharedOptions(options: Partial<Options>): ComputeOptions {
  return ComputeOptionsClass.init(options);
}

/** A per-call instance over `shared`: the same options and context, locals of its own (e.g. `$$NOW`). */
export function forCall(shared: ComputeOptions): ComputeOptions {
  return ComputeOptionsClass.init(shared);
}

/** The operators mingo's entry points (`find`, `update`, `aggregate` from 'mingo') use. */
export function mingoDefaultContext(): Context {
  return Context.init({
    accumulator: accumulatorOps as never,
    expression: expressionOps as never,
    pipeline: pipelineOps as never,
    projection: projectionOps as never,
    query: queryOps as never,
    window: windowOps as never,
  });
}
