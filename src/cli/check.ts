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

import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { findConfig, loadPolicy, PERMISSION_KINDS, type Policy, PolicyError } from "../policy.ts";
import { EXIT, LAUNCHER } from "../contract.ts";
import { RUNTIME_DIR } from "../launch/constants.ts";
import { LaunchRefused, planHook } from "../launch/plan.ts";
import { isCompiled } from "../self_command.ts";
import { fakeJobEnv, HOOK_FOR_CONTEXT, SCRIPT_CONTEXTS } from "../slurm_vars.ts";
import { runHook } from "../launch/mod.ts";
import { libDir } from "./init.ts";
import { hookImports } from "../import_map.ts";
import { moduleLinkLeavingRoot } from "../module_link.ts";
import { moduleArg, parseCommand, UsageError } from "./args.ts";

/** `check --help`. */
const CHECK_HELP = `Usage: prep-deno check MODULE

Type-checks MODULE against prep/deno's types (needs a deno CLI: the one this
runner runs on, or \`deno\` on PATH), then lists which export serves each hook
and the permissions each hook would get from the policy. Both run inside the
hook's sandbox, as under slurmd: check reads only what the hook may read.
"prep-deno" and "prep-deno/testing" resolve to this runner's own modules, as
under run; the other names in the imports of the policy's deno.json work too. Type-check results are cached
in ~/.cache/prep-deno/check.
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
  const { values, positionals } = parseCommand("check", args, {});
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  const modulePath = resolve(moduleArg("check", positionals));
  // A refused policy (planted, malformed, a bad set) is said once, plainly.
  let configPath: string | undefined;
  try {
    configPath = findConfig(dirname(modulePath));
    if (configPath) loadPolicy(modulePath, "prolog");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) configPath = undefined;
    else if (!(e instanceof PolicyError)) throw e;
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
    typeCheck(modulePath, configPath),
    captureStdout((onStdout) =>
      runHook({
        modulePath,
        hook: "prolog",
        env: fakeJobEnv("prolog_slurmd"),
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
  return `set "${p.setName}" of ${p.configPath}: ${grants.join(" ") || "nothing"}${
    describeView(p)
  }`;
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

async function typeCheck(modulePath: string, configPath?: string): Promise<boolean> {
  const deno = isCompiled() ? "deno" : Deno.execPath();
  let view: { bwrap: string; bwrapArgs: readonly string[] };
  try {
    // The view run gives the module's Prolog: same binds, namespaces, network.
    view = planHook(modulePath, "prolog");
  } catch (e) {
    if (!(e instanceof LaunchRefused)) throw e;
    console.log(`types: not checked (${e.message})`);
    return false;
  }
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-check-" });
  // Seen at a fixed path inside the sandbox, so the type-check cache hits
  // when nothing changed: in the view's private tmpfs over the runner's
  // state, never in a granted host /tmp where a user could prepare it.
  const inside = `${LAUNCHER.RUN_DIR}/check`;
  try {
    // The tmpfs over it needs a mount point when the view binds the host's /run.
    Deno.mkdirSync(LAUNCHER.RUN_DIR, { mode: 0o755 });
  } catch { /* there already, or not root: bwrap says so if it matters */ }
  try {
    const types = pathToFileURL(join(libDir(), "types.ts")).href;
    Deno.writeTextFileSync(
      join(dir, "check.ts"),
      `import type { HookModule } from ${JSON.stringify(types)};\n` +
        `import * as hooks from ${JSON.stringify(pathToFileURL(modulePath).href)};\n` +
        `export const served: HookModule = hooks;\n`,
    );
    // Not the site's deno.json as a config (it is a policy): no config at all,
    // and the imports the hook runs with ("prep-deno" is this runner's).
    Deno.writeTextFileSync(
      join(dir, "import_map.json"),
      JSON.stringify({ imports: hookImports(configPath) }),
    );
    const cache = checkCache();
    const tty = Deno.stdout.isTerminal();
    const env: Record<string, string> = {
      DENO_DIR: cache ?? RUNTIME_DIR,
      DENO_NO_UPDATE_CHECK: "1",
      RUST_BACKTRACE: "0",
    };
    const denoPath = deno.includes("/") ? deno : whichDeno();
    if (!denoPath) throw new Error("no deno on PATH");
    const out = await new Deno.Command(view.bwrap, {
      args: [
        ...view.bwrapArgs,
        ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
        // Colours only on a terminal.
        ...(tty ? ["--unsetenv", "NO_COLOR"] : ["--setenv", "NO_COLOR", "1"]),
        "--ro-bind-try",
        denoPath,
        denoPath,
        "--ro-bind-try",
        libDir(),
        libDir(),
        "--ro-bind",
        dir,
        inside,
        ...(cache ? ["--bind", cache, cache] : []),
        "--",
        denoPath,
        "check",
        "--quiet",
        "--no-lock",
        "--no-config",
        `--import-map=${inside}/import_map.json`,
        `${inside}/check.ts`,
      ],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    const shown = plainDiagnostics(text, inside);
    if (shown) console.log(shown);
    console.log(out.success ? "types: ok" : "types: errors (see above)");
    return out.success;
  } catch (e) {
    console.log(`types: not checked (${(e as Error).message}; install the deno CLI to type-check)`);
    return false;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const ESC = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** deno check's diagnostics without its stack backtrace and closing line. */
function plainDiagnostics(text: string, tmp: string): string {
  const cut = text.search(/^Stack backtrace:/m);
  return (cut < 0 ? text : text.slice(0, cut))
    .split("\n")
    .filter((l) => !l.replaceAll(ESC, "").match(/^error: Type checking failed\.$/))
    .join("\n")
    .replaceAll(pathToFileURL(tmp).href + "/check.ts", "(the check of the module's exports)")
    .trim();
}

/** The type-check cache of this user (a folder of their own), or undefined. */
function checkCache(): string | undefined {
  const home = Deno.env.get("HOME");
  if (!home) return undefined;
  const path = join(Deno.env.get("XDG_CACHE_HOME") ?? join(home, ".cache"), "prep-deno", "check");
  try {
    Deno.mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  } catch {
    return undefined;
  }
}

function whichDeno(): string | undefined {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (d && Deno.statSync(join(d, "deno")).isFile) return join(d, "deno");
    } catch { /* next */ }
  }
  return undefined;
}

async function captureStdout(
  fn: (onStdout: (c: Uint8Array) => void) => Promise<number>,
): Promise<{ status: number; stdout: string }> {
  const decoder = new TextDecoder();
  let stdout = "";
  const status = await fn((c) => stdout += decoder.decode(c, { stream: true }));
  return { status, stdout };
}
