// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A hook's launch plan: the bwrap view and the one `deno run` command line
 * that carries the policy as Deno's own permission flags. Computed by Deno
 * only when the policy changed (the native launcher caches it, keyed by the
 * stat of every file and folder in {@linkcode LaunchPlan.deps}); executed by
 * the native launcher, never by a second Deno process.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadPolicy, type Permissions, type Policy, PolicyError } from "../sandbox/policy.ts";
import { HELPER_MODULE_PATHS } from "../helpers/paths.ts";
import { WALK_TOOL } from "../helpers/walk_tool.ts";
import type { KernelView } from "../sandbox/view.ts";
import { bwrapArgs, fdBinds, findBwrap, sandboxedCommand } from "../sandbox/sandbox.ts";
import { viewDeps } from "../sandbox/view.ts";
import { covers } from "../sandbox/trust.ts";
import { encodePrivileged, PRIVILEGED_SOCKET } from "../sandbox/privileged.ts";
import { importMapUrl, runtimeModulePaths } from "../sandbox/import_map.ts";
import { moduleLinkLeavingRoot } from "../sandbox/module_link.ts";
import type { HookName } from "../types.ts";
import { EXIT, LAUNCHER } from "../contract.ts";
import { DENO_ANALYSIS_CACHE, ENTRY_ANALYSIS_FILE, SANDBOX_RUNTIME_ENV } from "./constants.ts";

export { SANDBOX_RUNTIME_ENV };

/** The prebuilt in-sandbox entry (scripts/build.ts bundles src/launch/entry.ts). */
const ENTRY_PATH = fileURLToPath(new URL("../../build/entry.js", import.meta.url));
/** Deno's analysis of the entry, made with it (seeds each hook's DENO_DIR). */
const ENTRY_ANALYSIS_PATH = join(dirname(ENTRY_PATH), ENTRY_ANALYSIS_FILE);

/** One file the launcher copies into the sandbox before the hook starts (bwrap `--file`). */
export interface SeedFile {
  /** The file outside, root's own (the launcher skips it otherwise). */
  readonly host: string;
  /** Where it goes in the sandbox: a writable tmpfs of the sandbox's own. */
  readonly sandbox: string;
}

/**
 * What launches one hook.
 *
 * @example
 * ```ts
 * import { type LaunchPlan, planHook } from "./plan.ts";
 * export function prologPlan(): LaunchPlan {
 *   // bwrap ...plan.bwrapArgs --bind STATUS STATUS_PATH -- ...plan.command
 *   return planHook("/etc/slurm/hooks/prolog.ts", "prolog");
 * }
 * ```
 */
export interface LaunchPlan {
  /** The bwrap binary. */
  readonly bwrap: string;
  /** bwrap's arguments, without the status bind and `--`. */
  readonly bwrapArgs: readonly string[];
  /** `deno run ...flags entry.js ...entryArgs`, starting with the deno path. */
  readonly command: readonly string[];
  /** Every file or folder whose change may change this plan (policy lookup). */
  readonly deps: readonly string[];
  /** Files copied into the sandbox at start: a head start for Deno's cache, never needed. */
  readonly seeds?: readonly SeedFile[];
  /**
   * The policy's privileged commands as the launcher's broker reads them
   * ({@linkcode encodePrivileged}); empty: no broker, no socket.
   */
  readonly privileged?: readonly string[];
  /**
   * Grants the launcher binds by a descriptor it opens at launch without
   * following a link (pairs: `rw`/`ro`, the path; see `byFd` in trust.ts).
   */
  readonly fdBinds?: readonly string[];
}

/** A hook the runner refuses to launch: its exit status and why. */
export class LaunchRefused extends Error {
  override name = "LaunchRefused";
  /** The exit status to end with. */
  readonly status: number;
  /** The short answer to "why" (the cause line); the message when unset. */
  readonly shortCause: string;
  constructor(status: number, message: string, cause: string = message) {
    super(message);
    this.status = status;
    this.shortCause = cause;
  }
}

/**
 * Flags every hook's `deno run` gets before its permission flags. No V8
 * code cache: each hook's Deno cache is new and private (the view's /tmp),
 * so creating one costs ~10 ms and never pays back. (A read-only cache made
 * at build time was tried: Deno's cache databases are SQLite in WAL mode,
 * and opening them read-only is far slower than making new ones.) Worker
 * options: the Workers a hook starts are given permissions without `run`
 * (src/sandbox/child_env.ts).
 */
const DENO_HOOK_FLAGS = [
  "run",
  "--no-config",
  "--no-lock",
  "--no-prompt",
  "--no-code-cache",
  "--unstable-worker-options",
];

/**
 * The name a policy's `run` may give the helpers' walk tool (where a
 * {@linkcode walkToolAllowed} check would not allow it by itself): the
 * runner puts the tool's path in its place.
 *
 * @example
 * ```ts
 * const policy = { permissions: { prolog: { run: [WALK_TOOL_NAME] } } };
 * ```
 */
export const WALK_TOOL_NAME = "prep-deno-walk";

/**
 * The helpers' walk tool when this build made it (a sandbox binds it): else nothing.
 *
 * @example
 * ```ts
 * walkToolPaths(); // ["/usr/lib/prep-deno/build/prep-deno-walk"] when installed
 * ```
 */
export function walkToolPaths(): string[] {
  try {
    return Deno.statSync(WALK_TOOL).isFile ? [WALK_TOOL] : [];
  } catch {
    return [];
  }
}

/**
 * Whether a hook may run the helpers' walk tool (`build/prep-deno-walk`)
 * without being asked to list it: the tool runs with the hook's own uid,
 * capabilities and view and executes nothing, so the only thing it could
 * add is a write Deno's own wall refuses: allowed only when every folder
 * the view lets it write (`write` of the sandbox set) is one the permission
 * set's `write` covers too. See docs/security.md.
 *
 * @example
 * ```ts
 * import { resolveView } from "../sandbox/view.ts";
 * import { walkToolAllowed } from "./plan.ts";
 * walkToolAllowed({ write: ["/tmp"] }, resolveView(undefined, { write: ["/tmp"] }, {})); // true
 * walkToolAllowed({ write: ["/tmp/jobs"] }, resolveView({ write: ["/tmp"] }, {}, {})); // false
 * ```
 */
export function walkToolAllowed(p: Permissions, view: KernelView | undefined): boolean {
  if (p.all === true || p.write === true) return true;
  if (view?.writeAll) return false;
  const writes = p.write ?? [];
  return (view?.write ?? []).every((g) =>
    writes.some((w) => covers(w, g.path) || covers(w, g.real))
  );
}

/**
 * What a hook's sandbox is made of: its hook root (what its own imports may
 * reach: the policy's folder, or the module file alone) and its Deno
 * permissions (the policy's, plus `read` of the hook root: Deno gates a
 * dynamic import of local code behind `read`, plus `run` of the helpers'
 * walk tool when {@linkcode walkToolAllowed}).
 */
export function hookSandbox(
  modulePath: string,
  policy: Policy,
): { hookRoot: string; permissions: Permissions } {
  const hookRoot = policy.hookRoot ?? (policy.configPath ? dirname(policy.configPath) : modulePath);
  const p = policy.permissions;
  // The runner's helpers (src/helpers, src/mod.ts) are importable by any hook.
  const withRead = p.read === true || p.all === true ? p : {
    ...p,
    read: [...(p.read ?? []), hookRoot, ...HELPER_MODULE_PATHS, ...runtimeModulePaths()],
  };
  // `"run": ["prep-deno-walk"]` names the tool wherever this build has it.
  const tool = walkToolPaths();
  const run = Array.isArray(p.run)
    ? [...new Set(p.run.map((r) => r === WALK_TOOL_NAME ? WALK_TOOL : r))]
    : p.run;
  const named = Array.isArray(run) && run.includes(WALK_TOOL);
  const permissions = p.all === true || run === true || named || tool.length === 0 ||
      !walkToolAllowed(p, policy.view)
    ? (run === p.run ? withRead : { ...withRead, run })
    : { ...withRead, run: [...(run ?? []), ...tool] };
  return { hookRoot, permissions };
}

/**
 * Deno's permission flags for `p`; `extraWrite` are paths of the runner's own
 * added to a write list. Absent kinds are denied (no flag); with no `import`
 * grant, remote modules and npm are off.
 *
 * @example
 * ```ts
 * denoPermissionFlags({ read: ["/etc/slurm"], env: true }, []);
 * // ["--allow-read=/etc/slurm", "--allow-env", "--deny-import", "--no-npm"]
 * ```
 */
export function denoPermissionFlags(
  p: Permissions,
  extraWrite: readonly string[],
  extraEnv: readonly string[] = [],
): string[] {
  // `npm:` is not gated by Deno's import check: off unless `import` names the registry.
  const npm = p.all === true || p.import === true ||
    (p.import ?? []).some((h) => h === NPM_REGISTRY_HOST || h.startsWith(`${NPM_REGISTRY_HOST}:`));
  if (p.all === true) return ["--allow-all"];
  const flags: string[] = [];
  const list = (kind: string, items: readonly string[]) => {
    const bad = items.find((i) => i.includes(","));
    if (bad !== undefined) {
      throw new LaunchRefused(
        EXIT.SANDBOX,
        `the "${kind}" grant "${bad}" contains a comma, which Deno's permission flags cannot carry; rename the path or grant its folder`,
      );
    }
    return items.join(",");
  };
  for (const kind of ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const) {
    // "/" in a list is the whole host: the global flag, which a revoke of
    // one path below it leaves alone (see the refusal below).
    const grant = Array.isArray(p[kind]) && (p[kind] as string[]).includes("/") ? true : p[kind];
    if (kind === "write" && Array.isArray(grant)) {
      // The entry revokes its own write of each extra path (the status
      // file) before the hook runs, and Deno's revoke of a path also
      // drops every listed grant above it: the hook would silently lose it.
      for (const own of extraWrite) {
        const above = grant.find((g) => covers(g, own));
        if (above !== undefined) {
          throw new LaunchRefused(
            EXIT.SANDBOX,
            `the "write" grant "${above}" covers ${LAUNCHER.RUN_DIR}, which is the runner's own in every view (a fresh tmpfs: nothing of the host's is there); grant the folders under "${above}" that the hook writes instead`,
          );
        }
      }
    }
    const extra = kind === "write" ? extraWrite : kind === "env" ? extraEnv : [];
    if (grant === true) flags.push(`--allow-${kind}`);
    else if ((grant?.length ?? 0) + extra.length > 0) {
      flags.push(`--allow-${kind}=${list(kind, [...(grant ?? []), ...extra])}`);
    }
  }
  // No runtime downloads unless `import` grants them.
  if (!p.import) flags.push("--deny-import");
  if (!npm) flags.push("--no-npm");
  return flags;
}

/** The npm registry Deno downloads `npm:` packages from. */
const NPM_REGISTRY_HOST = "registry.npmjs.org";

/** The folders and config names the policy lookup of `modulePath` reads. */
export function policyDeps(modulePath: string): string[] {
  const deps: string[] = [];
  for (let d = dirname(modulePath);; d = dirname(d)) {
    deps.push(d, join(d, "deno.json"), join(d, "deno.jsonc"));
    if (dirname(d) === d) return deps;
  }
}

/**
 * Another program to run in a hook's view instead of build/entry.js (the
 * warm service's hosts): the same view and permissions, its own command.
 */
export interface OtherEntry {
  /** Files or folders it executes from, bound read-only (the deno binary is always). */
  runtimePaths: readonly string[];
  /** Folders of its own, bound read-write after the runner's state is masked. */
  runtimeWritable?: readonly string[];
  /** Its command line from the deno path and the policy's permission flags. */
  command: (deno: string, permissionFlags: readonly string[], policy: Policy) => string[];
}

/**
 * The plan for `hook` of the module at `modulePath` (absolute): by default
 * build/entry.js, or `other`'s command in the same view. `env` is the job's
 * environment; `slurmConf` the daemon's own slurm.conf (`run --slurm-conf`,
 * from the plugin), which `slurm: true` uses before the environment's.
 *
 * @throws {LaunchRefused} when the module is missing, the policy unusable or
 * bwrap not installed; the message names the file and the fix.
 */
export function planHook(
  modulePath: string,
  hook: HookName,
  other?: OtherEntry,
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
  slurmConf?: string,
): LaunchPlan {
  try {
    if (!Deno.statSync(modulePath).isFile) {
      throw new LaunchRefused(
        EXIT.NOT_FOUND,
        "the module is not a file; check Prolog=/Epilog= in slurm.conf",
      );
    }
  } catch (e) {
    if (e instanceof LaunchRefused) throw e;
    throw new LaunchRefused(
      EXIT.NOT_FOUND,
      "the module does not exist or cannot be read; check Prolog=/Epilog= in slurm.conf",
    );
  }
  let policy: Policy;
  try {
    policy = loadPolicy(modulePath, hook, slurmConf ? { ...env, SLURM_CONF: slurmConf } : env);
  } catch (e) {
    if (e instanceof PolicyError) throw new LaunchRefused(EXIT.SANDBOX, e.message);
    throw e;
  }
  // bwrap would bind what the link names: any file of the node, as code.
  const leaving = moduleLinkLeavingRoot(modulePath, policy.configPath);
  if (leaving) throw new LaunchRefused(EXIT.SANDBOX, leaving);
  const bwrap = findBwrap();
  if (!bwrap) {
    throw new LaunchRefused(
      EXIT.SANDBOX,
      "bubblewrap (bwrap) is not installed; hooks never run without the kernel sandbox: apt-get install bubblewrap",
    );
  }
  const sandbox = hookSandbox(modulePath, policy);
  const { hookRoot } = sandbox;
  const privileged = encodePrivileged(policy.view.privileged ?? []);
  // The broker's socket (the launcher binds it there): Deno gates a unix
  // socket's connect behind `net` of "unix:PATH" and read and write of the
  // path. The view's network stays as the policy set it (decided before this).
  const permissions = privileged.length === 0 ? sandbox.permissions : {
    ...sandbox.permissions,
    net: addPath(sandbox.permissions.net, `unix:${PRIVILEGED_SOCKET}`),
    read: addPath(sandbox.permissions.read, PRIVILEGED_SOCKET),
    write: addPath(sandbox.permissions.write, PRIVILEGED_SOCKET),
  };
  const deno = Deno.execPath();
  return {
    bwrap,
    bwrapArgs: [
      ...bwrapArgs({
        runtimePaths: [
          deno,
          ...(other ? other.runtimePaths : [ENTRY_PATH]),
          ...HELPER_MODULE_PATHS,
          ...runtimeModulePaths(),
          ...walkToolPaths(),
        ],
        hookRoot,
        view: policy.view,
        setenv: SANDBOX_RUNTIME_ENV,
        // Bound after the tmpfs over the runner's state (a hook that could
        // write a plan could grant the next hook anything).
        runtimeWritable: other?.runtimeWritable,
      }),
    ],
    command: sandboxedCommand(
      { hookRoot, view: policy.view },
      other ? other.command(deno, denoPermissionFlags(permissions, []), policy) : [
        deno,
        ...DENO_HOOK_FLAGS,
        // "prep-deno" and the policy's "imports" (a policy is not a config).
        "--import-map",
        importMapUrl(policy.configPath),
        // The entry takes the runtime's own variables out of the process
        // (commands the hook runs must not inherit them), then revokes them.
        ...denoPermissionFlags(
          permissions,
          [LAUNCHER.STATUS_PATH],
          // With `slurm: true`, SLURM_CONF too: the helpers hand it to Slurm's commands.
          [...Object.keys(SANDBOX_RUNTIME_ENV), ...(policy.view.slurm ? ["SLURM_CONF"] : [])],
        ),
        ENTRY_PATH,
        pathToFileURL(modulePath).href,
        hook,
        policy.configPath ?? "",
        policy.setName ?? "",
        // For capability hints: the sandbox set and what it keeps.
        JSON.stringify({
          set: policy.view.setName ?? hook,
          capabilities: policy.view.capabilities,
        }),
      ],
    ),
    privileged,
    fdBinds: boundedFdBinds(policy),
    // The module itself: replaced by a link, it is checked again.
    deps: [...policyDeps(modulePath), modulePath, ...viewDeps(policy.view)],
    // Into the DENO_DIR in the view's private tmpfs (see bwrapArgs).
    seeds: other ? [] : [{
      host: ENTRY_ANALYSIS_PATH,
      sandbox: join(SANDBOX_RUNTIME_ENV.DENO_DIR, DENO_ANALYSIS_CACHE),
    }],
  };
}

/** `grant` with `path` added (a grant of everything stays one). */
function addPath(grant: Permissions["read"], path: string): Permissions["read"] {
  return grant === true ? true : [...(grant ?? []), path];
}

/**
 * The plan as the native launcher reads it: NUL-terminated strings, each
 * list preceded by its length: deps, bwrap and its arguments, command,
 * seeds (pairs: the file outside, its path in the sandbox), privileged
 * commands (see encodePrivileged in src/sandbox/privileged.ts), descriptor binds
 * (pairs: `rw`/`ro`, the path).
 */
export function encodePlan(plan: LaunchPlan): Uint8Array {
  const parts: string[] = [LAUNCHER.PLAN_MAGIC];
  const seeds = (plan.seeds ?? []).slice(0, LAUNCHER.MAX_SEEDS).flatMap((f) => [f.host, f.sandbox]);
  for (
    const list of [
      plan.deps,
      [plan.bwrap, ...plan.bwrapArgs],
      plan.command,
      seeds,
      plan.privileged ?? [],
      plan.fdBinds ?? [],
    ]
  ) {
    parts.push(String(list.length), ...list);
  }
  for (const p of parts) {
    if (p.includes("\0")) {
      throw new LaunchRefused(
        EXIT.SANDBOX,
        `a path or value contains a NUL byte: ${JSON.stringify(p)}`,
      );
    }
  }
  return new TextEncoder().encode(parts.map((p) => p + "\0").join(""));
}

/**
 * The grants the launcher binds by descriptor, at most
 * `LAUNCHER.MAX_FD_BINDS`: past it the policy is refused, never cut short.
 */
function boundedFdBinds(policy: Policy): string[] {
  const binds = fdBinds(policy.view);
  if (binds.length / 2 > LAUNCHER.MAX_FD_BINDS) {
    throw new PolicyError(
      `${policy.configPath ?? "the policy"}: ${binds.length / 2} grants inside folders a service ` +
        `user owns are bound by descriptor, at most ${LAUNCHER.MAX_FD_BINDS} are: grant their ` +
        `common folder instead`,
    );
  }
  return binds;
}
