/**
 * Views, as MongoDB 7.0 has them: a read-only namespace defined by `viewOn` (a collection or another
 * view of the same database) and an aggregation `pipeline`. A view is kept in the catalog as an
 * entry whose options hold its definition (so it is journaled, listed and dropped like a
 * collection) and holds no documents. Reading it runs the pipeline over its source; writing to it
 * fails with 166 CommandNotSupportedOnView.
 */
import { aggregate } from 'mingo';
import { MongoCommandError } from '../bson/errors.ts';
import type { Collection, Doc, Engine } from '../storage/engine.ts';
import { validatePipeline } from './pipeline-validation.ts';

/** mongod's limit on the length of a chain of views (ViewGraph::kMaxViewDepth). */
const MAX_VIEW_DEPTH = 20;

/** Fields of `create` that may go with `viewOn` (the command's generic fields aside). */
const VIEW_OPTIONS = new Set(['viewOn', 'pipeline']);

/** Stages a view definition may not contain (mongod: 167 OptionNotSupportedOnView). */
const STAGES_NOT_IN_VIEWS: Record<string, string> = {
  $out: 'because it writes to disk',
  $merge: 'because it writes to disk',
  $changeStream: 'because it is a change stream stage',
};

/** A view's definition, as stored in its catalog entry's options. */
export interface ViewDefinition {
  viewOn: string;
  pipeline: Doc[];
}

/** Whether a catalog entry is a view. */
export function isView(coll: Collection | undefined): boolean {
  return typeof coll?.options.viewOn === 'string';
}

/** The error of a write, index or other collection-only command aimed at a view. */
export function viewNotCollection(coll: Collection): MongoCommandError {
  return new MongoCommandError(166, `Namespace ${coll.ns} is a view, not a collection`);
}

/** Throws 166 CommandNotSupportedOnView if the namespace is a view. */
export function rejectView(coll: Collection | undefined): void {
  if (coll && isView(coll)) throw viewNotCollection(coll);
}

/**
 * The view definition of a `create` command, validated like mongod, or undefined for a plain
 * collection. `genericFields` are the command fields that are not collection options.
 */
export function viewDefinition(
  cmd: Doc,
  db: string,
  name: string,
  genericFields: Set<string>,
): ViewDefinition | undefined {
  const { viewOn, pipeline } = cmd;
  if (viewOn === undefined) {
    if (pipeline !== undefined) throw new MongoCommandError(72, "'pipeline' requires 'viewOn' to also be specified");
    return undefined;
  }
  if (typeof viewOn !== 'string')
    throw new MongoCommandError(
      14,
      `BSON field 'create.viewOn' is the wrong type '${bsonTypeName(viewOn)}', expected type 'string'`,
    );
  if (viewOn === '') throw new MongoCommandError(2, "'viewOn' cannot be empty");
  if (viewOn.includes('$') || viewOn.includes('\0') || viewOn.startsWith('.'))
    throw new MongoCommandError(73, `invalid name for 'viewOn': ${viewOn}`);
  for (const key of Object.keys(cmd)) {
    if (key !== 'create' && !genericFields.has(key) && !VIEW_OPTIONS.has(key))
      throw new MongoCommandError(
        115,
        `create option '${key}' together with 'viewOn' is not supported by the embedded MongoDB server`,
      );
  }
  const stages = pipeline ?? [];
  if (!Array.isArray(stages))
    throw new MongoCommandError(
      14,
      `BSON field 'create.pipeline' is the wrong type '${bsonTypeName(stages)}', expected type 'array'`,
    );
  stages.forEach((stage, i) => {
    if (typeof stage !== 'object' || stage === null || Array.isArray(stage))
      throw new MongoCommandError(
        14,
        `BSON field 'create.pipeline.${i}' is the wrong type '${bsonTypeName(stage)}', expected type 'object'`,
      );
    const op = Object.keys(stage)[0] ?? '';
    const why = STAGES_NOT_IN_VIEWS[op];
    if (why)
      throw new MongoCommandError(
        167,
        `Invalid pipeline for view ${db}.${name} :: caused by :: The aggregation stage ${op} in location ${i} of the pipeline cannot be used in the view definition of ${db}.${name} ${why}`,
      );
  });
  checkStagesParse(stages as Doc[]);
  return { viewOn, pipeline: stages as Doc[] };
}

/** Refuses a view whose chain of `viewOn` leads back to itself (mongod: 93 GraphContainsCycle). */
export function checkNoCycle(engine: Engine, db: string, name: string, viewOn: string): void {
  const path = [`${db}.${name}`];
  let next: string | undefined = viewOn;
  while (next !== undefined) {
    path.push(`${db}.${next}`);
    if (next === name) throw new MongoCommandError(93, `View cycle detected: [ ${path.join(' -> ')} ]`);
    const coll = engine.getCollection(db, next);
    next = coll && isView(coll) ? (coll.options.viewOn as string) : undefined;
    if (path.length > MAX_VIEW_DEPTH + 1)
      throw new MongoCommandError(
        149,
        `View depth too deep or view cycle detected. Maximum depth is ${MAX_VIEW_DEPTH}`,
      );
  }
}

/** mongod parses a view's pipeline when the view is created: unknown stages are refused then, not at first read. */
function checkStagesParse(stages: Doc[]): void {
  validatePipeline(stages);
  try {
    aggregate([], stages);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const unknown = /unregistered pipeline operator (\S+?)\.?$/.exec(message);
    if (unknown) throw new MongoCommandError(40324, `Unrecognized pipeline stage name: '${unknown[1]}'`);
    throw new MongoCommandError(2, message);
  }
}

function bsonTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'double';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

/** What reading a view means: its source collection (undefined if absent) and the pipeline to run over it. */
export interface ResolvedView {
  source: Collection | undefined;
  pipeline: Doc[];
}

/** Follows a view's chain down to a collection; the pipelines run innermost first. */
export function resolveView(engine: Engine, view: Collection): ResolvedView {
  const pipelines: Doc[][] = [];
  let current: Collection | undefined = view;
  for (let depth = 1; current !== undefined && isView(current); depth++) {
    if (depth > MAX_VIEW_DEPTH)
      throw new MongoCommandError(
        149,
        `View depth too deep or view cycle detected. Maximum depth is ${MAX_VIEW_DEPTH}`,
      );
    const options: Doc = current.options;
    pipelines.unshift(options.pipeline as Doc[]);
    current = engine.getCollection(view.db, options.viewOn as string);
  }
  return { source: current, pipeline: pipelines.flat() };
}

/**
 * A find on a view, as the aggregation mongod turns it into (query_request_helper::asAggregationCommand),
 * with its refusals (168 InvalidPipelineOperator) for options aggregation does not have.
 */
export function findAsPipeline(cmd: Doc): Doc[] {
  for (const option of ['min', 'max'] as const) {
    const v = cmd[option];
    if (typeof v === 'object' && v !== null && Object.keys(v).length > 0)
      throw new MongoCommandError(168, `Option ${option} not supported in aggregation.`);
  }
  for (const option of ['returnKey', 'showRecordId'] as const) {
    if (cmd[option] === true) throw new MongoCommandError(168, `Option ${option} not supported in aggregation.`);
  }
  if (cmd.tailable === true) throw new MongoCommandError(168, 'Tailable cursors are not supported in aggregation.');
  for (const option of ['noCursorTimeout', 'allowPartialResults'] as const) {
    if (cmd[option] === true) throw new MongoCommandError(168, `Option ${option} not supported in aggregation.`);
  }
  const sort = cmd.sort as Doc | undefined;
  if (sort && '$natural' in sort)
    throw new MongoCommandError(168, 'Sort option $natural not supported in aggregation.');
  if (cmd.singleBatch === true && cmd.limit !== 1)
    throw new MongoCommandError(168, 'Option singleBatch not supported in aggregation.');
  const stages: Doc[] = [];
  const filter = cmd.filter as Doc | undefined;
  if (filter && Object.keys(filter).length > 0) stages.push({ $match: filter });
  if (sort && Object.keys(sort).length > 0) stages.push({ $sort: sort });
  if (typeof cmd.skip === 'number' && cmd.skip > 0) stages.push({ $skip: cmd.skip });
  if (typeof cmd.limit === 'number' && cmd.limit > 0) stages.push({ $limit: cmd.limit });
  const projection = cmd.projection as Doc | undefined;
  if (projection && Object.keys(projection).length > 0) stages.push({ $project: projection });
  return stages;
}
