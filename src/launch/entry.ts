// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The in-sandbox entry of a spawned hook, bundled at build time into
 * build/entry.js (never transpiled per hook). It runs in the one Deno
 * process of the hook, under the policy's permission flags: it reads the job
 * from stdin (a memfd the launcher filled with the job's environment, so the
 * hook needs no `env` grant for its context and non-UTF-8 bytes stay intact
 * in the process environment), opens its status file and revokes its own
 * write permission to it, imports the module, calls the hook and ends with
 * one exit status and, on failure, one message.
 *
 * Arguments: MODULE_URL HOOK CONFIG_PATH SET_NAME VIEW_JSON [--list-exports]
 * (VIEW_JSON: the sandbox set's name and capabilities, for hints).
 *
 * @module
 */

import { parseEnvEntries } from "../bytes.ts";
import { buildJobContext } from "../context.ts";
import { denial, describeThrown, isExitStatus, showValue } from "../outcome.ts";
import { CAUSE_MARKER, causeLine, LAUNCHER } from "../contract.ts";
import { SANDBOX_RUNTIME_ENV } from "./constants.ts";
import { explainUnknownImport } from "../import_error.ts";
import { adminWording, capabilityHint } from "../capability_hints.ts";

const [moduleUrl, hook, configPath, setName, viewJson, mode] = Deno.args;
const where = { hook, configPath: configPath || undefined, setName: setName || undefined };
const view: { set?: string; capabilities?: string[] } = (() => {
  try {
    return JSON.parse(viewJson);
  } catch {
    return {};
  }
})();
const viewSource = {
  configPath: where.configPath,
  sandboxSet: view.set ?? hook,
  capabilities: view.capabilities ?? [],
};

/**
 * The message with Deno's wording in the policy's and, when one applies, a
 * capability hint (from the error's text, and a failed command's output).
 */
function forAdmin(message: string, thrown?: unknown): string {
  const result = (thrown as { result?: { stdout?: unknown; stderr?: unknown } })?.result;
  const output = typeof result?.stderr === "string" && typeof result?.stdout === "string"
    ? `\n${result.stderr}\n${result.stdout}`
    : "";
  const hint = capabilityHint(message + output, viewSource);
  return adminWording(message, where) + (hint ? `; ${hint}` : "");
}

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
/** Ends the process with `code`, recording that the hook ended by itself. */
function end(code: number): never {
  if (!ended) {
    ended = true;
    try {
      status?.writeSync(new TextEncoder().encode(`exit ${code}\n`));
    } catch { /* the exit code still says it */ }
  }
  realExit(code);
  throw new Error("unreachable: Deno.exit returned");
}

let label = `${hook} ${decodeURIComponent(new URL(moduleUrl).pathname)} job ?`;
/**
 * Fails the hook: the runner's message, then the cause line (the plugin's
 * drain reason), last, after everything the hook wrote: `cause` is the
 * shortest answer to "why", `message` the whole sentence for the log.
 */
function fail(message: string, cause: string = message): never {
  console.error(`prep-deno: ${label}: ${message}`);
  recordCause(cause);
  end(1);
}

/**
 * Hands the cause to the launcher through the status file: it prints the
 * cause line once every process of the hook is gone, so nothing the hook
 * left running can print after it. Without a status file, printed here.
 */
function recordCause(cause: string): void {
  const line = causeLine(cause);
  try {
    if (status) {
      status.writeSync(new TextEncoder().encode(`cause ${line.slice(CAUSE_MARKER.length)}\n`));
      return;
    }
  } catch { /* printed below instead */ }
  console.error(line);
}

function describeError(e: unknown): string {
  const d = describeThrown(e);
  if (isDenial(d.errorName, d.message)) return denial(d.message, where);
  return `${d.errorName}: ${d.message}`;
}

/** The cause of a thrown value: its message alone ("gpu 1 lost"), or the denial. */
function causeOf(e: unknown): string {
  const d = describeThrown(e);
  if (isDenial(d.errorName, d.message)) return denial(d.message, where);
  return d.message.trim() === "" ? d.errorName : d.message;
}

function isDenial(errorName: string, message: string): boolean {
  return errorName === "NotCapable" || /run again with the --allow-\w+ flag/.test(message);
}

// Deno.exit(n) in the hook is exit status n, recorded as an ending.
Object.defineProperty(Deno, "exit", {
  value: (code?: number) => {
    const c = code ?? Deno.exitCode;
    if (!isExitStatus(c)) fail(`called Deno.exit(${String(code)}), which is not an exit status`);
    end(c);
  },
});
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  fail(
    `a promise was rejected and nothing handled it: ${forAdmin(describeError(e.reason), e.reason)}`,
    causeOf(e.reason),
  );
});
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  fail(
    `uncaught error: ${forAdmin(describeError(e.error ?? e.message), e.error)}`,
    causeOf(e.error ?? e.message),
  );
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
  label = `${hook} ${decodeURIComponent(new URL(moduleUrl).pathname)} job ${
    env.SLURM_JOB_ID ?? "?"
  }`;
  let mod: Record<string, unknown>;
  try {
    mod = await import(moduleUrl);
  } catch (e) {
    const d = describeThrown(e);
    fail(
      `cannot load the module: ${
        /run again with the --allow-\w+ flag/.test(d.message)
          ? denial(d.message, where)
          : explainUnknownImport(d.message, where.configPath) ?? d.message
      }`,
    );
  }
  if (mode === "--list-exports") {
    console.log(JSON.stringify(Object.keys(mod)));
    end(0);
  }
  const fn = typeof mod[hook] === "function" ? mod[hook] : mod.default;
  if (typeof fn !== "function") {
    fail(
      `the module has no export "${hook}" and no default export` +
        ` (it exports: ${
          Object.keys(mod).join(", ") || "nothing"
        }); export a function named "${hook}"`,
    );
  }
  let value: unknown;
  try {
    value = await (fn as (job: unknown) => unknown)(buildJobContext(env));
  } catch (e) {
    const d = describeThrown(e);
    fail(
      d.errorName === "NotCapable"
        ? denial(d.message, where)
        : `threw ${forAdmin(describeError(e), e)}`,
      causeOf(e),
    );
  }
  // One turn of the event loop: a rejection the hook left floating is
  // reported (and fails the hook) before success is. A message, not a
  // timer: Deno's first timer costs ~15 ms of start-up.
  await new Promise((r) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => (channel.port1.close(), r(undefined));
    channel.port2.postMessage(0);
  });
  if (value === undefined) {
    const code = Deno.exitCode;
    if (!isExitStatus(code)) {
      fail(`set Deno.exitCode to ${String(code)}, which is not an exit status`);
    }
    end(code);
  }
  if (!isExitStatus(value)) {
    fail(
      `returned ${
        showValue(value)
      }, which is not an exit status (return nothing or an integer 0-255)`,
    );
  }
  end(value);
}

// No top-level await: a hook whose promise can never settle (nothing left
// to run) lets the event loop drain, and this says so instead of Deno's
// "Top-level await promise never resolved".
globalThis.addEventListener("unload", () => {
  if (!ended) {
    console.error(
      `prep-deno: ${label}: the hook's promise never settled and nothing was left to settle it (a missing resolve() or an awaited event that cannot come)`,
    );
    recordCause("the hook's promise never settled");
    Deno.exitCode = 1;
    ended = true;
    status?.writeSync(new TextEncoder().encode("exit 1\n"));
  }
});
main();
