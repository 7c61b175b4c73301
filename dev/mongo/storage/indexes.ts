/**
 * Secondary (and `_id`) indexes: key extraction from documents (multikey aware) and a sorted
 * structure of `(key, documentId)` entries. An index holds the keys of every retained version of a
 * document, so it is a superset for any snapshot; readers always recheck the full filter.
 */
import type { Query } from 'mingo/query';
import { type Collation, parseCollation } from '../bson/collation.ts';
import { MongoCommandError } from '../bson/errors.ts';
import { bsonQuery } from '../bson/match.ts';
import { compareBson, keyString } from '../bson/order.ts';
import { SortedList } from './sorted-list.ts';

export type Doc = Record<string, unknown>;

/** One index entry: the key values (one per indexed field) and the owning document's id key. */
export interface IndexEntry {
  key: unknown[];
  id: string;
}

/** The index document as listIndexes shows it. */
export interface IndexSpec extends Doc {
  v: number;
  key: Record<string, number>;
  name: string;
}

function isPlainObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Values found at a dotted path, expanding arrays like mongod's multikey indexing. */
function collectPathValues(v: unknown, parts: string[], i: number, out: unknown[], multi: { v: boolean }): void {
  if (i === parts.length) {
    if (Array.isArray(v)) {
      multi.v = true;
      if (v.length === 0) out.push(undefined);
      else for (const e of v) out.push(e);
    } else out.push(v === undefined ? null : v);
    return;
  }
  if (Array.isArray(v)) {
    multi.v = true;
    const part = parts[i] as string;
    if (/^\d+$/.test(part) && Number(part) < v.length) {
      collectPathValues(v[Number(part)], parts, i + 1, out, multi);
      return;
    }
    let any = false;
    for (const e of v) {
      if (isPlainObject(e)) {
        collectPathValues(e, parts, i, out, multi);
        any = true;
      }
    }
    if (!any) out.push(null);
    return;
  }
  if (isPlainObject(v)) collectPathValues(v[parts[i] as string], parts, i + 1, out, multi);
  else out.push(null);
}

/** Whether a dotted path is absent from a document (used by sparse indexes). */
function pathMissing(doc: Doc, parts: string[]): boolean {
  let v: unknown = doc;
  for (const p of parts) {
    if (!isPlainObject(v)) return true;
    v = v[p];
  }
  return v === undefined;
}

/** An index over one collection. */
export class Index {
  readonly name: string;
  readonly spec: IndexSpec;
  readonly fields: string[];
  readonly dirs: number[];
  readonly paths: string[][];
  readonly unique: boolean;
  /** collMod's prepareUnique: new keys must be unique; duplicates already there may stay. */
  readonly prepareUnique: boolean;
  readonly sparse: boolean;
  readonly partial: Query | undefined;
  /** The index's collation (string keys are ordered and made unique by it); undefined: simple. */
  readonly collation: Collation | undefined;
  readonly entries: SortedList<IndexEntry>;
  /** Set once any document produced more than one key (arrays): range intersection and sort-by-index are then unsafe. */
  multikey = false;

  constructor(spec: IndexSpec) {
    this.spec = spec;
    this.name = spec.name;
    const keyEntries = Object.entries(spec.key);
    this.fields = keyEntries.map(([f]) => f);
    this.dirs = keyEntries.map(([, d]) => (Number(d) < 0 ? -1 : 1));
    this.paths = this.fields.map((f) => f.split('.'));
    this.unique = spec.unique === true || spec.name === '_id_';
    this.prepareUnique = spec.prepareUnique === true;
    this.sparse = spec.sparse === true;
    this.collation = parseCollation(spec.collation);
    // mongod matches a collated index's partial filter under the index's collation.
    this.partial = isPlainObject(spec.partialFilterExpression)
      ? bsonQuery(spec.partialFilterExpression, undefined, this.collation)
      : undefined;
    const dirs = this.dirs;
    const strings = this.collation?.compare;
    this.entries = new SortedList<IndexEntry>((a, b) => {
      for (let i = 0; i < dirs.length; i++) {
        const c = compareBson(a.key[i], b.key[i], strings);
        if (c !== 0) return c * (dirs[i] as number);
      }
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
  }

  /** Whether this index can serve sorts and arbitrary ranges (it holds every document once). */
  get complete(): boolean {
    return !this.sparse && !this.partial && !this.multikey;
  }

  /** The keys a document contributes, or [] when the index skips it (sparse / partial). */
  keysOf(doc: Doc): unknown[][] {
    if (this.partial && !this.partial.test(doc)) return [];
    if (this.sparse && this.paths.every((p) => pathMissing(doc, p))) return [];
    const perField: unknown[][] = [];
    let arrays = 0;
    for (const parts of this.paths) {
      const values: unknown[] = [];
      const multi = { v: false };
      collectPathValues(doc, parts, 0, values, multi);
      if (multi.v) {
        arrays++;
        this.multikey = true;
      }
      perField.push(values);
    }
    if (arrays > 1) {
      throw new MongoCommandError(171, `cannot index parallel arrays [${this.fields.join('] [')}]`);
    }
    let keys: unknown[][] = [[]];
    for (const values of perField) {
      const next: unknown[][] = [];
      for (const k of keys) for (const v of values) next.push([...k, v]);
      keys = next;
    }
    if (keys.length > 1) {
      const kept: unknown[][] = [];
      for (const k of keys) if (!kept.some((x) => this.sameKey(x, k))) kept.push(k);
      keys = kept;
    }
    return keys;
  }

  /** Whether two keys are the same key of this index (equal under its collation). */
  sameKey(a: unknown[], b: unknown[]): boolean {
    if (!this.collation) return keyString(a) === keyString(b);
    const strings = this.collation.compare;
    return a.length === b.length && a.every((v, i) => compareBson(v, b[i], strings) === 0);
  }

  /**
   * A string shared by keys that are the same key of this index (for unique-key locks). Under a
   * collation every string maps to one token: coarser than needed (more conflicts), never finer.
   */
  lockKeyOf(key: unknown[]): string {
    return keyString(key, this.collation !== undefined);
  }

  add(id: string, doc: Doc): void {
    for (const key of this.keysOf(doc)) this.entries.insert({ key, id });
  }

  /** Removes the keys of `doc` except those that one of `keep` still produces. */
  remove(id: string, doc: Doc, keep: Array<Doc | null> = []): void {
    const keys = this.keysOf(doc);
    if (keys.length === 0) return;
    const kept: unknown[][] = [];
    for (const d of keep) if (d) kept.push(...this.keysOf(d));
    for (const key of keys) {
      // The entry stands for every key equal to it (under the collation): keep it while one is live.
      if (kept.some((k) => this.sameKey(k, key))) continue;
      this.entries.delete({ key, id });
    }
  }

  /** Ids of entries whose key equals `key` (under the index's collation). */
  idsWithKey(key: unknown[]): string[] {
    const dirs = this.dirs;
    const strings = this.collation?.compare;
    const cmpKey = (e: IndexEntry): number => {
      for (let i = 0; i < dirs.length; i++) {
        const c = compareBson(e.key[i], key[i], strings);
        if (c !== 0) return c * (dirs[i] as number);
      }
      return 0;
    };
    const out: string[] = [];
    for (const e of this.entries.forward(this.entries.seek((e) => cmpKey(e) >= 0))) {
      if (cmpKey(e) !== 0) break;
      out.push(e.id);
    }
    return out;
  }

  /** `{ field: value, … }` for a key, as in keyValue of duplicate key errors. */
  keyDoc(key: unknown[]): Doc {
    const out: Doc = {};
    this.fields.forEach((f, i) => {
      out[f] = key[i] === undefined ? null : key[i];
    });
    return out;
  }
}
