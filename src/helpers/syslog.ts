// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Log to the node's syslog, as `logger` does from shell prologs. The
 * permission set grants `run` of `/usr/bin/logger`; the sandbox set reads
 * the log socket (`"read": ["/dev/log"]`).
 *
 * @module
 */

import { runCommand } from "./command.ts";

/** Syslog levels. */
export type SyslogLevel =
  | "emerg"
  | "alert"
  | "crit"
  | "err"
  | "warning"
  | "notice"
  | "info"
  | "debug";

/** Options of {@linkcode syslog}. */
export interface SyslogOptions {
  /** The tag (program name) shown, default `prep-deno`. */
  readonly tag?: string;
  /** Default `info`. */
  readonly level?: SyslogLevel;
  /** Default `user`. */
  readonly facility?: string;
  /** The log socket, default `/dev/log`. */
  readonly socket?: string;
}

/**
 * Sends one message to syslog.
 *
 * @example
 * ```ts
 * import { syslog } from "./syslog.ts";
 * import { fakeJob } from "../testing.ts";
 * const job = fakeJob("prolog", { id: 7 });
 * await syslog(`job ${job.id}: scratch ready`, { tag: "prolog", level: "notice" })
 *   .catch((e) => e.message.includes("logger")); // true where no syslog listens
 * ```
 * @throws {Error} naming logger and its message when it fails.
 */
export async function syslog(message: string, opts: SyslogOptions = {}): Promise<void> {
  await runCommand([
    "/usr/bin/logger",
    "-t",
    opts.tag ?? "prep-deno",
    "-p",
    `${opts.facility ?? "user"}.${opts.level ?? "info"}`,
    // Without this, logger drops the message silently when the socket is missing.
    "--socket-errors=on",
    "-u",
    opts.socket ?? "/dev/log",
    "--",
    message.replace(/\n/g, " "),
  ], { timeoutSeconds: 10 });
}
