// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Helpers for the common work of node hooks, re-exported by `"prep-deno"`.
 * A hook imports them at run time without any grant of the runner's source:
 * the runner maps `"prep-deno"` to its own `mod.ts` and the sandbox lets
 * these modules in read-only. Each helper's doc names the grants it needs.
 *
 * @example
 * ```ts
 * import { type JobContext, makeJobFolder, removeTree } from "prep-deno";
 *
 * export async function prolog(job: JobContext) {
 *   await makeJobFolder(`/tmp/${job.id}`, { uid: job.uid!, gid: job.gid! });
 * }
 * export async function epilog(job: JobContext) {
 *   await removeTree(`/tmp/${job.id}`);
 * }
 * ```
 *
 * @module
 */

export {
  commandEnv,
  CommandError,
  type CommandResult,
  runCommand,
  type RunOptions,
  STANDARD_PATH,
} from "./command.ts";
export { type FolderOptions, makeJobFolder, removeTree, removeUserFiles } from "./folders.ts";
export { dropCaches, isMountPoint } from "./node.ts";
export { appendToJobOutput } from "./job_output.ts";
export {
  parsePs,
  PROCESS_COMMANDS,
  PROCESS_LIST_MAX_BYTES,
  type ProcessInfo,
  type SignalOptions,
  signalUserProcesses,
  userProcesses,
} from "./processes.ts";
export {
  ACTIVE_JOB_STATES,
  drainNode,
  otherJobsOnNode,
  REASON_MAX,
  SLURM_COMMANDS,
  userJobsOnNode,
  type UserJobsOptions,
} from "./slurm.ts";
export { WALK_TOOL } from "./walk_tool.ts";
export { privileged, type PrivilegedOptions } from "./privileged.ts";
export { syslog, type SyslogLevel, type SyslogOptions } from "./syslog.ts";
export { expandJobPath, jobOutputPaths } from "./job_paths.ts";
