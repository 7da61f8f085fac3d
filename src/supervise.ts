// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The supervisor: the runner's half outside the sandbox. It resolves the
 * module and its policy, starts the host inside bubblewrap, enforces the
 * timeout and turns a crash into a clear message. `run` and `try` both come
 * through here, so a local try is the production path.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { writeAll } from "./bytes.ts";
import { type HostSpec, readRawEnv } from "./host.ts";
import { EXIT } from "./outcome.ts";
import { loadPolicy, type Permissions, type Policy, PolicyError } from "./policy.ts";
import { remoteCodeFlags } from "./deno_flags.ts";
import { HELPER_MODULE_PATHS } from "./helpers/paths.ts";
import { bwrapArgs, CHILD_PATH, findBwrap, withDenoFlags } from "./sandbox.ts";
import { selfCommand } from "./self_command.ts";
import type { HookName } from "./types.ts";

/** Default heap limit of a hook, in MiB (`--heap-mb`). */
export const DEFAULT_HEAP_MB = 512;

/**
 * What the Deno runtime inside the sandbox needs in its environment: a
 * private cache, no colours in daemon logs, and the hooks' heap limit.
 */
export function sandboxRuntimeEnv(heapMb?: number): Record<string, string> {
  return {
    DENO_DIR: "/tmp/.deno",
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    DENO_V8_FLAGS: `--max-old-space-size=${heapMb ?? DEFAULT_HEAP_MB}`,
  };
}

/** One hook to run. */
export interface HookRun {
  /** Path of the module. */
  modulePath: string;
  /** Which hook. */
  hook: HookName;
  /** Seconds before the hook is stopped; 0 or undefined: no limit. */
  timeoutSeconds?: number;
  /** Heap limit in MiB. */
  heapMb?: number;
  /**
   * The hook's environment. Undefined: this process's own, passed on
   * untouched (bytes that are not UTF-8 included), as `run` does.
   */
  env?: Record<string, string>;
  /** Job id for messages. */
  jobId?: string;
  /** Only list the module's exports on stdout, as JSON (for `check`). */
  listExports?: boolean;
  /** Receives the hook's stdout instead of this process's stdout. */
  onStdout?: (chunk: Uint8Array) => void;
}

/** Runs one hook in the sandbox; resolves to its exit status. */
export async function runHook(run: HookRun): Promise<number> {
  const modulePath = resolve(run.modulePath);
  const jobId = run.jobId ?? run.env?.SLURM_JOB_ID ?? Deno.env.get("SLURM_JOB_ID") ?? "?";
  const fail = (status: number, message: string) => {
    console.error(`prep-deno: ${run.hook} ${modulePath} job ${jobId}: ${message}`);
    return status;
  };
  try {
    if (!Deno.statSync(modulePath).isFile) {
      return fail(EXIT.NOT_FOUND, "the module is not a file; check Prolog=/Epilog= in slurm.conf");
    }
  } catch {
    return fail(
      EXIT.NOT_FOUND,
      "the module does not exist or cannot be read; check Prolog=/Epilog= in slurm.conf",
    );
  }
  let policy: Policy;
  try {
    policy = loadPolicy(modulePath, run.hook, run.env ?? Deno.env.toObject());
  } catch (e) {
    if (e instanceof PolicyError) return fail(EXIT.SANDBOX, e.message);
    throw e;
  }
  const bwrap = findBwrap();
  if (!bwrap) {
    return fail(
      EXIT.SANDBOX,
      "bubblewrap (bwrap) is not installed; hooks never run without the kernel sandbox: apt-get install bubblewrap",
    );
  }
  const self = selfCommand();
  const setenv = sandboxRuntimeEnv(run.heapMb);
  const { hookRoot, permissions } = hookSandbox(modulePath, policy);
  const spec: HostSpec = {
    modulePath,
    hook: run.hook,
    permissions,
    configPath: policy.configPath,
    setName: policy.setName,
    // bwrap sets PWD whatever it is told: drop it unless the job had one.
    jobEnvFixups: jobValues(run, [...Object.keys(setenv), ...RUNTIME_TOUCHED_ENV]),
    listExports: run.listExports,
  };
  const args = [
    ...bwrapArgs({
      runtimePaths: self.runtimePaths,
      hookRoot,
      view: policy.view,
      setenv,
    }),
    "--",
    ...withDenoFlags(self.argv, remoteCodeFlags(policy.permissions)),
    "__host",
    JSON.stringify(spec),
  ];
  const child = new Deno.Command(bwrap, {
    args,
    stdin: "null",
    stdout: run.onStdout ? "piped" : "inherit",
    stderr: "piped",
    // Children of the hook start like a shell prolog's: a standard PATH
    // when the job has none (and no runtime shim on it).
    ...(run.env
      ? { clearEnv: true, env: { PATH: CHILD_PATH, ...run.env } }
      : Deno.env.get("PATH") === undefined
      ? { env: { PATH: CHILD_PATH } }
      : {}),
  }).spawn();

  let timedOut = false;
  const timer = run.timeoutSeconds
    ? setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, run.timeoutSeconds * 1000)
    : undefined;
  const [tail] = await Promise.all([
    forwardKeepingTail(child.stderr),
    run.onStdout ? drain(child.stdout, run.onStdout) : undefined,
  ]);
  const status = await child.status;
  clearTimeout(timer);

  if (timedOut) {
    return fail(EXIT.TIMEOUT, `timed out after ${run.timeoutSeconds} s; the hook was killed`);
  }
  if (/out of memory|heap limit/i.test(tail) && status.code !== 0) {
    return fail(
      EXIT.OUT_OF_MEMORY,
      `out of memory: the hook passed its heap limit of ${run.heapMb ?? DEFAULT_HEAP_MB} MiB` +
        " (raise it with --heap-mb, or PrEpParameters=heap_mb=N)",
    );
  }
  if (status.signal) return fail(EXIT.FAILED, `the hook process was killed by ${status.signal}`);
  if (/^bwrap: /m.test(tail) && status.code === 1) {
    return fail(EXIT.SANDBOX, "the kernel sandbox (bwrap) could not start; see its message above");
  }
  return status.code;
}

/**
 * Variables the runtime changes on the way into the sandbox: bwrap sets PWD;
 * Deno 2.9 gives a child without `node` on its PATH a node shim
 * (DENO_NODE_SHIM_ACTIVE, and its folder prepended to PATH).
 */
const RUNTIME_TOUCHED_ENV = ["PWD", "PATH", "DENO_NODE_SHIM_ACTIVE"];

/** The job's own value of each name (null: it had none), for the host to restore. */
function jobValues(run: HookRun, names: string[]): Record<string, string | null> {
  const env = run.env ?? readRawEnv();
  return Object.fromEntries(names.map((n) => [n, env[n] ?? null]));
}

/**
 * What a hook's sandbox is made of, for the spawn path and the warm hosts
 * alike: its hook root (what its own imports may reach: the policy's
 * folder, or the module file alone, never, say, all of /etc/slurm) and its
 * Workers' permissions (the policy's, plus `read` of the hook root: Deno
 * gates a Worker's import of local code behind `read`).
 */
export function hookSandbox(
  modulePath: string,
  policy: Policy,
): { hookRoot: string; permissions: Permissions } {
  const hookRoot = policy.hookRoot ?? (policy.configPath ? dirname(policy.configPath) : modulePath);
  const p = policy.permissions;
  // The runner's helpers (src/helpers, src/mod.ts) are importable by any hook.
  const permissions = p.read === true || p.all === true
    ? p
    : { ...p, read: [...(p.read ?? []), hookRoot, ...HELPER_MODULE_PATHS] };
  return { hookRoot, permissions };
}

/** Copies a stream to stderr as it comes, returning its last 16 KiB as text. */
async function forwardKeepingTail(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let tail = "";
  for await (const chunk of stream) {
    await writeAll(Deno.stderr, chunk);
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-16 * 1024);
  }
  return tail;
}

async function drain(stream: ReadableStream<Uint8Array>, sink: (c: Uint8Array) => void) {
  for await (const chunk of stream) sink(chunk);
}
