// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Worker entry of the warm hosts: loads the admin's module with only the
 * permissions the policy grants, calls the hook once and reports the
 * outcome once. (A spawned hook runs src/launch/entry.ts in its own
 * process instead.)
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { buildJobContext } from "./context.ts";
import {
  describeThrown,
  isExitStatus,
  showValue,
  type WorkerReport,
  type WorkerRequest,
} from "./outcome.ts";

let reported = false;
function report(r: WorkerReport): void {
  if (reported) return;
  reported = true;
  self.postMessage(r);
}

// Deno.exit() inside a worker only closes the worker, silently; make it a
// result instead, so `Deno.exit(3)` in a hook means exit status 3.
function exitAsResult(code?: number): never {
  const status = code ?? 0;
  report(
    isExitStatus(status)
      ? { kind: "exited", status }
      : { kind: "bad-return", value: `Deno.exit(${String(code)})` },
  );
  self.close();
  throw new Error("hook called Deno.exit");
}
Object.defineProperty(Deno, "exit", { value: exitAsResult });

let loaded: Record<string, unknown> | undefined;

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const { moduleUrl, hook, env, preload, captureOutput } = e.data;
  try {
    if (moduleUrl) {
      try {
        loaded = await import(moduleUrl);
      } catch (err) {
        report({ kind: "load-failed", message: describeThrown(err).message });
        return;
      }
    }
    if (preload) {
      self.postMessage({ kind: "ready" });
      return;
    }
    const mod = loaded ?? {};
    const job = buildJobContext(env);
    if (captureOutput) captureIntoMessages(env);
    const fn = typeof mod[hook] === "function" ? mod[hook] : mod.default;
    if (typeof fn !== "function") {
      report({ kind: "no-export", exports: Object.keys(mod) });
      return;
    }
    const value = await (fn as (j: unknown) => unknown)(job);
    if (value === undefined) report({ kind: "returned", status: 0 });
    else if (isExitStatus(value)) report({ kind: "returned", status: value });
    else report({ kind: "bad-return", value: showValue(value) });
  } catch (err) {
    report({ kind: "threw", ...describeThrown(err) });
  }
};

/**
 * Warm path: a warm host's stdout is shared by its workers, so the hook's
 * output goes back as messages; and Deno.env answers from the job's
 * environment (Deno still checks the permission first), as in the spawn
 * path where the job's environment is the process's.
 */
function captureIntoMessages(jobEnv: Record<string, string>): void {
  const encoder = new TextEncoder();
  const post = (data: Uint8Array) => self.postMessage({ kind: "output", data });
  const line = (args: unknown[]) =>
    encoder.encode(args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" ") + "\n");
  for (const m of ["log", "info", "debug", "warn", "error", "trace"] as const) {
    console[m] = (...args: unknown[]) => post(line(args));
  }
  for (const stream of [Deno.stdout, Deno.stderr]) {
    Object.defineProperty(stream, "write", {
      value: (p: Uint8Array) => (post(p.slice()), Promise.resolve(p.length)),
    });
    Object.defineProperty(stream, "writeSync", {
      value: (p: Uint8Array) => (post(p.slice()), p.length),
    });
  }
  const env = { ...jobEnv };
  const real = Deno.env;
  Object.defineProperty(Deno, "env", {
    value: {
      get: (k: string) => (real.get(k), env[k]),
      has: (k: string) => (real.get(k), k in env),
      toObject: () => (real.toObject(), { ...env }),
      set: (k: string, v: string) => (real.get(k), env[k] = v, undefined),
      delete: (k: string) => (real.get(k), delete env[k], undefined),
    },
  });
}
