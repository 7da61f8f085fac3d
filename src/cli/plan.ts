// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno __plan MODULE HOOK`: the native launcher's cache miss. Writes
 * the encoded launch plan on stdout, or, when the hook cannot be launched,
 * the outcome record that says why (kind `refused`, src/outcome_record.ts)
 * and ends with its status: the launcher sends it on to the plugin.
 *
 * @module
 */

import { writeAll } from "../bytes.ts";
import { formatOutcome } from "../outcome_record.ts";
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
    await writeAll(
      Deno.stdout,
      new TextEncoder().encode(formatOutcome({
        kind: "refused",
        status: e.status,
        message: e.message,
        cause: e.message,
        place: { hook, module: modulePath, job: Deno.env.get("SLURM_JOB_ID") ?? "?" },
      })),
    );
    return e.status;
  }
}
