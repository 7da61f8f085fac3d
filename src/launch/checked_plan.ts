// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A launch plan whose module has been type-checked: what the native
 * launcher asks for on a cache miss (`__plan`), so the check runs once per
 * change of the module, its local imports or its policy, and a cached plan
 * costs nothing extra.
 *
 * @module
 */

import { EXIT } from "../contract.ts";
import { loadPolicy, type Policy } from "../sandbox/policy.ts";
import type { HookName } from "../types.ts";
import { type LaunchPlan, LaunchRefused, planHook } from "./plan.ts";
import { judgeTypes, typecheckHook, type TypeVerdict } from "./typecheck.ts";

/** A checked plan, and what to log when it runs with type errors. */
export interface CheckedPlan {
  /** The plan; its deps include the module's local imports. */
  readonly plan: LaunchPlan;
  /** Type errors the policy lets through (`"typecheck": "warn"`), for the log. */
  readonly warning?: string;
}

/**
 * The plan for `hook` of `modulePath`, after its type check; `slurmConf` is
 * the daemon's own slurm.conf (`run --slurm-conf`), as {@linkcode planHook} takes it.
 *
 * @example
 * ```ts
 * import { planChecked } from "./checked_plan.ts";
 * export async function prologPlan() {
 *   const { plan, warning } = await planChecked("/etc/slurm/hooks/p.ts", "prolog");
 *   if (warning) console.error(warning);
 *   return plan;
 * }
 * ```
 * @throws {LaunchRefused} as {@linkcode planHook}, and with 126 and the
 * first errors (file:line and message) when the module does not type-check.
 */
export async function planChecked(
  modulePath: string,
  hook: HookName,
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  slurmConf?: string,
): Promise<CheckedPlan> {
  const plan = planHook(modulePath, hook, undefined, env, slurmConf);
  // planHook read the same policy without error.
  const policy = loadPolicy(modulePath, hook, slurmConf ? { ...env, SLURM_CONF: slurmConf } : env);
  const verdict = judgeTypes(await typecheckHook(modulePath, policy, plan), policy, hook);
  if (verdict.refusal) {
    throw new LaunchRefused(EXIT.SANDBOX, verdict.refusal.message, verdict.refusal.cause);
  }
  const deps = [...plan.deps];
  for (const f of verdict.report.files) if (!deps.includes(f)) deps.push(f);
  return { plan: { ...plan, deps }, warning: verdict.warning };
}

/** Changes whenever the file is replaced or rewritten. */
function stamp(path: string): string {
  try {
    const s = Deno.statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtime?.getTime()}:${s.ctime?.getTime()}`;
  } catch {
    return "missing";
  }
}

const verdicts = new Map<
  string,
  { files: string[]; stamps: string; verdict: Promise<TypeVerdict> }
>();

/**
 * The type verdict for `hook` of `modulePath` under `policy`, checked once
 * per change of the module, its local imports or its policy (the warm
 * service's gate: it keeps no launch plan cache of its own). Concurrent
 * callers share one check. `slurmConf`: the daemon's own slurm.conf, which
 * `policy` was loaded with (the warm request's), planned with the same way.
 *
 * @example
 * ```ts
 * import { loadPolicy } from "../sandbox/policy.ts";
 * import { typeVerdictOnce } from "./checked_plan.ts";
 * export async function refused(path = "/etc/slurm/hooks/p.ts"): Promise<boolean> {
 *   const v = await typeVerdictOnce(path, "prolog", loadPolicy(path, "prolog"));
 *   if (v.refusal) console.error(v.refusal.message);
 *   return v.refusal !== undefined;
 * }
 * ```
 */
export function typeVerdictOnce(
  modulePath: string,
  hook: HookName,
  policy: Policy,
  slurmConf?: string,
): Promise<TypeVerdict> {
  const key = `${modulePath}\0${hook}\0${JSON.stringify(policy)}`;
  const known = verdicts.get(key);
  const stampsOf = (files: string[]) => files.map(stamp).join("\n");
  if (known && stampsOf(known.files) === known.stamps) return known.verdict;
  const base = [modulePath, ...(policy.configPath ? [policy.configPath] : [])];
  const entry = {
    files: base,
    stamps: stampsOf(base),
    verdict: Promise.resolve({} as TypeVerdict),
  };
  entry.verdict = (async () => {
    const report = await typecheckHook(
      modulePath,
      policy,
      planHook(modulePath, hook, undefined, undefined, slurmConf),
    );
    // The module and policy as stamped before the check read them (an edit
    // during it makes a new check); its local imports as found.
    const more = report.files.filter((f) => !base.includes(f));
    entry.files = [...base, ...more];
    if (more.length) entry.stamps += "\n" + stampsOf(more);
    return judgeTypes(report, policy, hook);
  })();
  entry.verdict.catch(() => verdicts.delete(key));
  verdicts.set(key, entry);
  return entry.verdict;
}
