// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The Worker of a warm host: imports the admin's module with the policy's
 * permissions and calls it per job. It talks to its host only through a
 * MessagePort it keeps out of the hook's reach (a hook posting messages on
 * its global scope is not heard), and removes the web APIs through which
 * Workers of one process could share state (Cache API, BroadcastChannel,
 * Web Storage) before the module is imported.
 *
 * Messages on the port: in `{ kind: "import", moduleUrl, from }`, then per job
 * `{ kind: "job", hook, env }` and `{ kind: "ping" }`; out `ready`, the
 * hook's `output`, one outcome per job (src/outcome/hook_call.ts, the spawn
 * entry's), `pong`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { buildJobContext } from "../job/context.ts";
import { callHook, type CallOutcome, jobEnv, judgeExit, judgeLoad } from "../outcome/hook_call.ts";
import type { CallSource } from "../outcome/hook_call.ts";
import { guardChildEnv } from "../sandbox/child_env.ts";

let port: MessagePort | undefined;
let loaded: Record<string, unknown> | undefined;
let job: { env: Record<string, string>; reported: boolean } | undefined;
let nested = false;
let from: CallSource = { hook: "?" };

// Globals that would carry state between Workers of one host (or, with a
// shared DENO_DIR, between jobs). Removed before any hook code runs.
for (const name of ["caches", "BroadcastChannel", "localStorage", "sessionStorage", "indexedDB"]) {
  try {
    delete (globalThis as Record<string, unknown>)[name];
  } catch { /* not configurable: absent in this runtime */ }
}

// A nested Worker's thread cannot be stopped short of killing the process:
// the host retires after a job that started one.
const RealWorker = Worker;
Object.defineProperty(globalThis, "Worker", {
  value: new Proxy(RealWorker, {
    construct(target, args) {
      nested = true;
      return Reflect.construct(target, args);
    },
  }),
});

function report(outcome: CallOutcome, to = job, closed = false): void {
  if (!to || to.reported || to !== job) return;
  to.reported = true;
  port?.postMessage({ kind: "outcome", outcome, nested, closed });
}

// Deno.exit() inside a worker closes it silently; make it the job's status.
Object.defineProperty(Deno, "exit", {
  value: (code?: number): never => {
    report(judgeExit(code ?? 0), job, true);
    self.close();
    throw new Error("hook called Deno.exit");
  },
});

// self.close() would end the isolate with no word to the host: a result.
const realClose = self.close.bind(self);
Object.defineProperty(globalThis, "close", {
  value: () => {
    const message = "the hook closed its worker (self.close()) instead of returning";
    report({ kind: "threw", status: 1, message, cause: message }, job, true);
    realClose();
  },
});

// Output goes to the current job; anything printed between jobs is dropped.
const encoder = new TextEncoder();
const post = (data: Uint8Array) => {
  if (job && !job.reported) port?.postMessage({ kind: "output", data });
};
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
// With `slurm: true` the sandbox's SLURM_CONF (bwrap set it to the daemon's
// slurm.conf, as for the spawn path's process; only then may this read it):
// Deno.env shows it, job.env does not, as in the spawn path.
const slurmConf = (() => {
  try {
    return Deno.env.get("SLURM_CONF");
  } catch {
    return undefined;
  }
})();
// Deno.env answers from the job's environment (Deno still checks the
// permission first), as in the spawn path where it is the process's.
Object.defineProperty(Deno, "env", { value: jobEnv(() => job?.env ?? {}, Deno.env) });
// Commands a job runs get no loader variable it did not get from the job:
// checked against the job's environment as it came, not as the hook left it.
let jobCame: Record<string, string> = {};
guardChildEnv(() => jobCame);

async function onPortMessage(e: MessageEvent) {
  const msg = e.data;
  if (msg.kind === "ping") return port!.postMessage({ kind: "pong" });
  if (msg.kind === "import") {
    from = msg.from;
    try {
      loaded = await import(msg.moduleUrl);
      port!.postMessage({ kind: "ready" });
    } catch (err) {
      port!.postMessage({ kind: "outcome", outcome: judgeLoad(err, from) });
    }
    return;
  }
  jobCame = { ...msg.env };
  const current = job = {
    env: { ...msg.env, ...(slurmConf ? { SLURM_CONF: slurmConf } : {}) },
    reported: false,
  };
  const outcome = await callHook(loaded ?? {}, msg.hook, buildJobContext({ ...msg.env }), from);
  delete outcome.error;
  report(outcome, current);
}

// The first message carries the port; the global channel is then deaf.
self.onmessage = (e: MessageEvent) => {
  if (port || !e.ports[0]) return;
  port = e.ports[0];
  self.onmessage = null;
  port.onmessage = onPortMessage;
};
