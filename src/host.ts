// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The hook host: the runner's half that lives inside the kernel sandbox. It
 * starts one Worker with the policy's permissions, hands it the job and turns
 * the worker's report into an exit status and one clear message.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { parseEnvEntries } from "./bytes.ts";
import { EXIT, isExitStatus, type WorkerReport, type WorkerRequest } from "./outcome.ts";
import { type Permissions, workerPermissions } from "./policy.ts";

/** What the supervisor passes the host (as JSON on its command line). */
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
  /**
   * Variables the runtime set or changed on the way in, with the job's own
   * value (null: the job had none); restored before the hook sees the env.
   */
  jobEnvFixups: Record<string, string | null>;
  /** Only list the module's exports on stdout (for `check`). */
  listExports?: boolean;
}

/** Reads this process's environment as it was given, bytes and all. */
export function readRawEnv(): Record<string, string> {
  return parseEnvEntries(Deno.readFileSync("/proc/self/environ"));
}

/** Runs the hook in a Worker; resolves to the exit status. Writes one message on failure. */
export function hostHook(spec: HostSpec): Promise<number> {
  const env = readRawEnv();
  for (const [name, value] of Object.entries(spec.jobEnvFixups)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  // The runtime's own variables (DENO_DIR, ...) were read at start-up: take
  // them out of the process, so commands the hook runs do not inherit them.
  for (const [name, value] of Object.entries(spec.jobEnvFixups)) {
    if (name === "PATH" || name === "PWD") continue;
    if (value === null) Deno.env.delete(name);
    else Deno.env.set(name, value);
  }
  const label = `${spec.hook} ${spec.modulePath} job ${env.SLURM_JOB_ID ?? "?"}`;
  const fail = (status: number, message: string) => {
    console.error(`prep-deno: ${label}: ${message}`);
    return status;
  };
  return new Promise((resolve) => {
    let settled = false;
    const settle = (status: number) => {
      if (settled) return;
      settled = true;
      worker.terminate();
      resolve(status);
    };
    // A worker that closes itself (self.close(), process.exit) never
    // reports; without this the process would end with status 0.
    globalThis.addEventListener("unload", () => {
      if (!settled) {
        settled = true;
        Deno.exitCode = fail(EXIT.FAILED, "the hook ended its worker without a result");
      }
    });
    const worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
      name: spec.hook,
      deno: { permissions: workerPermissions(spec.permissions) },
    });
    worker.onmessage = (e: MessageEvent<WorkerReport>) => settle(statusOf(e.data, spec, fail));
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      settle(fail(EXIT.FAILED, `uncaught error: ${e.message}`));
    };
    const request: WorkerRequest = {
      moduleUrl: pathToFileURL(spec.modulePath).href,
      hook: spec.hook,
      env,
      listExports: spec.listExports,
    };
    worker.postMessage(request);
  });
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
    case "exports":
      console.log(JSON.stringify(r.names));
      return 0;
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
      return fail(EXIT.FAILED, `cannot load the module: ${r.message}`);
    case "threw":
      if (r.errorName === "NotCapable") return fail(EXIT.FAILED, denial(r.message, spec));
      return fail(EXIT.FAILED, `threw ${r.errorName}: ${r.message}`);
    default:
      // "ready"/"output" are not results: only a hook posting its own
      // messages gets here.
      return fail(EXIT.FAILED, "the hook posted a message the runner does not understand");
  }
}

/** Rewrites Deno's "run again with --allow-x" into the policy fix. */
export function denial(
  message: string,
  spec: Pick<HostSpec, "hook" | "configPath" | "setName">,
): string {
  const m = /Requires (\w+) access to (.+?)(?:, run again| at |$)/.exec(message);
  const set = spec.setName ?? spec.hook;
  const where = spec.configPath ?? "a deno.json next to the module";
  if (!m) {
    // No resource named (e.g. "Requires all access"): say what Deno said.
    const said = message.replace(/, run again with [^\n]*/, "").trim();
    return `permission denied: ${said}; paths under /dev and /proc need "all": true in Deno 2.9 (or do that work through a command the hook runs); see permission set "${set}" in ${where}`;
  }
  const kind = m[1];
  const resource = m[2];
  if (kind === "all") {
    return `permission denied: Deno 2.9 serves ${resource} (a path under /dev or /proc) only with "all": true; do that work through a command the hook runs (the helpers in src/helpers do), or set "all": true in permission set "${set}" in ${where} and bound the hook with its "sandbox" set`;
  }
  return `permission denied: ${kind} access to ${resource}; to allow it, add it to the "${kind}" list of permission set "${set}" in ${where}`;
}
