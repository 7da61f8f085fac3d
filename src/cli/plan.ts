// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno __plan MODULE HOOK [SLURM_CONF]`: the native launcher's cache miss. Writes
 * the encoded launch plan on stdout, or says why the hook cannot be
 * launched and ends with that status.
 *
 * @module
 */

import { writeAll } from "../bytes.ts";
import { causeLine } from "../contract.ts";
import { encodePlan, LaunchRefused, planHook } from "../launch/plan.ts";
import type { HookName } from "../types.ts";

/** Runs `__plan`; resolves to the exit status. */
export async function planCommand(args: string[]): Promise<number> {
  // The third: the daemon's slurm.conf (run --slurm-conf), when the plugin gave one.
  const [modulePath, hook, slurmConf] = args;
  try {
    const plan = planHook(
      modulePath,
      hook as HookName,
      undefined,
      undefined,
      slurmConf || undefined,
    );
    await writeAll(Deno.stdout, encodePlan(plan));
    return 0;
  } catch (e) {
    if (!(e instanceof LaunchRefused)) throw e;
    console.error(
      `prep-deno: ${hook} ${modulePath} job ${Deno.env.get("SLURM_JOB_ID") ?? "?"}: ${e.message}`,
    );
    console.error(causeLine(e.message));
    return e.status;
  }
}
