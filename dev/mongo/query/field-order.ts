/**
 * mongod's field order in documents a projection or stage builds, where mingo's differs:
 *
 * - an inclusion projection (find, findAndModify, `$project`) copies the included fields in the
 *   order the input document has them, `_id` first as it is stored, nested documents likewise;
 *   computed fields (expressions, literals, and find's `$elemMatch`/`$slice`/positional `.$`)
 *   come after them, in the order the projection names them (mingo follows the projection's order
 *   and puts `_id` last);
 * - `$bucket` and `$bucketAuto` put `_id` first, then the outputs (mingo puts `_id` last).
 */
import { type Iterator, Lazy } from 'mingo/lazy';
import * as pipelineOps from 'mingo/operators/pipeline';
import type { Options } from 'mingo/types';
import { typeClass } from '../bson/order.ts';

type Doc = Record<string, unknown>;

/** What a projection does with one field: keep it, drop it, compute it, or descend into it. */
type FieldRule = 'keep' | 'computed' | ProjectionTree;
interface ProjectionTree {
  fields: Map<string, FieldRule>;
}

function isPlainDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeClass(v) === 20;
}

function ruleOf(value: unknown): FieldRule {
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') return 'keep';
  const t = (value as { _bsontype?: string } | null)?._bsontype;
  if (t === 'Long' || t === 'Int32' || t === 'Double' || t === 'Decimal128') return 'keep';
  if (isPlainDoc(value)) {
    const keys = Object.keys(value);
    if (keys.length > 0 && !keys[0]?.startsWith('$')) return treeOf(value);
  }
  return 'computed';
}

/** The projection as a tree of per-field rules (dotted paths become nested trees). */
function treeOf(spec: Doc): ProjectionTree {
  const tree: ProjectionTree = { fields: new Map() };
  for (const [key, value] of Object.entries(spec)) {
    const positional = key.endsWith('.$');
    const parts = (positional ? key.slice(0, -2) : key).split('.');
    let node = tree;
    for (const part of parts.slice(0, -1)) {
      let next = node.fields.get(part);
      if (typeof next !== 'object') {
        next = { fields: new Map() };
        node.fields.set(part, next);
      }
      node = next;
    }
    const last = parts[parts.length - 1] as string;
    const rule = positional ? 'computed' : ruleOf(value);
    const prev = node.fields.get(last);
    node.fields.set(last, typeof prev === 'object' && typeof rule === 'object' ? mergeTrees(prev, rule) : rule);
  }
  return tree;
}

function mergeTrees(a: ProjectionTree, b: ProjectionTree): ProjectionTree {
  for (const [k, v] of b.fields) a.fields.set(k, v);
  return a;
}

function reorderValue(input: unknown, output: unknown, rule: FieldRule | undefined): unknown {
  if (typeof rule !== 'object') return output;
  if (isPlainDoc(input) && isPlainDoc(output)) return reorder(input, output, rule);
  if (Array.isArray(input) && Array.isArray(output) && input.length === output.length)
    return output.map((o, i) => reorderValue(input[i], o, rule));
  return output;
}

function reorder(input: Doc, output: Doc, tree: ProjectionTree): Doc {
  const result: Doc = {};
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(output, key) || tree.fields.get(key) === 'computed') continue;
    result[key] = reorderValue(input[key], output[key], tree.fields.get(key));
  }
  for (const key of tree.fields.keys()) {
    if (Object.hasOwn(output, key) && !Object.hasOwn(result, key)) result[key] = output[key];
  }
  for (const key of Object.keys(output)) if (!Object.hasOwn(result, key)) result[key] = output[key];
  return result;
}

/**
 * The projected documents with mongod's field order (see the module comment); `inputs[i]` is the
 * document `outputs[i]` was projected from.
 */
export function inProjectionOrder(inputs: Doc[], outputs: Doc[], projection: Doc): Doc[] {
  if (inputs.length !== outputs.length) return outputs;
  const tree = treeOf(projection);
  return outputs.map((out, i) => reorder(inputs[i] as Doc, out, tree));
}

type Stage = (coll: Iterator, expr: unknown, options: Options) => Iterator;

/** `$project` as mingo computes it, in mongod's field order. */
function projectStage(coll: Iterator, expr: unknown, options: Options): Iterator {
  const run = pipelineOps.$project as unknown as Stage;
  return coll.transform(((docs: Doc[]) => {
    const outputs = run(Lazy(docs), expr, options).collect() as Doc[];
    return Lazy(inProjectionOrder(docs, outputs, expr as Doc));
  }) as never);
}

/** A stage whose output documents mongod starts with `_id`. */
function idFirst(run: Stage): Stage {
  return (coll, expr, options) =>
    run(coll, expr, options).map(((doc: Doc) => {
      if (!isPlainDoc(doc) || !('_id' in doc) || Object.keys(doc)[0] === '_id') return doc;
      const { _id, ...rest } = doc;
      return { _id, ...rest };
    }) as never);
}

/** Pipeline stages that build documents in mongod's field order (registered in the aggregation context). */
export const orderedStages = {
  $project: projectStage,
  $bucket: idFirst(pipelineOps.$bucket as unknown as Stage),
  $bucketAuto: idFirst(pipelineOps.$bucketAuto as unknown as Stage),
};
