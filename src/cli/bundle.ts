// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `prep-deno bundle DIR|MODULE -o NAME.ts`: one self-contained hook module
 * for configless clusters, where Slurm ships the file `Prolog=`/`Epilog=`
 * names and nothing else. Its local imports are inlined (`deno bundle`;
 * `"prep-deno"` stays the runner's own), and its folder's policy rides in
 * its first line (src/sandbox/bundle.ts), read by the runner before anything runs.
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BUNDLE_MARKER, BUNDLED_KEYS } from "../sandbox/bundle.ts";
import { PERMISSION_KINDS } from "../sandbox/policy.ts";
import { parsePolicy, PolicyError, stripJsonc } from "../sandbox/policy_file.ts";
import { isCompiled } from "../self_command.ts";
import { parseCommand, UsageError } from "./args.ts";

/** `bundle --help`. */
const BUNDLE_HELP = `Usage: prep-deno bundle DIR|MODULE -o NAME.ts

Makes one self-contained hook module: MODULE's local imports inlined, and the
policy of its folder (the nearest deno.json: "permissions", "sandbox", "warm",
"typecheck")
embedded in its first line. For configless clusters: put NAME.ts beside
slurm.conf on the controller and name it relatively (Prolog=NAME.ts); slurmd
receives it in its configless cache, and the runner honours the embedded policy
there, or wherever a deno.json would be trusted (owned by root, writable by
nobody else up to /), and refuses it anywhere else.

  DIR             a hooks folder: its NAME.ts, else its site.ts (prep-deno init's)
  -o, --output F  the bundle to write (NAME.ts)
`;

const PATH_KINDS = new Set(["read", "write", "ffi"]);

/** Runs `bundle`; resolves to the exit status. */
export async function bundleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("bundle", args, {
    output: { type: "string", short: "o" },
  });
  if (values.help) {
    console.log(BUNDLE_HELP);
    return 0;
  }
  const output = values.output as string | undefined;
  if (positionals.length !== 1 || !output) {
    throw new UsageError("bundle: give one DIR or MODULE and -o NAME.ts");
  }
  const module = pickModule(resolve(positionals[0]), basename(output));
  const configPath = nearestConfig(dirname(module));
  const config = configPath ? readRaw(configPath) : {};
  const policy: Record<string, unknown> = {};
  for (const key of BUNDLED_KEYS) if (config[key] !== undefined) policy[key] = config[key];
  const relative = relativeGrant(policy);
  if (relative) {
    throw new UsageError(
      `bundle: ${configPath}: ${relative} is a relative path; a bundle runs from slurmd's configless cache, where it would name something else: write it as an absolute path`,
    );
  }
  const js = await denoBundle(module, configPath, config);
  // No type check of the generated JavaScript (`check` would fault its untyped code).
  const head = `${BUNDLE_MARKER}${JSON.stringify(policy)}\n// @ts-nocheck\n` +
    `// Made by prep-deno bundle from ${module}${
      configPath ? ` and ${configPath}` : ""
    }: edit those and bundle again.\n`;
  const out = resolve(output);
  const tmp = `${out}.tmp-${Deno.pid}`;
  try {
    Deno.writeTextFileSync(tmp, head + js, { mode: 0o644 });
    Deno.renameSync(tmp, out);
  } catch (e) {
    throw new UsageError(`bundle: cannot write ${out}: ${(e as Error).message}`);
  }
  console.log(
    `prep-deno bundle: ${out}: ${module}${configPath ? ` with the policy of ${configPath}` : ""}`,
  );
  return 0;
}

/** The policy as written (relative paths kept, to refuse them), checked as the runner checks it. */
function readRaw(configPath: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(stripJsonc(Deno.readTextFileSync(configPath).replace(/^\uFEFF/, "")));
    parsePolicy(raw, configPath);
  } catch (e) {
    throw new UsageError(
      `bundle: ${e instanceof PolicyError ? e.message : `${configPath}: ${(e as Error).message}`}`,
    );
  }
  return raw as Record<string, unknown>;
}

/** The module a DIR names (its NAME.ts, else site.ts), or MODULE itself. */
function pickModule(input: string, name: string): string {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(input);
  } catch {
    throw new UsageError(`bundle: ${input} does not exist`);
  }
  if (!info.isDirectory) return input;
  for (const candidate of [name, "site.ts"]) {
    try {
      if (Deno.statSync(join(input, candidate)).isFile) return join(input, candidate);
    } catch { /* next */ }
  }
  throw new UsageError(`bundle: ${input} has neither ${name} nor site.ts; name the module itself`);
}

/** The nearest deno.json/deno.jsonc at or above `dir` (whoever owns it: this is the author's copy). */
function nearestConfig(dir: string): string | undefined {
  for (let d = dir;; d = dirname(d)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        if (Deno.statSync(join(d, name)).isFile) return join(d, name);
      } catch { /* next */ }
    }
    if (dirname(d) === d) return undefined;
  }
}

/** The first relative path among the policy's path grants ("read" of set "prolog"), else undefined. */
function relativeGrant(policy: Record<string, unknown>): string | undefined {
  for (const field of ["permissions", "sandbox"] as const) {
    const sets = policy[field];
    if (typeof sets !== "object" || sets === null) continue;
    for (const [setName, set] of Object.entries(sets)) {
      if (typeof set !== "object" || set === null) continue;
      for (const [kind, value] of Object.entries(set)) {
        const pathKind = field === "sandbox" || PATH_KINDS.has(kind);
        if (!pathKind || !Array.isArray(value)) continue;
        if (field === "permissions" && !(PERMISSION_KINDS as readonly string[]).includes(kind)) {
          continue;
        }
        const bad = value.find((v) =>
          typeof v === "string" && v.startsWith(".") ||
          typeof v === "string" && field === "permissions" && !isAbsolute(v)
        );
        if (bad !== undefined) return `"${kind}" entry "${bad}" of set "${setName}" in "${field}"`;
      }
    }
  }
  return undefined;
}

/** `deno bundle` of `module`, the policy's bare "imports" resolved, "prep-deno" left to the runner. */
async function denoBundle(
  module: string,
  configPath: string | undefined,
  config: Record<string, unknown>,
): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-bundle-" });
  try {
    const imports: Record<string, string> = {};
    const given = config.imports;
    if (configPath && typeof given === "object" && given !== null) {
      const base = pathToFileURL(configPath);
      for (const [k, v] of Object.entries(given)) {
        if (typeof v !== "string" || k === "prep-deno" || k.startsWith("prep-deno/")) continue;
        imports[k] = /^\.{0,2}\//.test(v) ? new URL(v, base).href : v;
      }
    }
    const map = join(dir, "import_map.json");
    Deno.writeTextFileSync(map, JSON.stringify({ imports }));
    const out = join(dir, "bundle.js");
    const deno = isCompiled() ? "deno" : Deno.execPath();
    const r = await new Deno.Command(deno, {
      args: [
        "bundle",
        "--no-config",
        "--no-lock",
        "--quiet",
        "--platform",
        "deno",
        "--import-map",
        map,
        "--external",
        "prep-deno",
        "--external",
        "prep-deno/*",
        "-o",
        out,
        module,
      ],
      env: { DENO_NO_UPDATE_CHECK: "1" },
      stdin: "null",
    }).output();
    if (!r.success) {
      throw new UsageError(
        `bundle: deno bundle ${module} failed:\n${new TextDecoder().decode(r.stderr).trim()}`,
      );
    }
    return Deno.readTextFileSync(out);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
