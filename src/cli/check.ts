// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno check MODULE`: type-checks a hook module against the published
 * types and shows, per hook, the export that serves it and its permissions.
 * Both steps run inside the hook's own kernel view (the one `run` gives
 * it), so check reads nothing the hook could not: a `.ts` symlink to a
 * secret outside the hook's folder is "not found", never quoted.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import {
  findConfig,
  loadPolicy,
  PERMISSION_KINDS,
  type Policy,
  PolicyError,
} from "../sandbox/policy.ts";
import { EXIT } from "../contract.ts";
import { LaunchRefused, planHook } from "../launch/plan.ts";
import { BundleError, readEmbeddedPolicy } from "../sandbox/bundle.ts";
import { slurmConfPath } from "../sandbox/view_slurm.ts";
import { fakeJobEnv, HOOK_FOR_CONTEXT, SCRIPT_CONTEXTS } from "../job/slurm_vars.ts";
import { runHook } from "../launch/mod.ts";
import { formatTypeErrors, typecheckHook } from "../launch/typecheck.ts";
import { defaultSlurmConf, lintSlurmConf, problemLine } from "../lint/mod.ts";
import { moduleLinkLeavingRoot } from "../sandbox/module_link.ts";
import { moduleArg, parseCommand, UsageError } from "./args.ts";

/** `check --help`. */
const CHECK_HELP = `Usage: prep-deno check MODULE
       prep-deno check --slurm-conf [FILE] [--json]

--slurm-conf: a lint for CI and for every node (pdsh/clush): reads
slurm.conf (FILE, else SLURM_CONF, else /etc/slurm/slurm.conf), finds every
hook of Prolog, Epilog, PrologSlurmctld and EpilogSlurmctld as the plugin
does (globs, paths relative to slurm.conf's folder), and checks each
module (the exports its lines need, its types, its policy: every key, the
paths it grants, what the sandbox would refuse) and this node (the runner,
bubblewrap, the cgroup memory controller when memory_mb is set, the warm
service's socket with mode=warm). One line per problem (FILE: KEY: PROBLEM;
fix: FIX), or --json; exit status 1 when there is any problem, else 0.

MODULE:

Type-checks MODULE against prep/deno's types (needs a deno CLI: the one this
runner runs on, or \`deno\` on PATH), then lists which export serves each hook
and the permissions each hook would get from the policy. Both run inside the
hook's sandbox, as under slurmd: check reads only what the hook may read.
"prep-deno" and "prep-deno/testing" resolve to this runner's own modules, as
under run; the other names in the imports of the policy's deno.json work too.
The type check is the one a hook passes before it runs.
`;

/** Runs `check`; 0 when the module type-checks and serves at least one hook. */
export async function checkCommand(args: string[]): Promise<number> {
  try {
    return await check(args);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // Plain, never a stack trace: what failed and on what.
    console.error(`prep-deno check: ${(e as Error)?.message ?? e}`);
    return 1;
  }
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("check", withOptionalValue(args, "--slurm-conf"), {
    "slurm-conf": { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  if (values["slurm-conf"] !== undefined) {
    if (positionals.length) throw new UsageError("check: --slurm-conf takes no MODULE");
    const conf = resolve(values["slurm-conf"] || defaultSlurmConf());
    const problems = await lintSlurmConf(conf);
    if (values.json) console.log(JSON.stringify({ slurmConf: conf, problems }, null, 2));
    else if (problems.length === 0) console.log(`${conf}: no problems`);
    else for (const p of problems) console.log(problemLine(p));
    return problems.length ? 1 : 0;
  }
  if (values.json) throw new UsageError("check: --json goes with --slurm-conf");
  const modulePath = resolve(moduleArg("check", positionals));
  // A refused policy (planted, malformed, a bad set) is said once, plainly.
  let configPath: string | undefined;
  try {
    // A bundle's policy is its own first line.
    configPath = readEmbeddedPolicy(modulePath) ? modulePath : findConfig(dirname(modulePath));
    if (configPath) loadPolicy(modulePath, "prolog");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) configPath = undefined;
    else if (!(e instanceof PolicyError) && !(e instanceof BundleError)) throw e;
    else {
      console.error(`prep-deno check: ${e.message}`);
      return EXIT.SANDBOX;
    }
  }
  const leaving = moduleLinkLeavingRoot(modulePath, configPath);
  if (leaving) {
    console.error(`prep-deno check: ${leaving}`);
    return 1;
  }
  // The two halves are independent: run them side by side.
  const [typesOk, listing] = await Promise.all([
    typeCheck(modulePath),
    captureStdout((onStdout) =>
      runHook({
        modulePath,
        hook: "prolog",
        // slurm.conf where Slurm's commands find it here (a `slurm: true` hook needs it).
        env: { ...fakeJobEnv("prolog_slurmd"), SLURM_CONF: slurmConfPath(Deno.env.toObject()) },
        listExports: true,
        timeoutSeconds: 30,
        onStdout,
      })
    ),
  ]);
  let ok = typesOk;
  if (listing.status !== 0) return listing.status;
  const exports: string[] = JSON.parse(listing.stdout.trim().split("\n").pop() ?? "[]");
  console.log(`exports: ${exports.join(", ") || "(none)"}`);
  let served = 0;
  for (const context of SCRIPT_CONTEXTS) {
    const hook = HOOK_FOR_CONTEXT[context];
    const via = exports.includes(hook)
      ? `export "${hook}"`
      : exports.includes("default")
      ? "default export"
      : undefined;
    if (via) served++;
    let permissions: string;
    try {
      permissions = describePolicy(loadPolicy(modulePath, hook));
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      permissions = `refused: ${e.message}`;
      if (via) ok = false;
    }
    console.log(`${hook.padEnd(16)} ${via ?? "not served"}; permissions: ${permissions}`);
  }
  if (served === 0) {
    console.error(
      `prep-deno check: ${modulePath} serves no hook: export prolog, epilog, prologSlurmctld, epilogSlurmctld or a default`,
    );
    ok = false;
  }
  return ok ? 0 : 1;
}

/** One line describing a policy. */
function describePolicy(p: Policy): string {
  if (!p.setName) {
    return `none (no permission set${p.configPath ? ` in ${p.configPath}` : ", no deno.json"})`;
  }
  const grants = PERMISSION_KINDS.filter((k) => p.permissions[k]).map((k) => {
    const g = p.permissions[k];
    return g === true ? `${k}=all` : `${k}=${g!.join(",")}`;
  });
  const from = p.embedded ? `the bundle's embedded policy (honoured: ${p.embedded})` : p.configPath;
  return `set "${p.setName}" of ${from}: ${grants.join(" ") || "nothing"}${describeView(p)}`;
}

/** The kernel view's widening, as `check` shows it ("" for the default view). */
function describeView(p: Policy): string {
  const v = p.view;
  const parts = [
    v.readAll ? "read=all" : v.read.length ? `read=${v.read.map((g) => g.real).join(",")}` : "",
    v.writeAll
      ? "write=all"
      : v.write.length
      ? `write=${v.write.map((g) => g.real).join(",")}`
      : "",
    v.devices.length ? `devices=${v.devices.map((g) => g.real).join(",")}` : "",
    v.capabilities.length ? `capabilities=${v.capabilities.join(",")}` : "",
    v.hostProcesses ? "processes=host" : "",
    v.slurm ? `slurm=${v.slurm.confDir}` : "",
    // What the runner runs for the hook with more than it has: the admin should see it.
    ...(v.privileged ?? []).map((c) =>
      `privileged=${c.name}:${c.command}${
        c.capabilities.length ? `+${c.capabilities.join("+")}` : ""
      }`
    ),
  ].filter((x) => x !== "");
  return parts.length ? `; view: ${parts.join(" ")}` : "";
}

async function typeCheck(modulePath: string): Promise<boolean> {
  let plan;
  try {
    // The view run gives the module's Prolog: same binds, namespaces, network.
    plan = planHook(modulePath, "prolog");
  } catch (e) {
    if (!(e instanceof LaunchRefused)) throw e;
    console.log(`types: not checked (${e.message})`);
    return false;
  }
  const policy = loadPolicy(modulePath, "prolog");
  const report = await typecheckHook(modulePath, policy, plan);
  if (!report.checked) {
    console.log(`types: not checked (${report.other}; install the deno CLI to type-check)`);
    return false;
  }
  if (report.errors.length) console.log(formatTypeErrors(report.errors));
  if (report.other) console.log(report.other);
  const ok = report.errors.length === 0 && !report.other;
  console.log(ok ? "types: ok" : "types: errors (see above)");
  return ok;
}

async function captureStdout(
  fn: (onStdout: (c: Uint8Array) => void) => Promise<number>,
): Promise<{ status: number; stdout: string }> {
  const decoder = new TextDecoder();
  let stdout = "";
  const status = await fn((c) => stdout += decoder.decode(c, { stream: true }));
  return { status, stdout };
}

/** `--flag` with its value left out (last, or before another option): its default, "". */
function withOptionalValue(args: string[], flag: string): string[] {
  const i = args.indexOf(flag);
  if (i < 0 || (i + 1 < args.length && !args[i + 1].startsWith("-"))) return args;
  return [...args.slice(0, i + 1), "", ...args.slice(i + 1)];
}
