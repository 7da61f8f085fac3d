// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Worker entry: loads the admin's module with only the permissions the
 * policy grants, calls the hook once and reports the outcome once. Must be
 * given to `deno compile --include`, as workers are not found by analysis.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { buildJobContext } from "./context.ts";
import { describeThrown, isExitStatus, type WorkerReport, type WorkerRequest } from "./outcome.ts";

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

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const { moduleUrl, hook, env, listExports } = e.data;
  let mod: Record<string, unknown>;
  try {
    const job = buildJobContext(env);
    try {
      mod = await import(moduleUrl);
    } catch (err) {
      report({ kind: "load-failed", message: describeThrown(err).message });
      return;
    }
    if (listExports) {
      report({ kind: "exports", names: Object.keys(mod) });
      return;
    }
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

function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  return `a value of type ${typeof v}`;
}
