// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno check MODULE`: type-checks a hook module against the published
 * types and shows, per hook, the export that serves it and its permissions.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadPolicy, PERMISSION_KINDS, type Policy, PolicyError } from "../policy.ts";
import { isCompiled } from "../self_command.ts";
import { fakeJobEnv, HOOK_FOR_CONTEXT, SCRIPT_CONTEXTS } from "../slurm_vars.ts";
import { runHook } from "../supervise.ts";
import typesSource from "../types.ts" with { type: "text" };
import { moduleArg, parseCommand } from "./args.ts";

/** `check --help`. */
export const CHECK_HELP = `Usage: prep-deno check MODULE

Type-checks MODULE against prep/deno's types (needs a deno CLI: the one this
runner runs on, or \`deno\` on PATH), then lists which export serves each hook
and the permissions each hook would get from the policy. The module is loaded
inside the sandbox, as under slurmd.
`;

/** Runs `check`; 0 when the module type-checks and serves at least one hook. */
export async function checkCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("check", args, {});
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  const modulePath = resolve(moduleArg("check", positionals));
  let ok = await typeCheck(modulePath);

  const listing = await captureStdout((onStdout) =>
    runHook({
      modulePath,
      hook: "prolog",
      env: fakeJobEnv("prolog_slurmd"),
      listExports: true,
      timeoutSeconds: 30,
      onStdout,
    })
  );
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
export function describePolicy(p: Policy): string {
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
  ].filter((x) => x !== "");
  return parts.length ? `; view: ${parts.join(" ")}` : "";
}

async function typeCheck(modulePath: string): Promise<boolean> {
  const deno = isCompiled() ? "deno" : Deno.execPath();
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-check-" });
  try {
    Deno.writeTextFileSync(join(dir, "types.ts"), typesSource);
    Deno.writeTextFileSync(
      join(dir, "check.ts"),
      `import type { HookModule } from "./types.ts";\n` +
        `import * as hooks from ${JSON.stringify(pathToFileURL(modulePath).href)};\n` +
        `export const served: HookModule = hooks;\n`,
    );
    const out = await new Deno.Command(deno, {
      args: [
        "check",
        "--quiet",
        "--no-lock",
        `--config=${emptyConfig(dir)}`,
        join(dir, "check.ts"),
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    console.log(out.success ? "types: ok" : "types: errors (see above)");
    return out.success;
  } catch (e) {
    console.log(`types: not checked (${(e as Error).message}; install the deno CLI to type-check)`);
    return true;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** An empty config in `dir`, so the site's deno.json (a policy) is not read as compiler options. */
function emptyConfig(dir: string): string {
  const path = join(dir, "deno.json");
  Deno.writeTextFileSync(path, "{}\n");
  return path;
}

async function captureStdout(
  fn: (onStdout: (c: Uint8Array) => void) => Promise<number>,
): Promise<{ status: number; stdout: string }> {
  const decoder = new TextDecoder();
  let stdout = "";
  const status = await fn((c) => stdout += decoder.decode(c, { stream: true }));
  return { status, stdout };
}
