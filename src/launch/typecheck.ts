// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Type-checks a hook before it runs: `deno check` of the module (and its
 * local imports) against prep/deno's types, its exports held to
 * {@linkcode HookModule}, inside the hook's own kernel view (the check
 * reads only what the hook may read, and never runs its code). A type
 * error such as `job.partitoin` then stops the hook before a job depends
 * on it, instead of reading `undefined` at run time.
 *
 * The check runs once per change: on the spawn path when the launch plan is
 * made (its local files join the plan's deps, so an edit makes a new plan
 * and a new check), in the warm service once per change of those files.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hookImports } from "../sandbox/import_map.ts";
import { LAUNCHER } from "../contract.ts";
import { RUNTIME_DIR } from "./constants.ts";
import type { Policy } from "../sandbox/policy.ts";
import { untrustedReason } from "../sandbox/trust.ts";
import type { HookName } from "../types.ts";
import { isCompiled } from "../self_command.ts";

/** The runner's own TypeScript (`src/`): what `"prep-deno"` names in a check. */
const SRC = dirname(fileURLToPath(new URL("../mod.ts", import.meta.url)));
/**
 * Where the check's own files are seen inside the view: in the view's
 * private tmpfs over the runner's state, never in a granted host /tmp
 * where a user could prepare the mount point.
 */
const INSIDE = `${LAUNCHER.RUN_DIR}/check`;
/**
 * Diagnostics that do not refuse a hook. TS7xxx: something is implicitly
 * `any` (`(job) => ...` without a type): nothing about it can be checked
 * either way, and hooks written so keep running. TS2307: a module that
 * cannot be found: the run fails on it in its own words (naming the file,
 * or the "imports" to add a name to), so it is left to the run.
 */
const NOT_REFUSING = /^TS(7\d{3}|2307)$/;
/** The most errors a refusal lists; the rest are counted. */
const SHOWN = 5;

/** One type error: where, and what `deno check` said. */
export interface TypeDiagnostic {
  /** The file (a path; the check's own wrapper reads "(the module's exports)"). */
  readonly file: string;
  /** 1-based line; unset for the module's exports as a whole. */
  readonly line?: number;
  /** 1-based column. */
  readonly column?: number;
  /** TypeScript's code, e.g. `TS2551`. */
  readonly code: string;
  /** TypeScript's message (first line). */
  readonly message: string;
}

/** What a check found. */
export interface TypeReport {
  /** Whether the check ran to a verdict (a deno CLI was there, the view could be made). */
  readonly checked: boolean;
  /** Type errors, in `deno check`'s order. */
  readonly errors: readonly TypeDiagnostic[];
  /**
   * What `deno check` said when it failed without a type error (a module
   * not found, a remote import without network): the run reports those
   * itself, in its own words, so they do not refuse the hook here.
   */
  readonly other?: string;
  /** The hook's own local files the check read (outside the runner's code). */
  readonly files: readonly string[];
}

/** The view a check runs in: a launch plan's bwrap and arguments. */
export interface CheckView {
  /** The bwrap binary. */
  readonly bwrap: string;
  /** bwrap's arguments for the hook's view. */
  readonly bwrapArgs: readonly string[];
}

/**
 * A fresh folder for the check's two files: under the runner's own state
 * folder when it can write there (root), else the user's temporary folder.
 * Either way made by mkdtemp (0700, a new name): nobody else can plant or
 * change what the check reads.
 */
function checkDir(): string {
  const prefix = `check-${Deno.pid}-`;
  if (trustedFolder(LAUNCHER.RUN_DIR)) {
    try {
      sweepCheckDirs(LAUNCHER.RUN_DIR);
      return Deno.makeTempDirSync({ dir: LAUNCHER.RUN_DIR, prefix });
    } catch { /* not root: the user's own below */ }
  }
  return Deno.makeTempDirSync({ prefix: `prep-deno-${prefix}` });
}

/**
 * Removes the check folders of runs that are gone: a run killed mid-check
 * (its hook's timeout, a node reboot of slurmd) never reaches its
 * `finally`, and the run dir is a tmpfs in memory that must not grow with
 * every killed check. A folder's name carries the pid that made it; one
 * whose process no longer exists is removed. Only in the root-owned run dir.
 */
export function sweepCheckDirs(runDir: string): void {
  for (const entry of Deno.readDirSync(runDir)) {
    const pid = entry.name.match(/^check-(\d+)-/)?.[1];
    if (!entry.isDirectory || !pid || Number(pid) === Deno.pid) continue;
    try {
      Deno.statSync(`/proc/${pid}`);
      continue; // still running its check
    } catch { /* gone */ }
    try {
      Deno.removeSync(join(runDir, entry.name), { recursive: true });
    } catch { /* another run swept it first */ }
  }
}

/**
 * Whether `dir` is a folder only root (or the runner's user) can change,
 * and every folder above it too, as the launcher requires of its run dir
 * (src/launcher/rundir.c): runner state never goes where a user can name it.
 */
function trustedFolder(dir: string): boolean {
  try {
    const info = Deno.lstatSync(dir);
    return info.isDirectory && ((info.mode ?? 0) & 0o022) === 0 &&
      untrustedReason(dir, { ownerMatters: true, parentStrict: true }) === undefined;
  } catch {
    return false;
  }
}

/** The deno CLI to check with: the one the runner runs on, else `deno` on PATH. */
function denoCli(): string | undefined {
  if (!isCompiled()) return Deno.execPath();
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (d && Deno.statSync(join(d, "deno")).isFile) return join(d, "deno");
    } catch { /* next */ }
  }
  return undefined;
}

const ESC = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** The check's own statement, whose errors are about the module's exports. */
const WRAPPER_LINE = "export const served: HookModule = hooks;";

/**
 * The type errors in `deno check`'s output. `wrapper` is the check's own
 * file: its errors are the module's exports not fitting what the hooks
 * take, and are reported on `modulePath` with TypeScript's explanation.
 *
 * @example
 * ```ts
 * parseDiagnostics("TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n  x\n  ^\n    at file:///h/p.ts:4:9\n", "", "/h/p.ts");
 * // [{ file: "/h/p.ts", line: 4, column: 9, code: "TS2322", message: "Type 'string' is not assignable to type 'number'." }]
 * ```
 */
export function parseDiagnostics(
  text: string,
  wrapper: string,
  modulePath: string,
): TypeDiagnostic[] {
  const out: TypeDiagnostic[] = [];
  const lines = text.replaceAll(ESC, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i].match(/^(TS\d+) \[ERROR\]: (.*)$/);
    if (!head) continue;
    // The first "at URL:LINE:COL" after the message is where it is.
    for (let j = i + 1; j < lines.length && !/^TS\d+ \[ERROR\]/.test(lines[j]); j++) {
      const at = lines[j].match(/^\s+at (\S+):(\d+):(\d+)\s*$/);
      if (!at) continue;
      let file = at[1];
      try {
        file = file.startsWith("file:") ? fileURLToPath(file) : file;
      } catch { /* keep the URL */ }
      if (wrapper && file === wrapper) {
        const why = lines.slice(i + 1, j).filter((l) =>
          /^\s+[^\s~^]/.test(l) && !l.includes(WRAPPER_LINE)
        )
          .map((l) => l.trim());
        out.push({
          file: modulePath,
          code: head[1],
          message: `its exports do not fit the hooks' type (HookModule): ${
            why.join(" ") || head[2]
          }`,
        });
      } else {
        out.push({
          file,
          line: Number(at[2]),
          column: Number(at[3]),
          code: head[1],
          message: head[2],
        });
      }
      break;
    }
  }
  return out;
}

/** `file:line:col`, or the file alone for its exports. */
function where(e: TypeDiagnostic): string {
  return e.line ? `${e.file}:${e.line}:${e.column}` : e.file;
}

/**
 * The errors as the log shows them: one `file:line:col: message (code)`
 * per line, the first {@linkcode SHOWN}, then how many more.
 *
 * @example
 * ```ts
 * formatTypeErrors([{ file: "/h/p.ts", line: 3, column: 11, code: "TS2551", message: "Property 'partitoin' does not exist" }]);
 * // "/h/p.ts:3:11: Property 'partitoin' does not exist (TS2551)"
 * ```
 */
export function formatTypeErrors(errors: readonly TypeDiagnostic[]): string {
  const lines = errors.slice(0, SHOWN).map((e) => `${where(e)}: ${e.message} (${e.code})`);
  if (errors.length > SHOWN) lines.push(`... and ${errors.length - SHOWN} more`);
  return lines.join("\n");
}

/**
 * The cause of a refused hook: the first error, short.
 *
 * @example
 * ```ts
 * typeCause([{ file: "/h/p.ts", line: 3, column: 11, code: "TS2551", message: "Property 'partitoin' does not exist" }]);
 * // "type error: /h/p.ts:3: Property 'partitoin' does not exist"
 * ```
 */
export function typeCause(errors: readonly TypeDiagnostic[]): string {
  const e = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  return `type error: ${e.line ? `${e.file}:${e.line}` : e.file}: ${e.message}${more}`;
}

/** The local files of the module graph `deno info --json` printed, outside the runner's code. */
function localFiles(json: string): string[] {
  try {
    const info = JSON.parse(json) as { modules?: { local?: string }[] };
    return (info.modules ?? []).map((m) => m.local).filter((p): p is string =>
      typeof p === "string" && !p.startsWith(SRC + "/")
    );
  } catch {
    return [];
  }
}

/**
 * Type-checks the module at `modulePath` with `policy`'s imports, inside
 * `view` (the hook's launch plan: the same binds, namespaces, network).
 *
 * @example
 * ```ts
 * import { loadPolicy } from "../sandbox/policy.ts";
 * import { planHook } from "./plan.ts";
 * import { formatTypeErrors, typecheckHook } from "./typecheck.ts";
 * export async function check(path = "/etc/slurm/hooks/p.ts") {
 *   const policy = loadPolicy(path, "prolog");
 *   const report = await typecheckHook(path, policy, planHook(path, "prolog"));
 *   if (report.errors.length) console.error(formatTypeErrors(report.errors));
 * }
 * ```
 */
export async function typecheckHook(
  modulePath: string,
  policy: Policy,
  view: CheckView,
): Promise<TypeReport> {
  const deno = denoCli();
  if (!deno) return { checked: false, errors: [], files: [], other: "no deno CLI on PATH" };
  const dir = checkDir();
  // The tmpfs over the run dir needs a mount point when the view binds the
  // host's /run; made only in a /run no one else can write.
  if (trustedFolder(dirname(LAUNCHER.RUN_DIR))) {
    try {
      Deno.mkdirSync(LAUNCHER.RUN_DIR, { mode: 0o755 });
    } catch { /* there already, or not root: bwrap says so if it matters */ }
  }
  try {
    const types = pathToFileURL(join(SRC, "types.ts")).href;
    Deno.writeTextFileSync(
      join(dir, "check.ts"),
      `import type { HookModule } from ${JSON.stringify(types)};\n` +
        `import * as hooks from ${JSON.stringify(pathToFileURL(modulePath).href)};\n` +
        `${WRAPPER_LINE}\n`,
    );
    // The imports the hook runs with, but "prep-deno" as TypeScript (its
    // types); Deno's own compiler options (a policy is not a config).
    Deno.writeTextFileSync(
      join(dir, "import_map.json"),
      JSON.stringify({ imports: hookImports(policy.configPath) }),
    );
    const inView = (args: string[]) =>
      new Deno.Command(view.bwrap, {
        args: [
          ...view.bwrapArgs,
          "--setenv",
          "DENO_DIR",
          RUNTIME_DIR,
          "--setenv",
          "NO_COLOR",
          "1",
          "--setenv",
          "DENO_NO_UPDATE_CHECK",
          "1",
          "--ro-bind-try",
          deno,
          deno,
          "--ro-bind-try",
          SRC,
          SRC,
          "--ro-bind",
          dir,
          INSIDE,
          "--",
          deno,
          ...args,
          "--no-lock",
          "--no-config",
          `--import-map=${INSIDE}/import_map.json`,
        ],
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const [checked, info] = await Promise.all([
      inView(["check", "--quiet", `${INSIDE}/check.ts`]),
      inView(["info", "--json", modulePath]),
    ]);
    const text = new TextDecoder().decode(checked.stderr) +
      new TextDecoder().decode(checked.stdout);
    const files = localFiles(new TextDecoder().decode(info.stdout));
    if (checked.success) return { checked: true, errors: [], files };
    const all = parseDiagnostics(text, `${INSIDE}/check.ts`, modulePath);
    const errors = all.filter((e) => !NOT_REFUSING.test(e.code));
    if (errors.length) return { checked: true, errors, files };
    if (all.length) return { checked: true, errors: [], files };
    const other = text.replaceAll(ESC, "").split(/^Stack backtrace:/m)[0].trim();
    return { checked: true, errors: [], files, other };
  } catch (e) {
    return { checked: false, errors: [], files: [], other: (e as Error).message };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The check's verdict for a hook under its policy's `"typecheck"`. */
export interface TypeVerdict {
  /** The report. */
  readonly report: TypeReport;
  /** Set when the hook must not run: the log's message. */
  readonly refusal?: { message: string; cause: string };
  /** Set when it runs with errors (`"typecheck": "warn"`): the log's message. */
  readonly warning?: string;
}

/**
 * Judges `report` under the policy's `"typecheck"` (`"error"` by default).
 *
 * @example
 * ```ts
 * import { EXIT } from "../contract.ts";
 * import { loadPolicy } from "../sandbox/policy.ts";
 * import { LaunchRefused, planHook } from "./plan.ts";
 * import { judgeTypes, typecheckHook } from "./typecheck.ts";
 * export async function mustTypeCheck(path = "/etc/slurm/hooks/p.ts") {
 *   const policy = loadPolicy(path, "prolog");
 *   const report = await typecheckHook(path, policy, planHook(path, "prolog"));
 *   const v = judgeTypes(report, policy);
 *   if (v.refusal) throw new LaunchRefused(EXIT.SANDBOX, v.refusal.message, v.refusal.cause);
 * }
 * ```
 */
export function judgeTypes(report: TypeReport, policy: Policy, hook?: HookName): TypeVerdict {
  if (!report.errors.length) return { report };
  const list = formatTypeErrors(report.errors);
  const where = policy.configPath ?? "a deno.json beside the module";
  if (policy.file?.typecheck === "warn") {
    return {
      report,
      warning: `does not type-check; run anyway ("typecheck": "warn" in ${where}):\n${list}`,
    };
  }
  return {
    report,
    refusal: {
      message: `does not type-check, so it does not run${
        hook ? ` as ${hook}` : ""
      }; fix the errors (or set "typecheck": "warn" in ${where} to run it anyway):\n${list}`,
      cause: typeCause(report.errors),
    },
  };
}
