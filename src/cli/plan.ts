// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno __plan MODULE HOOK`: the native launcher's cache miss. Writes
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
  const [modulePath, hook] = args;
  try {
    await writeAll(Deno.stdout, encodePlan(planHook(modulePath, hook as HookName)));
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
