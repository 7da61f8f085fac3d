// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno __plan MODULE HOOK [SLURM_CONF]`: the native launcher's cache miss. Writes
 * the encoded launch plan on stdout, or, when the hook cannot be launched,
 * the outcome record that says why (kind `refused`, src/outcome/outcome_record.ts)
 * and ends with its status: the launcher sends it on to the plugin. The
 * module is type-checked first (src/launch/checked_plan.ts): a module that
 * does not type-check is refused here, once per change.
 *
 * @module
 */

import { writeAll } from "../bytes.ts";
import { formatOutcome, placePrefix } from "../outcome/outcome_record.ts";
import { encodePlan, LaunchRefused } from "../launch/plan.ts";
import { planChecked } from "../launch/checked_plan.ts";
import type { HookName } from "../types.ts";

/** Runs `__plan`; resolves to the exit status. */
export async function planCommand(args: string[]): Promise<number> {
  // The third: the daemon's slurm.conf (run --slurm-conf), when the plugin gave one.
  const [modulePath, hook, slurmConf] = args;
  const place = { hook, module: modulePath, job: Deno.env.get("SLURM_JOB_ID") ?? "?" };
  try {
    const { plan, warning } = await planChecked(
      modulePath,
      hook as HookName,
      undefined,
      slurmConf || undefined,
    );
    // "typecheck": "warn": the errors go to the hook's log, the hook runs.
    if (warning) console.error(`${placePrefix(place)} ${warning}`);
    await writeAll(Deno.stdout, encodePlan(plan));
    return 0;
  } catch (e) {
    if (!(e instanceof LaunchRefused)) throw e;
    await writeAll(
      Deno.stdout,
      new TextEncoder().encode(formatOutcome({
        kind: "refused",
        status: e.status,
        message: e.message,
        cause: e.shortCause,
        place,
      })),
    );
    return e.status;
  }
}
