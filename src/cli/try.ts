// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno try MODULE ...`: runs a hook by hand with a fake but complete
 * job environment, through the same supervisor and sandbox as `run`.
 *
 * @module
 */

import { fakeJobEnv, HOOK_FOR_CONTEXT, isScriptContext, SCRIPT_CONTEXTS } from "../slurm_vars.ts";
import { writeAll } from "../bytes.ts";
import { runHook } from "../supervise.ts";
import {
  integerFlag,
  MAX_TIMEOUT_SECONDS,
  moduleArg,
  numberFlag,
  parseCommand,
  UsageError,
} from "./args.ts";

/** `try --help`. */
export const TRY_HELP = `Usage: prep-deno try MODULE [options]

Runs MODULE as Slurm would, with a fake job, and prints a short report.
The hook runs in the same sandbox, with the same policy, as under slurmd.

  --context CTX      ${SCRIPT_CONTEXTS.join(" | ")} (default prolog_slurmd)
  --job-id N         the job id (default 1)
  --user NAME        the job's user (default root); uid and gid from /etc/passwd
  --timeout SECONDS  stop the hook after this long
  --heap-mb MIB      the hook's heap limit (default 512)
  --memory-mb MIB    the whole hook's memory limit (default: heap + 512)
  --env KEY=VALUE    set or override one variable (repeatable)
  --env-file FILE    read KEY=VALUE lines (# comments, blank lines ignored)
  --plugin SO        go through the real plugin code (build/prep_deno.so): Prolog and
                     Epilog through prep_p_prolog/prep_p_epilog as slurmd calls them,
                     the slurmctld hooks through the plugin's C core; the report then
                     gives the status the daemon would see, and slurmd's log lines
`;

/** Parses `KEY=VALUE` lines; names the file and line of a bad one. */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new UsageError(`try: ${file}:${i + 1}: expected KEY=VALUE, got "${line}"`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  });
  return env;
}

/** The uid and gid of `user` from /etc/passwd, if it is there. */
function lookupUser(user: string): { uid: number; gid: number } | undefined {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const f = line.split(":");
      if (f[0] === user) return { uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch { /* no passwd: keep defaults */ }
  return undefined;
}

/** Runs `try`; resolves to the hook's exit status. */
export async function tryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("try", args, {
    context: { type: "string" },
    "job-id": { type: "string" },
    user: { type: "string" },
    timeout: { type: "string" },
    "heap-mb": { type: "string" },
    "memory-mb": { type: "string" },
    env: { type: "string", multiple: true },
    "env-file": { type: "string" },
    plugin: { type: "string" },
  });
  if (values.help) {
    console.log(TRY_HELP);
    return 0;
  }
  const modulePath = moduleArg("try", positionals);
  const context = (values.context as string | undefined) ?? "prolog_slurmd";
  if (!isScriptContext(context)) {
    throw new UsageError(
      `try: --context must be one of ${SCRIPT_CONTEXTS.join(", ")}, not "${context}"`,
    );
  }
  const id = integerFlag("try", "job-id", values["job-id"] as string | undefined, 1, 4294967294) ??
    1;
  const user = (values.user as string | undefined) ?? "root";
  const ids = lookupUser(user) ?? { uid: 0, gid: 0 };
  let overrides: Record<string, string> = {};
  const envFile = values["env-file"] as string | undefined;
  if (envFile) {
    let text: string;
    try {
      text = Deno.readTextFileSync(envFile);
    } catch (e) {
      throw new UsageError(`try: cannot read --env-file ${envFile}: ${(e as Error).message}`);
    }
    overrides = parseEnvFile(text, envFile);
  }
  for (const kv of (values.env as string[] | undefined) ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new UsageError(`try: --env takes KEY=VALUE, not "${kv}"`);
    overrides[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const env = fakeJobEnv(context, { id, user, ...ids, node: Deno.hostname() }, overrides);
  const hook = HOOK_FOR_CONTEXT[context];
  console.log(`prep-deno try: ${hook} (${context}) of ${modulePath}, job ${env.SLURM_JOB_ID}`);
  console.log("--- hook output ---");
  const started = performance.now();
  const timeoutSeconds = numberFlag(
    "try",
    "timeout",
    values.timeout as string | undefined,
    MAX_TIMEOUT_SECONDS,
  );
  const heapMb = numberFlag("try", "heap-mb", values["heap-mb"] as string | undefined);
  const plugin = values.plugin as string | undefined;
  let status: number;
  let pluginStatus = 0;
  if (plugin) {
    const { tryThroughPlugin } = await import("./try_plugin.ts");
    const r = await tryThroughPlugin({ plugin, modulePath, context, env, timeoutSeconds, heapMb });
    if (r.output) await writeAll(Deno.stdout, new TextEncoder().encode(r.output));
    status = r.status === 0
      ? 0
      : (r.status & 0x7f)
      ? 128 + (r.status & 0x7f)
      : (r.status >> 8) & 0xff || 1;
    pluginStatus = r.status;
  } else {
    status = await runHook({
      modulePath,
      hook,
      env,
      timeoutSeconds,
      heapMb,
      memoryMb: numberFlag("try", "memory-mb", values["memory-mb"] as string | undefined),
      capStdout: true,
    });
  }
  const ms = Math.round(performance.now() - started);
  console.log("--- end of hook output ---");
  if (plugin) {
    console.log(`through the plugin: ${plugin} (the daemon sees ${describeStatus(pluginStatus)})`);
  }
  console.log(
    `hook: ${hook}\nexit status: ${status}${
      status === 0 ? " (success)" : " (failure: Slurm would " +
        consequence(context) + ")"
    }\nduration: ${ms} ms`,
  );
  return status;
}

/** A wait status as Slurm logs it. */
function describeStatus(status: number): string {
  if (status === -1) return "SLURM_ERROR (the hook list could not be made)";
  if (status === 127) return "status 127 (could not execute)";
  const sig = status & 0x7f;
  return sig ? `killed by signal ${sig}` : `exit code ${(status >> 8) & 0xff}`;
}

/** What Slurm does when this hook fails, in a few words. */
function consequence(context: string): string {
  switch (context) {
    case "prolog_slurmd":
      return "drain the node and requeue the job held";
    case "epilog_slurmd":
      return "drain the node";
    case "prolog_slurmctld":
      return "requeue or cancel the job";
    default:
      return "log the failure";
  }
}
