// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * One problem `prep-deno check` found: the file, the key (or what part of
 * the file), what is wrong and the fix. One line for people, one JSON
 * object for machines.
 *
 * @module
 */

/** One problem found by a lint. */
export interface Problem {
  /** The file at fault (a module, a policy, slurm.conf, a binary). */
  readonly file: string;
  /** The key or part (`permissions.prolog.read`, `Prolog`, `exports`, `types`, `runner`). */
  readonly key: string;
  /** What is wrong. */
  readonly problem: string;
  /** What to change; empty when the problem says it. */
  readonly fix: string;
}

/**
 * The problem as one line: `FILE: KEY: PROBLEM; fix: FIX`.
 *
 * @example
 * ```ts
 * problemLine({ file: "/etc/slurm/hooks/deno.json", key: "permisions", problem: "unknown key", fix: 'did you mean "permissions"?' });
 * // '/etc/slurm/hooks/deno.json: permisions: unknown key; fix: did you mean "permissions"?'
 * ```
 */
export function problemLine(p: Problem): string {
  const oneLine = (s: string) => s.replaceAll(/\s*\n\s*/g, " ");
  return `${p.file}: ${p.key}: ${oneLine(p.problem)}${p.fix ? `; fix: ${oneLine(p.fix)}` : ""}`;
}
