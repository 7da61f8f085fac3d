// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The nearest of a list of names to a misspelt one, so an error about an
 * unknown key or option can say which was meant ("permisions" ->
 * "permissions") instead of only listing the valid ones.
 *
 * @module
 */

/** Edit distance (insert, delete, substitute, swap of neighbours) between `a` and `b`. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate `word` most likely misspells, or undefined when none is
 * close (at most a third of the word's letters differ, case aside) and the
 * word is not the start of exactly one of them.
 *
 * @example
 * ```ts
 * import { closest } from "./did_you_mean.ts";
 * closest("permisions", ["permissions", "sandbox"]); // "permissions"
 * closest("xyz", ["permissions"]); // undefined
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  // An abbreviation ("procs" for "processes") is as clear as a typo.
  const lower = word.toLowerCase();
  if (lower.length >= 3) {
    const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(lower));
    if (prefixed.length === 1) return prefixed[0];
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const n = distance(word.toLowerCase(), c.toLowerCase());
    if (n < bestDistance) [best, bestDistance] = [c, n];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * The fix for an unknown name: the one meant when it is close, and the
 * valid ones.
 *
 * @example
 * ```ts
 * import { unknownNameFix } from "./did_you_mean.ts";
 * unknownNameFix("reed", ["read", "write"]); // 'did you mean "read"? (use read, write)'
 * unknownNameFix("xyz", ["read", "write"]); // "use read, write"
 * ```
 */
export function unknownNameFix(word: string, candidates: readonly string[]): string {
  const near = closest(word, candidates);
  const use = `use ${candidates.join(", ")}`;
  return near ? `did you mean "${near}"? (${use})` : use;
}
