// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Unit tests for hooks: a fake job for each hook, and a hook called
 * in-process with it, under `deno test`. The fake job is the one
 * `prep-deno try` runs a hook with (same builder, same variables and
 * values), so a test and a `try` see the same job.
 *
 * What this does not do is the sandbox: a hook called here runs with the
 * test's permissions. Run `prep-deno try` for the hook under its policy.
 *
 * @example
 * ```ts
 * // prolog_test.ts, beside prolog.ts; `deno test` runs it
 * import assert from "node:assert/strict";
 * import type { JobContext } from "prep-deno";
 * import { callHook } from "prep-deno/testing";
 *
 * // In a real test: import * as hooks from "./prolog.ts";
 * const hooks = {
 *   prolog: (job: JobContext) => job.partition === "debug" && job.hostnames.length > 64 ? 1 : 0,
 * };
 *
 * Deno.test("the prolog refuses debug jobs on more than 64 nodes", async () => {
 *   const r = await callHook(hooks, "prolog", {
 *     env: { SLURM_JOB_PARTITION: "debug", SLURM_NODELIST: "n[1-65]" },
 *   });
 *   assert.equal(r.status, 1);
 * });
 * ```
 *
 * @module
 */

import { buildJobContext } from "./job/context.ts";
import {
  callHook as callHook_,
  HookExit,
  hookExport,
  jobEnv,
  noExport,
} from "./outcome/hook_call.ts";
import { causeOf, type OutcomeKind } from "./outcome/outcome_record.ts";
import { fakeJobEnv as slurmFakeEnv, HOOK_FOR_CONTEXT, isScriptContext } from "./job/slurm_vars.ts";
import type { Hook, HookModule, HookName, HookResult, JobContext, ScriptContext } from "./types.ts";

export type { Hook, HookModule, HookName, HookResult, JobContext, ScriptContext };

/**
 * The fake job's identity and any variables to set. Every field is
 * optional: the default job is job 1 of `root` (uid 0, gid 0, group
 * `root`) on `localhost`. A `user` other than root without ids gets uid and
 * gid 1000 and a group of its own name, as Debian's `adduser` makes them
 * (`prep-deno try --user` looks the real ones up instead).
 *
 * @example
 * ```ts
 * const opts: FakeJobOptions = { id: 42, user: "alice", env: { SLURM_JOB_PARTITION: "gpu" } };
 * ```
 */
export interface FakeJobOptions {
  /** `SLURM_JOB_ID` (and `SLURM_JOBID`). Default 1. */
  id?: number;
  /** `SLURM_JOB_USER`. Default `root`. */
  user?: string;
  /** `SLURM_JOB_UID` (and `SLURM_UID` on the slurmd side). */
  uid?: number;
  /** `SLURM_JOB_GID`. */
  gid?: number;
  /** `SLURM_JOB_GROUP` (slurmctld contexts): the name of `gid`. */
  group?: string;
  /** The node: `SLURMD_NODENAME` and the node list. Default `localhost`. */
  node?: string;
  /** Variables to set or replace, after the fake ones (`SLURM_JOB_PARTITION`, GRES...). */
  env?: Record<string, string>;
}

/**
 * The context of a hook name, or the context itself.
 *
 * @example
 * ```ts
 * contextOf("epilogSlurmctld"); // "epilog_slurmctld"
 * contextOf("prolog_slurmd"); // "prolog_slurmd"
 * ```
 * @throws {TypeError} when `hook` is neither.
 */
export function contextOf(hook: HookName | ScriptContext): ScriptContext {
  if (isScriptContext(hook)) return hook;
  for (const [context, name] of Object.entries(HOOK_FOR_CONTEXT)) {
    if (name === hook) return context as ScriptContext;
  }
  throw new TypeError(
    `"${hook}" is not a hook (prolog, epilog, prologSlurmctld, epilogSlurmctld) nor a context`,
  );
}

/**
 * The environment Slurm would give `hook` for the fake job: every variable
 * prep/script always sets in that context, with realistic values, then
 * `opts.env`. This is the one builder `prep-deno try` uses too.
 *
 * @example
 * ```ts
 * const env = fakeJobEnv("epilog", { id: 7, env: { SLURM_JOB_EXIT_CODE2: "1:0" } });
 * env.SLURM_SCRIPT_CONTEXT; // "epilog_slurmd"
 * env.SLURM_JOB_ID; // "7"
 * ```
 * @throws {TypeError} when `opts` has an id, uid or gid that is not a non-negative integer.
 */
export function fakeJobEnv(
  hook: HookName | ScriptContext,
  opts: FakeJobOptions = {},
): Record<string, string> {
  const user = opts.user ?? "root";
  const ownIds = user === "root" ? 0 : 1000;
  const uid = opts.uid ?? ownIds;
  const gid = opts.gid ?? (opts.uid !== undefined && user !== "root" ? opts.uid : ownIds);
  for (const [name, v] of [["id", opts.id ?? 1], ["uid", uid], ["gid", gid]] as const) {
    if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) {
      throw new TypeError(`fake job: ${name} must be an integer from 0 to 4294967295, not ${v}`);
    }
  }
  const group = opts.group ?? (gid === 0 ? "root" : user);
  return slurmFakeEnv(
    contextOf(hook),
    { id: opts.id ?? 1, user, uid, gid, group, node: opts.node ?? "localhost" },
    opts.env ?? {},
  );
}

/**
 * The job context a hook gets for the fake job: {@linkcode fakeJobEnv}
 * turned into a {@linkcode JobContext} exactly as the runner does.
 *
 * @example
 * ```ts
 * const job = fakeJob("prologSlurmctld", { user: "alice" });
 * job.group; // "alice"
 * job.hostnames; // ["localhost"]
 * ```
 */
export function fakeJob(hook: HookName | ScriptContext, opts: FakeJobOptions = {}): JobContext {
  return buildJobContext(fakeJobEnv(hook, opts));
}

/** How an in-process hook call ended; `status` is the exit status the runner would give. */
export interface HookCall {
  /** 0-255, as the runner's: the returned status, 0 for nothing, 1 for a throw or bad value. */
  status: number;
  /** How it ended, as the runner's outcome record says (`returned`, `threw`, `bad-value`...). */
  kind: OutcomeKind;
  /** The job the hook was called with. */
  job: JobContext;
  /** What the hook threw, if it threw. */
  error?: unknown;
  /** Why the status is a failure the hook did not return itself, in the runner's words. */
  reason?: string;
  /** The node's drain reason the runner would give, after `<hook> <file>: `. */
  cause?: string;
}

/**
 * Calls the hook of `module` that serves `hook` (its named export, else
 * its default export) with a fake job, in this process, and gives the
 * status the runner would exit with, judged by the runner's own hook call
 * (src/outcome/hook_call.ts). As under the runner, `Deno.env` answers from the
 * job's environment (Deno's permission check first), and `Deno.exit(n)` in
 * the hook becomes status `n` instead of ending the test.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { callHook } from "./testing.ts";
 * // In a real test: import * as hooks from "./site.ts";
 * const hooks = {
 *   epilog: () => {
 *     throw new Error("gpu 1 lost");
 *   },
 * };
 * const r = await callHook(hooks, "epilog", { env: { SLURM_JOB_EXIT_CODE2: "137:9" } });
 * assert.equal(r.status, 1);
 * assert.equal(r.cause, "gpu 1 lost"); // the node's reason
 * ```
 * @throws {TypeError} when the module has no export that serves `hook`.
 */
export async function callHook(
  module: HookModule | Record<string, unknown>,
  hook: HookName | ScriptContext,
  opts: FakeJobOptions & { job?: JobContext } = {},
): Promise<HookCall> {
  const job = opts.job ?? fakeJob(hook, opts);
  const mod = module as Record<string, unknown>;
  if (!hookExport(mod, job.hook)) throw new TypeError(noExport(Object.keys(mod), job.hook).message);
  const realExit = Deno.exit;
  const realEnv = Deno.env;
  const set = (name: "exit" | "env", value: unknown) =>
    Object.defineProperty(Deno, name, { configurable: true, writable: true, value });
  set("exit", (code?: number): never => {
    throw new HookExit(code ?? 0);
  });
  set("env", jobEnv(() => env, realEnv));
  const env: Record<string, string> = { ...job.env };
  try {
    const o = await callHook_(mod, job.hook, job, { hook: job.hook });
    return {
      status: o.status,
      kind: o.kind,
      job,
      ...(o.error !== undefined ? { error: o.error } : {}),
      ...(o.message !== undefined
        ? { reason: o.message, cause: causeOf(o.cause ?? o.message) }
        : {}),
    };
  } finally {
    set("exit", realExit);
    set("env", realEnv);
  }
}
