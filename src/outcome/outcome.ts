// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The words for how a hook ended, which src/outcome/hook_call.ts (the one hook
 * call of the spawn entry, the warm Worker and `prep-deno/testing`) puts in
 * the outcome record (src/outcome/outcome_record.ts). The exit statuses are `EXIT`
 * in src/contract.ts (the plugin's too), documented in the README.
 *
 * @module
 */

/** Whether `v` is an exit status a hook may return. */
export function isExitStatus(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255;
}

/** Describes any thrown value in one line. */
export function describeThrown(e: unknown): { errorName: string; message: string; stack?: string } {
  if (e instanceof Error) {
    return { errorName: e.name, message: e.message, stack: e.stack };
  }
  let text: string;
  try {
    text = typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
  } catch {
    text = String(e);
  }
  return { errorName: "non-Error value", message: text };
}

/** A value a hook returned, shown in one short line. */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (typeof v === "bigint") return `${v}n`;
  return `a value of type ${typeof v}`;
}

/** Where a hook's permissions came from, for messages. */
export interface PolicySource {
  /** The hook (the set used when no `setName`). */
  hook: string;
  /** The policy file, if any. */
  configPath?: string;
  /** The permission set used. */
  setName?: string;
  /**
   * The hook's own folder (its policy's, else its module's): a thrown
   * error's first stack frame inside it is named as its place.
   */
  root?: string;
}

/**
 * Rewrites Deno's "Requires X access to R, run again with --allow-X" into
 * the policy fix: which list of which set of which file.
 *
 * @example
 * ```ts
 * denial('Requires read access to "/scratch", run again with the --allow-read flag',
 *   { hook: "prolog", configPath: "/etc/slurm/hooks/deno.json", setName: "prolog" });
 * // 'permission denied: read access to "/scratch"; to allow it, add it to the "read" list ...'
 * ```
 */
export function denial(message: string, from: PolicySource): string {
  const set = from.setName ?? from.hook;
  const where = from.configPath ?? "a deno.json next to the module";
  const m = /Requires (\w+) access(?: to (.+?))?(?:, run again| at |$)/.exec(message);
  if (!m) {
    return `permission denied: ${message.replace(/, run again with .*$/, "")}; ` +
      `grant it in permission set "${set}" of ${where}`;
  }
  const [, kind, resource] = m;
  if (kind === "all" && resource) {
    return `permission denied: Deno 2.9 serves ${resource} (a path under /dev or /proc) only with "all": true; do that work through a command the hook runs (the helpers in src/helpers do), or set "all": true in permission set "${set}" in ${where} and bound the hook with its "sandbox" set`;
  }
  if (!resource) {
    return `permission denied: all of ${kind} access; to allow it, set "${kind}": true in permission set "${set}" of ${where}`;
  }
  return `permission denied: ${kind} access to ${resource}; to allow it, add it to the "${kind}" list of permission set "${set}" in ${where}`;
}
