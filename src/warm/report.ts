// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a warm host's Worker (src/warm/job_worker.ts) tells its host, and the
 * exit status and one clear message the host makes of a job's report.
 *
 * @module
 */

import { EXIT } from "../contract.ts";
import { denial, isExitStatus, type PolicySource } from "../outcome.ts";
import { explainUnknownImport } from "../import_error.ts";
import { adminWording, capabilityHint, type ViewSource } from "../capability_hints.ts";

/** How a job ended, as the Worker reports it, exactly once per job. */
export type JobReport =
  & (
    | { kind: "returned"; status: number }
    | { kind: "bad-return"; value: string }
    | { kind: "threw"; errorName: string; message: string; stack?: string }
    | { kind: "exited"; status: number }
    | { kind: "no-export"; exports: string[] }
    | { kind: "load-failed"; message: string }
  )
  & {
    /** The hook started Workers of its own (their threads may outlive the job). */
    nested?: boolean;
    /** The isolate closed itself (Deno.exit): it cannot take another job. */
    closed?: boolean;
  };

/** Everything the Worker posts on its port: reports, and what comes before and between them. */
export type PortMessage =
  | JobReport
  | { kind: "ready" }
  | { kind: "output"; data: Uint8Array }
  | { kind: "pong" };

/**
 * The exit status of a job's final report; `fail` says why on failure: the
 * whole message, and the cause (the drain reason) where it is shorter.
 */
export function statusOf(
  r: JobReport,
  from: PolicySource,
  fail: (status: number, message: string, cause?: string) => number,
  view?: ViewSource,
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
        `the module has no export "${from.hook}" and no default export` +
          ` (it exports: ${
            r.exports.join(", ") || "nothing"
          }); export a function named "${from.hook}"`,
      );
    case "load-failed":
      return fail(
        EXIT.FAILED,
        `cannot load the module: ${explainUnknownImport(r.message, from.configPath) ?? r.message}`,
      );
    case "threw":
      if (r.errorName === "NotCapable") return fail(EXIT.FAILED, denial(r.message, from));
      {
        // As the spawn path says it: Deno's wording in the policy's, and a capability hint.
        const hint = view && capabilityHint(`${r.errorName}: ${r.message}`, view);
        return fail(
          EXIT.FAILED,
          `threw ${r.errorName}: ${adminWording(r.message, from)}${hint ? `; ${hint}` : ""}`,
          r.message || r.errorName,
        );
      }
    default:
      // The port is out of the hook's reach: only a broken Worker gets here.
      return fail(
        EXIT.FAILED,
        "the hook's Worker reported something the runner does not understand",
      );
  }
}
