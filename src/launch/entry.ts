// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The in-sandbox entry of a spawned hook, bundled at build time into
 * build/entry.js (never transpiled per hook). It runs in the one Deno
 * process of the hook, under the policy's permission flags: it reads the job
 * from stdin (a memfd the launcher filled with the job's environment, so the
 * hook needs no `env` grant for its context and non-UTF-8 bytes stay intact
 * in the process environment), opens its status file and revokes its own
 * write permission to it, imports the module, calls the hook and ends with
 * one exit status and one outcome record (src/outcome/outcome_record.ts), written
 * to the status file: it never prints the runner's message itself, so
 * nothing in the hook's output can pass for it.
 *
 * Arguments: MODULE_URL HOOK CONFIG_PATH SET_NAME VIEW_JSON [--list-exports]
 * (VIEW_JSON: the sandbox set's name and capabilities, for hints).
 *
 * @module
 */

import { parseEnvEntries } from "../bytes.ts";
import { buildJobContext } from "../job/context.ts";
import { causeLine, LAUNCHER } from "../contract.ts";
import {
  formatOutcome,
  type HookOutcome,
  type OutcomePlace,
  outcomeText,
} from "../outcome/outcome_record.ts";
import { SANDBOX_RUNTIME_ENV } from "./constants.ts";
import { guardChildEnv } from "../sandbox/child_env.ts";
import { adminWording } from "../outcome/capability_hints.ts";
import {
  callHook,
  type CallOutcome,
  type CallSource,
  judgeExit,
  judgeLoad,
  judgeThrown,
  judgeValue,
} from "../outcome/hook_call.ts";

const [moduleUrl, hook, configPath, setName, viewJson, mode] = Deno.args;
const where = {
  hook,
  configPath: configPath || undefined,
  setName: setName || undefined,
  // The policy's folder, else the module's (no node:path: the entry
  // imports nothing it does not need at start-up).
  root: (configPath ||
    (moduleUrl.startsWith("file:") ? decodeURIComponent(new URL(moduleUrl).pathname) : moduleUrl))
    .replace(/\/[^/]*$/, ""),
};
const view: { set?: string; capabilities?: string[] } = (() => {
  try {
    return JSON.parse(viewJson);
  } catch {
    return {};
  }
})();
/** Where the permissions came from, and the view, for messages and capability hints. */
const from: CallSource = {
  ...where,
  view: {
    configPath: where.configPath,
    sandboxSet: view.set ?? hook,
    capabilities: view.capabilities ?? [],
  },
};

// Whatever the hook prints, Deno's "--allow-..." wording becomes the policy's.
for (const method of ["log", "error", "warn", "info", "debug"] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) =>
    original(
      ...args.map((a) =>
        typeof a === "string"
          ? adminWording(a, where)
          : a instanceof Error && /--allow-\w+/.test(a.message)
          ? `${a.name}: ${adminWording(a.message, where)}`
          : a
      ),
    );
}
const realExit = Deno.exit;

let status: Deno.FsFile | undefined;
try {
  status = Deno.openSync(LAUNCHER.STATUS_PATH, { write: true, truncate: true });
  status.writeSync(new TextEncoder().encode("started\n"));
  Deno.permissions.revokeSync({ name: "write", path: LAUNCHER.STATUS_PATH });
} catch { /* no status file: the launcher then reads the exit code alone */ }

// The runtime's own variables were read at start-up; commands the hook runs
// must not inherit them (the plan granted `env` of exactly these names).
for (const name of Object.keys(SANDBOX_RUNTIME_ENV)) {
  try {
    Deno.env.delete(name);
    Deno.permissions.revokeSync({ name: "env", variable: name });
  } catch { /* the hook has env: true; deleted all the same */ }
}

let ended = false;
const place: OutcomePlace = {
  hook,
  module: decodeURIComponent(new URL(moduleUrl).pathname),
  job: "?",
};

/**
 * Records the outcome (src/outcome/outcome_record.ts) once: through the status
 * file to the launcher, which sends it on to the plugin out of the hook's
 * output once every process of the hook is gone. Without a status file
 * (a terminal), the message and the cause line are printed here.
 */
function record(o: Omit<HookOutcome, "place">): void {
  if (ended) return;
  ended = true;
  const full: HookOutcome = { ...o, place };
  try {
    if (status) {
      status.writeSync(new TextEncoder().encode(formatOutcome(full)));
      return;
    }
  } catch { /* printed below instead */ }
  const text = outcomeText(full);
  if (text) console.error(text);
  if (full.cause !== undefined) console.error(causeLine(full.cause));
}

/** Ends the process with `code`, recording that the hook ended by itself. */
function end(code: number): never {
  record({ kind: "returned", status: code });
  realExit(code);
  throw new Error("unreachable: Deno.exit returned");
}

/** Ends the process with the outcome of the hook call (src/outcome/hook_call.ts). */
function finish(o: CallOutcome): never {
  record(o);
  realExit(o.status);
  throw new Error("unreachable: Deno.exit returned");
}

// Deno.exit(n) in the hook is exit status n, recorded as an ending.
Object.defineProperty(Deno, "exit", {
  value: (code?: number) => finish(judgeExit(code ?? Deno.exitCode)),
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  finish(judgeThrown(e.reason, from, "unhandled"));
});
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  finish(judgeThrown(e.error ?? e.message, from, "uncaught"));
});

/** All of stdin (the job's environment), read synchronously: a stream costs ~7 ms here. */
function readStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const buf = new Uint8Array(65536);
    const got = Deno.stdin.readSync(buf);
    if (got === null || got === 0) break;
    chunks.push(buf.subarray(0, got));
    n += got;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) out.set(c, off), off += c.length;
  return out;
}

/** The hook's run; ends the process itself on every path but a stall. */
async function main(): Promise<void> {
  const env = parseEnvEntries(readStdin());
  place.job = env.SLURM_JOB_ID ?? "?";
  // Commands the hook runs get no loader variable it did not get from the job.
  guardChildEnv(() => env);
  let mod: Record<string, unknown>;
  try {
    mod = await import(moduleUrl);
  } catch (e) {
    finish(judgeLoad(e, from, moduleUrl));
  }
  if (mode === "--list-exports") {
    console.log(JSON.stringify(Object.keys(mod)));
    end(0);
  }
  finish(
    await callHook(mod, hook, buildJobContext(env), from, async (value) => {
      // One turn of the event loop: a rejection the hook left floating is
      // reported (and fails the hook) before success is. A message, not a
      // timer: Deno's first timer costs ~15 ms of start-up.
      await new Promise((r) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => (channel.port1.close(), r(undefined));
        channel.port2.postMessage(0);
      });
      return value === undefined ? judgeValue(Deno.exitCode, "exitCode") : judgeValue(value);
    }),
  );
}

// No top-level await: a hook whose promise can never settle (nothing left
// to run) lets the event loop drain, and this says so instead of Deno's
// "Top-level await promise never resolved".
globalThis.addEventListener("unload", () => {
  if (!ended) {
    record({
      kind: "stalled",
      status: 1,
      message:
        "the hook's promise never settled and nothing was left to settle it (a missing resolve() or an awaited event that cannot come)",
      cause: "the hook's promise never settled",
    });
    Deno.exitCode = 1;
  }
});
main();
