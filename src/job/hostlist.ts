// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Slurm hostlist expansion.
 *
 * @module
 */

/** Refuses to expand a hostlist past this many names: a typo such as
 * `n[1-99999999]` must not eat the hook's memory. */
const MAX_HOSTNAMES = 1_000_000;

/**
 * Expands a Slurm hostlist such as `node[1-3,7],gpu[01-02]` into host
 * names, in order, keeping zero padding. Several bracket groups in one name
 * (`rack[1-2]-n[1-2]`) expand as Slurm does, the first group slowest.
 *
 * @example
 * ```ts
 * import { expandHostlist } from "../mod.ts";
 * expandHostlist("node[1-3,7]"); // ["node1", "node2", "node3", "node7"]
 * expandHostlist("gpu[08-10]"); // ["gpu08", "gpu09", "gpu10"]
 * ```
 * @throws {SyntaxError} on unbalanced brackets or a malformed range.
 */
export function expandHostlist(hostlist: string): string[] {
  const names: string[] = [];
  for (const entry of splitTopLevel(hostlist.trim())) {
    if (entry === "") continue;
    for (const name of expandEntry(entry, hostlist)) {
      if (names.push(name) > MAX_HOSTNAMES) {
        throw new RangeError(
          `hostlist "${hostlist}" expands to more than ${MAX_HOSTNAMES} names`,
        );
      }
    }
  }
  return names;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "[") depth++;
    else if (c === "]") depth--;
    else if ((c === "," || c === " ") && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts;
}

function expandEntry(entry: string, whole: string): string[] {
  const open = entry.indexOf("[");
  if (open < 0) {
    if (entry.includes("]")) throw badHostlist(whole, "unbalanced ']'");
    return [entry];
  }
  const close = entry.indexOf("]", open);
  if (close < 0) throw badHostlist(whole, "unbalanced '['");
  const prefix = entry.slice(0, open);
  const tails = expandEntry(entry.slice(close + 1), whole);
  const out: string[] = [];
  for (const index of expandRanges(entry.slice(open + 1, close), whole)) {
    for (const tail of tails) out.push(prefix + index + tail);
  }
  return out;
}

function expandRanges(ranges: string, whole: string): string[] {
  const out: string[] = [];
  for (const range of ranges.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!m) throw badHostlist(whole, `bad range "${range}"`);
    const [, lo, hi = lo] = m;
    const first = Number(lo);
    const last = Number(hi);
    if (last < first) throw badHostlist(whole, `range "${range}" runs backwards`);
    if (last - first >= MAX_HOSTNAMES) {
      throw new RangeError(
        `hostlist "${whole}" expands to more than ${MAX_HOSTNAMES} names`,
      );
    }
    const width = lo.length > 1 && lo.startsWith("0") ? lo.length : 0;
    for (let n = first; n <= last; n++) {
      out.push(String(n).padStart(width, "0"));
    }
  }
  return out;
}

function badHostlist(hostlist: string, why: string): SyntaxError {
  return new SyntaxError(`invalid hostlist "${hostlist}": ${why}`);
}
