// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * How a process ended, as a record: from a wait status (waitpid(2)'s, which
 * Slurm's run_command and the plugin's core return), or from Deno's
 * `Deno.CommandStatus`; and back to the one number a shell, Slurm and the
 * runner's exit status table use (the code, or 128 + the signal).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeWaitStatus, shellStatus } from "./wait_status.ts";
 * assert.deepEqual(decodeWaitStatus(0x0300), { how: "exited", code: 3 });
 * assert.equal(shellStatus(decodeWaitStatus(9)), 137); // SIGKILL
 * ```
 *
 * @module
 */

import { constants } from "node:os";

/** How a process ended: its exit code, or the signal that killed it. */
export type Ended =
  | { readonly how: "exited"; readonly code: number }
  | { readonly how: "signaled"; readonly signal: number };

/**
 * The record of a wait status: the low seven bits are the signal (0: it
 * exited), the next eight the exit code.
 *
 * @example
 * ```ts
 * decodeWaitStatus(15); // { how: "signaled", signal: 15 }
 * decodeWaitStatus(256); // { how: "exited", code: 1 }
 * ```
 */
export function decodeWaitStatus(status: number): Ended {
  const signal = status & 0x7f;
  return signal ? { how: "signaled", signal } : { how: "exited", code: (status >> 8) & 0xff };
}

/**
 * The record of a child Deno started. A signal Node's table does not know
 * (none of Linux's) counts as 0.
 *
 * @example
 * ```ts
 * endedOf({ success: false, code: 137, signal: "SIGKILL" }); // { how: "signaled", signal: 9 }
 * ```
 */
export function endedOf(s: Deno.CommandStatus): Ended {
  if (s.signal) {
    return {
      how: "signaled",
      signal: (constants.signals as Record<string, number>)[s.signal] ?? 0,
    };
  }
  return { how: "exited", code: s.code };
}

/**
 * The status a shell gives it: the exit code, or 128 + the signal.
 *
 * @example
 * ```ts
 * shellStatus({ how: "signaled", signal: 15 }); // 143
 * shellStatus({ how: "exited", code: 2 }); // 2
 * ```
 */
export function shellStatus(e: Ended): number {
  return e.how === "exited" ? e.code : 128 + e.signal;
}

/**
 * A wait status in the words Slurm's logs use, with Slurm's own two values:
 * -1 (`SLURM_ERROR`: the hook list could not be made) and 127 (run_command
 * could not execute the script).
 *
 * @example
 * ```ts
 * describeWaitStatus(0x0100); // "exit code 1"
 * describeWaitStatus(9); // "killed by signal 9"
 * describeWaitStatus(-1); // "SLURM_ERROR (the hook list could not be made)"
 * ```
 */
export function describeWaitStatus(status: number): string {
  if (status === -1) return "SLURM_ERROR (the hook list could not be made)";
  if (status === 127) return "status 127 (could not execute)";
  const e = decodeWaitStatus(status);
  return e.how === "signaled" ? `killed by signal ${e.signal}` : `exit code ${e.code}`;
}
