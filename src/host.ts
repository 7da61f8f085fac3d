// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A Worker's report turned into an exit status and one clear message, for
 * the warm hosts (the spawn path runs hooks in their own process, see
 * src/launch/entry.ts).
 *
 * @module
 */

import { EXIT } from "./contract.ts";
import { denial, isExitStatus, type WorkerReport } from "./outcome.ts";
import type { Permissions } from "./policy.ts";
import { explainUnknownImport } from "./import_error.ts";

/** What a warm host knows of its hook. */
export interface HostSpec {
  /** Absolute path of the module. */
  modulePath: string;
  /** Hook export to call. */
  hook: string;
  /** Granted permissions. */
  permissions: Permissions;
  /** Where they came from, for messages. */
  configPath?: string;
  /** The set used, for messages. */
  setName?: string;
}

/** The exit status of a worker's final report; `fail` says why on failure. */
export function statusOf(
  r: WorkerReport,
  spec: Pick<HostSpec, "hook" | "configPath" | "setName">,
  fail: (status: number, message: string) => number,
): number {
  switch (r.kind) {
    case "returned":
    case "exited":
      // The hook can post anything itself: trust no status unchecked.
      if (isExitStatus(r.status)) return r.status;
      return fail(EXIT.FAILED, `reported ${String(r.status)}, which is not an exit status`);
    case "bad-return":
      return fail(
        EXIT.FAILED,
        `returned ${r.value}, which is not an exit status (return nothing or an integer 0-255)`,
      );
    case "no-export":
      return fail(
        EXIT.FAILED,
        `the module has no export "${spec.hook}" and no default export` +
          ` (it exports: ${
            r.exports.join(", ") || "nothing"
          }); export a function named "${spec.hook}"`,
      );
    case "load-failed":
      return fail(
        EXIT.FAILED,
        `cannot load the module: ${explainUnknownImport(r.message, spec.configPath) ?? r.message}`,
      );
    case "threw":
      if (r.errorName === "NotCapable") return fail(EXIT.FAILED, denial(r.message, spec));
      return fail(EXIT.FAILED, `threw ${r.errorName}: ${r.message}`);
    default:
      // "ready"/"output" are not results: only a hook posting its own
      // messages gets here.
      return fail(EXIT.FAILED, "the hook posted a message the runner does not understand");
  }
}
