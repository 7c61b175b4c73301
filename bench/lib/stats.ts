/** Small statistics and formatting helpers shared by the benchmark scripts. */
import { cpus, totalmem } from 'node:os';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1] as number;
}

export function round(x: number, digits = 3): number {
  return Number(x.toFixed(digits));
}

/** Median and p95 of a sample, in the sample's unit, rounded. */
export interface Summary {
  median: number;
  p95: number;
  n: number;
}

export function summarize(xs: readonly number[], digits = 3): Summary {
  return { median: round(median(xs), digits), p95: round(percentile(xs, 95), digits), n: xs.length };
}

/** The machine the figures were measured on. */
export function machine(): { cpu: string; cores: number; memoryGiB: number; node: string; platform: string } {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so every run picks the same ids and slots. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `items` in a random order (Fisher-Yates, from `random`). In-process variants are interleaved in
 * a fresh order each iteration, so that each follows every other equally often: with a rotation
 * a variant always follows the same neighbour and pays for what that one leaves behind (the
 * Express baseline's garbage and pending callbacks landed on the handler's GET every time).
 */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

/** Rotates `items` by `by` positions: runs of the variants are interleaved in a different order each round. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const k = ((by % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
