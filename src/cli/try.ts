// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno try MODULE ...`: runs a hook by hand with a fake but complete
 * job environment, through `prep-deno run` itself: the same launcher,
 * sandbox and output pipe as under the plugin.
 *
 * @module
 */

import { resolve } from "node:path";
import { writeAll } from "../bytes.ts";
import { pipeCapped } from "../launch/output.ts";
import { LAUNCHER_PATH } from "../launch/spawn.ts";
import { HOOK_FOR_CONTEXT, SCRIPT_CONTEXTS } from "../job/slurm_vars.ts";
import { fakeJobEnv } from "../testing.ts";
import { slurmConfPath } from "../sandbox/view_slurm.ts";
import {
  decodeWaitStatus,
  describeWaitStatus,
  endedOf,
  shellStatus,
} from "../outcome/wait_status.ts";
import {
  contextArg,
  integerFlag,
  limitFlag,
  MAX_TIMEOUT_SECONDS,
  moduleArg,
  numberFlag,
  parseCommand,
  UsageError,
} from "./args.ts";

/** `try --help`. */
const TRY_HELP = `Usage: prep-deno try MODULE [options]

Runs MODULE as Slurm would, with a fake job, and prints a report: the hook's
output (stdout and stderr on one pipe, in order, as the daemon logs it), its
exit status and what Slurm would do with it, and how long it took. The hook
runs through \`prep-deno run\`, in the same sandbox, with the same policy, as
under slurmd. The fake job is the one prep-deno/testing gives unit tests.

  --context CTX      ${SCRIPT_CONTEXTS.join(" | ")} (default prolog_slurmd);
                     also prolog, epilog, prologSlurmctld, epilogSlurmctld
  --job-id N         the job id, 1 to 4294967294 (default 1)
  --user NAME        the job's user, a name or uid the system knows (default root);
                     its uid, gid and group name come from the name service (getent)
  --timeout SECONDS  stop the hook after this long
  --heap-mb MIB      the hook's heap limit (default 512)
  --memory-mb MIB    the whole hook's memory limit (default: heap + 512)
  --tasks-max N      most processes and threads the hook holds at once (default 4096)
  --env KEY=VALUE    set or override one variable (repeatable)
  --env-file FILE    read KEY=VALUE lines (# comments, blank lines ignored)
  --plugin SO        go through the real plugin code (a prep_deno.so): Prolog and
                     Epilog through prep_p_prolog/prep_p_epilog as slurmd calls them,
                     the slurmctld hooks through the plugin's C core; the report then
                     gives the status the daemon would see, and slurmd's log lines
`;

/** Parses `KEY=VALUE` lines; names the file and line of a bad one. */
function parseEnvFile(text: string, file: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new UsageError(`try: ${file}:${i + 1}: expected KEY=VALUE, got "${line}"`);
    env[line.slice(0, eq).trim()] = line.slice(eq + 1);
  });
  return env;
}

/** A job's user as /etc/passwd and /etc/group name it. */
export interface JobUser {
  /** The user name (`SLURM_JOB_USER`). */
  user: string;
  /** Its uid (`SLURM_JOB_UID`). */
  uid: number;
  /** Its primary gid (`SLURM_JOB_GID`). */
  gid: number;
  /** The name of that gid (`SLURM_JOB_GROUP`), or the number when /etc/group has none. */
  group: string;
}

/**
 * Looks up `user` (a name, or a uid) and its primary group's name through
 * the name service, as slurmctld does (getpwnam/getgrgid: /etc/passwd,
 * LDAP, SSSD...), with `getent`; where there is no getent, in /etc/passwd
 * and /etc/group. A gid with no name keeps the number, as gid_to_string does.
 *
 * @throws {UsageError} naming the user when the system does not know it.
 */
function lookupJobUser(user: string): JobUser {
  const entry = nss("passwd", user);
  if (!entry || entry.length < 4 || !/^\d+$/.test(entry[2]) || !/^\d+$/.test(entry[3])) {
    throw new UsageError(
      `try: --user ${user}: no such user (getent passwd ${user}); give a user this host knows, or leave --user out for root`,
    );
  }
  const gid = Number(entry[3]);
  const group = nss("group", entry[3])?.[0] ?? `${gid}`;
  return { user: entry[0], uid: Number(entry[2]), gid, group };
}

/** One entry of a name service database by name or id, split on ":". */
function nss(db: "passwd" | "group", key: string): string[] | undefined {
  try {
    const out = new Deno.Command("getent", {
      args: [db, key],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    // getent: 0 found, 2 not found; anything else means no usable getent.
    if (out.code === 0) return new TextDecoder().decode(out.stdout).split("\n")[0].split(":");
    if (out.code === 2) return undefined;
  } catch { /* no getent: the files */ }
  try {
    // Both files have the id in the third field.
    return Deno.readTextFileSync(`/etc/${db}`).split("\n").map((l) => l.split(":"))
      .find((f) => f.length >= 3 && (f[0] === key || (/^\d+$/.test(key) && f[2] === key)));
  } catch {
    return undefined;
  }
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
    "tasks-max": { type: "string" },
    env: { type: "string", multiple: true },
    "env-file": { type: "string" },
    plugin: { type: "string" },
  });
  if (values.help) {
    console.log(TRY_HELP);
    return 0;
  }
  const modulePath = moduleArg("try", positionals);
  const context = contextArg("try", (values.context as string | undefined) ?? "prolog_slurmd");
  const id = integerFlag("try", "job-id", values["job-id"] as string | undefined, 1, 4294967294) ??
    1;
  const who = lookupJobUser((values.user as string | undefined) ?? "root");
  const timeoutSeconds = numberFlag(
    "try",
    "timeout",
    values.timeout as string | undefined,
    MAX_TIMEOUT_SECONDS,
  );
  const heapMb = limitFlag("try", "heap_mb", values["heap-mb"] as string | undefined);
  const memoryMb = limitFlag("try", "memory_mb", values["memory-mb"] as string | undefined);
  const tasksMax = limitFlag("try", "tasks_max", values["tasks-max"] as string | undefined);
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
  // slurm.conf as Slurm's own commands find it here, unless --env names one;
  // handed to the runner as the plugin hands its daemon's, and in slurmd's
  // place in the environment (slurmctld puts none there).
  const slurmConf = overrides.SLURM_CONF || slurmConfPath(Deno.env.toObject());
  const env = fakeJobEnv(context, { id, ...who, node: Deno.hostname(), env: overrides });
  if (env.SLURM_CONF !== undefined) env.SLURM_CONF = slurmConf;
  const hook = HOOK_FOR_CONTEXT[context];
  const plugin = values.plugin as string | undefined;
  console.log(
    `prep-deno try: ${hook} (${context}) of ${modulePath}, job ${env.SLURM_JOB_ID} of ` +
      `${who.user} (uid ${who.uid}, gid ${who.gid})`,
  );
  console.log(
    plugin
      ? "--- hook output ---"
      : "--- hook output (stdout and stderr, in order, as the daemon logs them) ---",
  );
  const started = performance.now();
  let status: number;
  let pluginStatus = 0;
  if (plugin) {
    const { tryThroughPlugin } = await import("./try_plugin.ts");
    const r = await tryThroughPlugin({ plugin, modulePath, context, env, timeoutSeconds, heapMb });
    if (r.output) await writeAll(Deno.stdout, new TextEncoder().encode(r.output));
    // A failure the wait status does not show (SLURM_ERROR) is still one.
    status = r.status === 0 ? 0 : shellStatus(decodeWaitStatus(r.status)) || 1;
    pluginStatus = r.status;
  } else {
    status = await runAsThePluginDoes(modulePath, env, [
      ...(timeoutSeconds !== undefined ? ["--timeout", `${timeoutSeconds}`] : []),
      ...(heapMb !== undefined ? ["--heap-mb", `${heapMb}`] : []),
      ...(memoryMb !== undefined ? ["--memory-mb", `${memoryMb}`] : []),
      ...(tasksMax !== undefined ? ["--tasks-max", `${tasksMax}`] : []),
      ...(slurmConf.startsWith("/") ? ["--slurm-conf", slurmConf] : []),
    ]);
  }
  const ms = Math.round(performance.now() - started);
  console.log("--- end of hook output ---");
  if (plugin) {
    console.log(
      `through the plugin: ${plugin} (the daemon sees ${describeWaitStatus(pluginStatus)})`,
    );
  }
  console.log(
    `hook: ${hook}\nexit status: ${status}${
      status === 0 ? " (success)" : " (failure: Slurm would " +
        consequence(context) + ")"
    }\nduration: ${ms} ms`,
  );
  return status;
}

/**
 * Runs `prep-deno run MODULE` (the native launcher, the very command the
 * plugin executes) with the fake job as its environment and its stdout and
 * stderr on one pipe, as the plugin runs it (and prep/script a script),
 * copying that pipe to stdout as it comes, so the report shows the output in
 * the order the hook wrote it, capped as the daemon's log is. Resolves to
 * run's status.
 */
async function runAsThePluginDoes(
  modulePath: string,
  env: Record<string, string>,
  flags: string[],
): Promise<number> {
  // One pipe for both streams is what keeps their order. sh only sets it
  // up; env(1) then gives the runner exactly the job's variables (a shell
  // would add PWD, SHLVL...).
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const child = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      'exec "$@" 2>&1',
      "sh",
      "env",
      "-i",
      "--",
      ...vars,
      LAUNCHER_PATH,
      "run",
      resolve(modulePath),
      ...flags,
    ],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  await pipeCapped(child.stdout, (c) => writeAll(Deno.stdout, c));
  return shellStatus(endedOf(await child.status));
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
