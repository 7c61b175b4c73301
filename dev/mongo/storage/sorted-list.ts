/**
 * An ordered multiset kept as a list of sorted chunks (like Python's SortedList): O(log n) search,
 * cheap inserts and deletes (only one chunk of at most CHUNK_MAX entries is shifted), and
 * in-order iteration from any position. Used for index entries.
 */
const CHUNK_MAX = 512;

/** A position inside the list: chunk number and offset in it. */
export interface Cursor {
  chunk: number;
  index: number;
}

/** Sorted list ordered by a total comparator; equal entries (cmp = 0) are treated as the same entry. */
export class SortedList<T> {
  private chunks: T[][] = [];
  private readonly cmp: (a: T, b: T) => number;
  private count = 0;

  constructor(cmp: (a: T, b: T) => number) {
    this.cmp = cmp;
  }

  get size(): number {
    return this.count;
  }

  /** First chunk whose last entry is >= x (or the last chunk). */
  private chunkFor(x: T): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid] as T[];
      if (this.cmp(chunk[chunk.length - 1] as T, x) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static lowerBound<T>(arr: T[], pred: (e: T) => boolean): number {
    // first index whose entry satisfies pred (pred is monotone: false…false true…true)
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pred(arr[mid] as T)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Inserts x unless an equal entry exists. */
  insert(x: T): void {
    if (this.chunks.length === 0) {
      this.chunks.push([x]);
      this.count = 1;
      return;
    }
    const ci = this.chunkFor(x);
    const chunk = this.chunks[ci] as T[];
    const i = SortedList.lowerBound(chunk, (e) => this.cmp(e, x) >= 0);
    if (i < chunk.length && this.cmp(chunk[i] as T, x) === 0) return;
    chunk.splice(i, 0, x);
    this.count++;
    if (chunk.length > CHUNK_MAX) {
      const tail = chunk.splice(chunk.length >> 1);
      this.chunks.splice(ci + 1, 0, tail);
    }
  }

  /** Removes the entry equal to x, if present. */
  delete(x: T): boolean {
    if (this.chunks.length === 0) return false;
    const ci = this.chunkFor(x);
    const chunk = this.chunks[ci] as T[];
    const i = SortedList.lowerBound(chunk, (e) => this.cmp(e, x) >= 0);
    if (i >= chunk.length || this.cmp(chunk[i] as T, x) !== 0) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  /** Position of the first entry for which the monotone predicate holds (may be the end). */
  seek(pred: (e: T) => boolean): Cursor {
    const chunkIdx = SortedList.lowerBound(this.chunks, (c) => pred(c[c.length - 1] as T));
    if (chunkIdx >= this.chunks.length) return { chunk: this.chunks.length, index: 0 };
    const chunk = this.chunks[chunkIdx] as T[];
    return { chunk: chunkIdx, index: SortedList.lowerBound(chunk, pred) };
  }

  /** Entries from `from` forwards. */
  *forward(from: Cursor = { chunk: 0, index: 0 }): Generator<T> {
    let { chunk: c, index: i } = from;
    while (c < this.chunks.length) {
      const chunk = this.chunks[c] as T[];
      while (i < chunk.length) yield chunk[i++] as T;
      c++;
      i = 0;
    }
  }

  /** Entries strictly before `to`, backwards. */
  *backward(to: Cursor = { chunk: this.chunks.length, index: 0 }): Generator<T> {
    let c = to.chunk;
    let i = to.index - 1;
    if (c >= this.chunks.length) {
      c = this.chunks.length - 1;
      i = (this.chunks[c]?.length ?? 0) - 1;
    }
    while (c >= 0) {
      const chunk = this.chunks[c] as T[];
      while (i >= 0) yield chunk[i--] as T;
      c--;
      i = (this.chunks[c]?.length ?? 0) - 1;
    }
  }

  clear(): void {
    this.chunks = [];
    this.count = 0;
  }
}
