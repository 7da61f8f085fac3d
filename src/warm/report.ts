// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * What a warm host's Worker (src/warm/job_worker.ts) tells its host: per
 * job, one outcome of the hook call (src/outcome/hook_call.ts, the spawn entry's
 * own), which the host checks before it puts it in its reply.
 *
 * @module
 */

import { type CallOutcome } from "../outcome/hook_call.ts";
import { HOOK_KINDS } from "../outcome/outcome_record.ts";
import { isExitStatus } from "../outcome/outcome.ts";

/** How a job ended, as the Worker reports it, exactly once per job. */
export interface JobReport {
  kind: "outcome";
  /** The hook call's outcome. */
  outcome: CallOutcome;
  /** The hook started Workers of its own (their threads may outlive the job). */
  nested?: boolean;
  /** The isolate closed itself (Deno.exit): it cannot take another job. */
  closed?: boolean;
  /** The isolate had an uncaught error: it cannot take another job. */
  uncaught?: boolean;
}

/** Everything the Worker posts on its port: reports, and what comes before and between them. */
export type PortMessage =
  | JobReport
  | { kind: "ready" }
  | { kind: "output"; data: Uint8Array }
  | { kind: "pong" };

/**
 * The report's outcome if it is one the hook call makes (a hook kind, an
 * exit status, text fields); otherwise a failure that says the Worker was
 * not understood. The port is out of the hook's reach: only a broken Worker
 * gets the second.
 *
 * @example
 * ```ts
 * checkedOutcome({ kind: "outcome", outcome: { kind: "returned", status: 3 } }).status; // 3
 * checkedOutcome({ kind: "outcome", outcome: { kind: "timeout", status: 124 } }).status; // 1
 * ```
 */
export function checkedOutcome(r: JobReport): CallOutcome {
  const o = r?.outcome;
  const text = (v: unknown) => v === undefined || typeof v === "string";
  if (
    o && (HOOK_KINDS as readonly string[]).includes(o.kind) && isExitStatus(o.status) &&
    text(o.message) && text(o.cause)
  ) {
    return { kind: o.kind, status: o.status, message: o.message, cause: o.cause };
  }
  const message = "the hook's Worker reported something the runner does not understand";
  return { kind: "threw", status: 1, message, cause: message };
}
