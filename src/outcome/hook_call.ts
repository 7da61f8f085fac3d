// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Calling a hook and judging how it ended, once, for the three places that
 * call one: the spawn entry (src/launch/entry.ts), the warm Worker
 * (src/warm/job_worker.ts) and `prep-deno/testing`. Each gets the same
 * export lookup, the same `Deno.env` as the job's environment, and the same
 * outcome (src/outcome/outcome_record.ts) in the same words: a status the hook
 * returned, a value that is not one, a throw (a denied permission as the
 * policy fix), a missing export, a module that does not load.
 *
 * @example
 * ```ts
 * import { callHook } from "./hook_call.ts";
 * import { buildJobContext } from "../job/context.ts";
 * import { fakeJobEnv } from "../job/slurm_vars.ts";
 * const env = fakeJobEnv("prolog_slurmd", { id: 1 }, {});
 * const o = await callHook({ prolog: () => 3 }, "prolog", buildJobContext(env), { hook: "prolog" });
 * o.kind; // "returned"
 * o.status; // 3
 * ```
 *
 * @module
 */

import type { HookOutcome } from "./outcome_record.ts";
import { denial, describeThrown, isExitStatus, type PolicySource, showValue } from "./outcome.ts";
import { explainLoneImport, explainUnknownImport } from "./import_error.ts";
import { errorPlace } from "./error_place.ts";
import { adminWording, capabilityHint, type ViewSource } from "./capability_hints.ts";
import type { JobContext } from "../types.ts";

/** An outcome before the runner puts its place on it. */
export type CallOutcome = Omit<HookOutcome, "place">;

/**
 * Where the hook's permissions came from, and, for capability hints, its
 * sandbox set and the capabilities it keeps.
 *
 * @example
 * ```ts
 * const from: CallSource = { hook: "prolog", configPath: "/etc/slurm/hooks/deno.json",
 *   view: { sandboxSet: "prolog", capabilities: [] } };
 * ```
 */
export interface CallSource extends PolicySource {
  /** The sandbox set and its capabilities; no hints without it. */
  view?: ViewSource;
}

/**
 * The function of `mod` that serves `hook`: its named export, else its
 * default export; `undefined` when neither is a function.
 *
 * @example
 * ```ts
 * hookExport({ default: () => 0 }, "epilog") !== undefined; // true
 * ```
 */
export function hookExport(
  mod: Record<string, unknown>,
  hook: string,
): ((job: JobContext) => unknown) | undefined {
  const fn = typeof mod[hook] === "function" ? mod[hook] : mod.default;
  return typeof fn === "function" ? fn as (job: JobContext) => unknown : undefined;
}

/**
 * The outcome of a module without the hook's export.
 *
 * @example
 * ```ts
 * noExport(["epilog"], "prolog").message;
 * // 'the module has no export "prolog" and no default export (it exports: epilog); export a function named "prolog"'
 * ```
 */
export function noExport(exports: string[], hook: string): CallOutcome {
  const message = `the module has no export "${hook}" and no default export (it exports: ${
    exports.join(", ") || "nothing"
  }); export a function named "${hook}"`;
  return { kind: "no-export", status: 1, message, cause: message };
}

/**
 * The outcome of a value the hook returned (or left in `Deno.exitCode`:
 * `where` says which, for the message).
 *
 * @example
 * ```ts
 * judgeValue(undefined).status; // 0
 * judgeValue("ok").kind; // "bad-value"
 * ```
 */
export function judgeValue(
  value: unknown,
  where: "returned" | "exitCode" = "returned",
): CallOutcome {
  if (value === undefined) return { kind: "returned", status: 0 };
  if (isExitStatus(value)) return { kind: "returned", status: value };
  const message = where === "exitCode"
    ? `set Deno.exitCode to ${String(value)}, which is not an exit status`
    : `returned ${
      showValue(value)
    }, which is not an exit status (return nothing or an integer 0-255)`;
  return { kind: "bad-value", status: 1, message, cause: message };
}

/**
 * The outcome of `Deno.exit(code)` in the hook.
 *
 * @example
 * ```ts
 * judgeExit(4).status; // 4
 * judgeExit(300).kind; // "bad-value"
 * ```
 */
export function judgeExit(code: unknown): CallOutcome {
  if (isExitStatus(code)) return { kind: "returned", status: code };
  const message = `called Deno.exit(${String(code)}), which is not an exit status`;
  return { kind: "bad-value", status: 1, message, cause: message };
}

/** Whether a thrown value is Deno's permission denial. */
function isDenial(errorName: string, message: string): boolean {
  return errorName === "NotCapable" || /run again with the --allow-\w+ flag/.test(message);
}

/**
 * A failure's text for the admin: Deno's "--allow-..." wording in the
 * policy's, and a capability hint when one applies (from the text, and a
 * failed command's output the error carries).
 */
function forAdmin(text: string, thrown: unknown, from: CallSource): string {
  const result = (thrown as { result?: { stdout?: unknown; stderr?: unknown } })?.result;
  const output = typeof result?.stderr === "string" && typeof result?.stdout === "string"
    ? `\n${result.stderr}\n${result.stdout}`
    : "";
  const hint = from.view ? capabilityHint(text + output, from.view) : undefined;
  return adminWording(text, from) + (hint ? `; ${hint}` : "");
}

/**
 * The outcome of a throw: `how` says where it came from (`threw`, an
 * uncaught error, a rejection nothing handled). The cause is the error's
 * message alone ("gpu 1 lost"), or the policy fix for a denial.
 *
 * @example
 * ```ts
 * judgeThrown(new Error("gpu 1 lost"), { hook: "prolog" }).cause; // "gpu 1 lost"
 * // With the hook's root, the first frame inside it is the place:
 * const e = new Error("gpu 1 lost");
 * e.stack = "Error: gpu 1 lost\n    at default (file:///etc/slurm/hooks/site.ts:3:9)";
 * judgeThrown(e, { hook: "prolog", root: "/etc/slurm/hooks" }).cause; // "gpu 1 lost at site.ts:3"
 * ```
 */
export function judgeThrown(
  e: unknown,
  from: CallSource,
  how: "threw" | "uncaught" | "unhandled" = "threw",
): CallOutcome {
  const d = describeThrown(e);
  const denied = isDenial(d.errorName, d.message) ? denial(d.message, from) : undefined;
  const described = forAdmin(denied ?? `${d.errorName}: ${d.message}`, e, from);
  const message = how === "uncaught"
    ? `uncaught error: ${described}`
    : how === "unhandled"
    ? `a promise was rejected and nothing handled it: ${described}`
    : d.errorName === "NotCapable"
    ? denied!
    : `threw ${described}`;
  const cause = denied ?? (d.message.trim() === "" ? d.errorName : d.message);
  // Where in the admin's code: the first frame inside the hook's root.
  const place = from.root && e instanceof Error ? errorPlace(e.stack, from.root) : undefined;
  if (!place) return { kind: "threw", status: 1, message, cause };
  const first = cause.split("\n")[0];
  return {
    kind: "threw",
    status: 1,
    message: `${message} (at ${place})`,
    cause: `${first} at ${place}`,
  };
}

/**
 * The outcome of a module that could not be imported.
 *
 * @example
 * ```ts
 * judgeLoad(new Error("boom"), { hook: "prolog" }).message; // "cannot load the module: boom"
 * ```
 */
export function judgeLoad(e: unknown, from: PolicySource, moduleUrl?: string): CallOutcome {
  const d = describeThrown(e);
  // A module that arrived without the files it imports (Slurm's configless mode).
  const lone = moduleUrl ? explainLoneImport(d.message, moduleUrl, from.configPath) : undefined;
  const message = `cannot load the module: ${
    lone ??
      (/run again with the --allow-\w+ flag/.test(d.message)
        ? denial(d.message, from)
        : explainUnknownImport(d.message, from.configPath) ?? d.message)
  }`;
  // The node's drain reason is short: the fix in a few words.
  const cause = lone
    ? "cannot load the module: it imports a file it arrived without: bundle it"
    : message;
  return { kind: "load-failed", status: 1, message, cause };
}

/**
 * `Deno.env` as a hook sees it under the runner: the job's environment
 * (`env()`, read at each call) is the process's. Deno's own permission
 * check on `real` comes first, so a hook without an `env` grant fails as it
 * would in the spawn path.
 *
 * @example
 * ```ts
 * const env = { SLURM_JOB_ID: "7" };
 * const shim = jobEnv(() => env, Deno.env);
 * // Object.defineProperty(Deno, "env", { value: shim });
 * ```
 */
export function jobEnv(env: () => Record<string, string>, real: Deno.Env): Deno.Env {
  return {
    get: (k: string) => (real.get(k), env()[k]),
    has: (k: string) => (real.get(k), k in env()),
    toObject: () => (real.toObject(), { ...env() }),
    set: (k: string, v: string) => {
      real.get(k);
      env()[k] = v;
    },
    delete: (k: string) => {
      real.get(k);
      delete env()[k];
    },
  };
}

/**
 * `Deno.exit(code)` inside a hook whose caller turns it into an outcome
 * instead of ending the process ({@linkcode callHook} catches it).
 *
 * @example
 * ```ts
 * // Object.defineProperty(Deno, "exit", { value: (c?: number) => { throw new HookExit(c ?? 0); } });
 * new HookExit(3).code; // 3
 * ```
 */
export class HookExit extends Error {
  /** Makes the exit of `code`. */
  constructor(readonly code: unknown) {
    super(`Deno.exit(${String(code)})`);
  }
}

/**
 * Calls the hook of `mod` that serves `hook` with `job` and judges how it
 * ended. A {@linkcode HookExit} thrown from the hook is its `Deno.exit`.
 * `onValue` lets the spawn entry first settle what the hook left floating.
 *
 * @example
 * ```ts
 * import { buildJobContext } from "../job/context.ts";
 * import { fakeJobEnv } from "../job/slurm_vars.ts";
 * const job = buildJobContext(fakeJobEnv("epilog_slurmd", { id: 2 }, {}));
 * const o = await callHook({}, "epilog", job, { hook: "epilog" });
 * o.kind; // "no-export"
 * ```
 */
export async function callHook(
  mod: Record<string, unknown>,
  hook: string,
  job: JobContext,
  from: CallSource,
  onValue: (value: unknown) => Promise<CallOutcome> | CallOutcome = judgeValue,
): Promise<CallOutcome & { error?: unknown }> {
  const fn = hookExport(mod, hook);
  if (!fn) return noExport(Object.keys(mod), hook);
  let value: unknown;
  try {
    value = await fn(job);
  } catch (e) {
    if (e instanceof HookExit) return judgeExit(e.code);
    return { ...judgeThrown(e, from), error: e };
  }
  return await onValue(value);
}
