// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The kernel wall around a hook: a bubblewrap (bwrap) command line whose
 * filesystem view holds only what the runner needs plus the policy's paths.
 * Deno's permissions are the inner wall; this one also closes what Deno does
 * not gate (imports of local files, children started with `run`).
 *
 * @module
 */

import type { Permissions } from "./permissions.ts";
import { covers, type ResolvedGrant } from "./trust.ts";
import { CGROUP_FS, type KernelView, SETPRIV } from "./view.ts";
import { LAUNCHER } from "../contract.ts";

export { SETPRIV };

/** What the sandbox must contain besides the policy's paths. */
export interface SandboxSpec {
  /** Files or folders the runner itself executes from, bound read-only. */
  readonly runtimePaths: readonly string[];
  /** The hook's code: its policy folder, or the module file alone. */
  readonly hookRoot: string;
  /** The hook's permissions (kept for callers; the view below decides the binds). */
  readonly permissions?: Permissions;
  /** The kernel view the policy asks for, resolved (`Policy.view`). */
  readonly view: KernelView;
  /** Environment set inside the sandbox only (for the runtime, not the hook). */
  readonly setenv: Readonly<Record<string, string>>;
  /** Folders of the runner's own, bound read-write (the warm host's socket). */
  readonly runtimeWritable?: readonly string[];
}

/** The few /etc files user, group and host name lookups need. */
const ETC_FOR_LOOKUPS = [
  "/etc/passwd",
  "/etc/group",
  "/etc/nsswitch.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/localtime",
  "/etc/ld.so.cache",
];
/**
 * What commands a hook runs need to start on Debian and RHEL: the
 * alternatives (`/usr/bin/awk` is a link into /etc/alternatives), the
 * loader's config, locale and SELinux settings, service names.
 */
const ETC_FOR_COMMANDS = [
  "/etc/alternatives",
  "/etc/ld.so.conf",
  "/etc/ld.so.conf.d",
  "/etc/ld.so.preload",
  "/etc/locale.conf",
  "/etc/default/locale",
  "/etc/selinux/config",
  "/etc/os-release",
  "/etc/services",
  "/etc/protocols",
  "/etc/terminfo",
  "/etc/login.defs",
  "/etc/shells",
];
/** Added only when the hook may use the network. */
const ETC_FOR_NET = ["/etc/resolv.conf", "/etc/ssl", "/etc/ca-certificates", "/etc/gai.conf"];

/**
 * Where bubblewrap is looked for, first hit wins. Fixed paths on purpose: the
 * runner runs as root with the job's environment, which must not be able to
 * choose the sandbox.
 */
export const BWRAP_PATHS = ["/usr/bin/bwrap", "/usr/local/bin/bwrap"];

/** The bwrap binary, or undefined when none is installed. */
export function findBwrap(): string | undefined {
  for (const p of BWRAP_PATHS) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* try the next one */ }
  }
  return undefined;
}

/**
 * The bwrap arguments (without the bwrap path itself and without the command
 * to run after `--`). Pure: every path in `spec.view` was resolved and
 * checked by the policy.
 *
 * @example
 * ```ts
 * import { loadPolicy } from "./policy.ts";
 * import { bwrapArgs } from "./sandbox.ts";
 * export function prologArgs(): string[] {
 *   const policy = loadPolicy("/etc/slurm/hooks/prolog.ts", "prolog");
 *   return bwrapArgs({
 *     runtimePaths: ["/usr/local/bin/prep-deno"],
 *     hookRoot: policy.hookRoot,
 *     view: policy.view,
 *     setenv: {},
 *   });
 * }
 * ```
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const v = spec.view;
  const a: string[] = [];
  const rootBound = v.writeAll || v.readAll;
  // Whole-root grants first: every later bind and tmpfs lands on top.
  if (v.writeAll) a.push("--bind", "/", "/");
  else if (v.readAll) a.push("--ro-bind", "/", "/");
  else a.push(...systemDirs());
  a.push("--proc", "/proc");
  // bwrap means to make /proc/sys read-only, but skips it when access(W_OK)
  // fails, and the kernel answers EACCES for /proc/sys itself whoever asks:
  // run as root, the hook could then write kernel.core_pattern (a command
  // the kernel runs as root outside every namespace) or any other sysctl.
  a.push("--ro-bind", "/proc/sys", "/proc/sys");
  a.push("--ro-bind-try", "/proc/sysrq-trigger", "/proc/sysrq-trigger");
  a.push("--dev", "/dev", "--tmpfs", "/tmp");
  if (!rootBound) {
    for (const f of [...ETC_FOR_LOOKUPS, ...ETC_FOR_COMMANDS]) a.push("--ro-bind-try", f, f);
    if (v.network) { for (const f of ETC_FOR_NET) a.push("--ro-bind-try", f, f); }
  }
  if (v.slurm) {
    a.push("--ro-bind", v.slurm.confDir, v.slurm.confDir);
    // connect() needs no write access to the socket's mount: read-only is enough.
    if (v.slurm.mungeDir) a.push("--ro-bind", v.slurm.mungeDir, v.slurm.mungeDir);
    // Slurm's commands the hook runs read the file the policy was planned
    // with (the daemon's own, which slurmctld does not put in a hook's environment).
    if (v.slurm.confPath) a.push("--setenv", "SLURM_CONF", v.slurm.confPath);
  }
  for (const g of v.read) a.push(...bind("--ro-bind", g));
  for (const g of v.write) a.push(...bind("--bind", g));
  for (const g of v.devices) a.push(...bind("--dev-bind", g));
  // The hook's own limits (pids, memory) live in the cgroup filesystem: a
  // process written into another cgroup would leave them. Read-only after
  // every grant (bubblewrap remounts the submounts too).
  if (v.writeAll) a.push("--ro-bind-try", CGROUP_FS, CGROUP_FS);
  // The runner and the hook's own code last: no grant makes them writable.
  for (const path of spec.runtimePaths) a.push("--ro-bind", path, path);
  a.push("--ro-bind", spec.hookRoot, spec.hookRoot);
  // Slurm's secrets after every other bind (a `read` of slurm.conf's folder
  // or of a folder above, the hook root), wherever the view has them.
  if (v.slurm) a.push(...slurmMasks(v, spec));
  // The runner's own state after every grant: the host's (plans, status
  // files, the warm service's sockets) is out of every view, and the tmpfs
  // in its place holds the runner's in-sandbox files (Deno's cache, the
  // status file, seeds). Its host counterpart is root's in root's /run: a
  // grant of the host's /tmp, or of the whole host, brings no name there
  // that a local user could prepare or swap.
  a.push("--tmpfs", LAUNCHER.RUN_DIR);
  for (const w of spec.runtimeWritable ?? []) a.push("--bind", w, w);
  if (!v.hostProcesses) a.push("--unshare-pid");
  a.push(
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
  );
  for (const c of v.capabilities) a.push("--cap-add", c);
  // For the wrapper of sandboxedCommand(), which drops both before the hook.
  if (v.hostProcesses) a.push("--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP");
  if (!v.network) a.push("--unshare-net");
  // Slurm gives hooks no PATH; without one, Deno would give the hook's
  // commands its node shim's folder as their whole PATH.
  a.push("--setenv", "PATH", CHILD_PATH);
  for (const [k, val] of Object.entries(spec.setenv)) a.push("--setenv", k, val);
  return a;
}

/** The masks over what `slurm: true` hides (see src/sandbox/view_slurm.ts) that lie in the view. */
function slurmMasks(v: KernelView, spec: SandboxSpec): string[] {
  const slurm = v.slurm!;
  const inView = (p: string) =>
    v.readAll || v.writeAll ||
    [
      slurm.confDir,
      spec.hookRoot,
      ...spec.runtimePaths,
      ...[...v.read, ...v.write].map((g) => g.real),
    ]
      .some((o) => covers(o, p));
  const a: string[] = [];
  for (const d of slurm.hiddenDirs ?? []) {
    if (inView(d)) a.push("--tmpfs", d, "--remount-ro", d);
  }
  for (const f of slurm.hidden ?? []) if (inView(f)) a.push("--ro-bind", "/dev/null", f);
  return a;
}

/** A resolved grant bound at its real path, and at the name the policy used when that was a symlink. */
function bind(how: string, g: ResolvedGrant): string[] {
  // Bound by the launcher from a descriptor (fdBinds), after these.
  const a = g.byFd ? [] : [how, g.real, g.real];
  if (g.isLink) a.push("--symlink", g.real, g.path);
  return a;
}

/** /usr read-only, and /bin, /lib, /lib64, /sbin as the host has them. */
function systemDirs(): string[] {
  const a = ["--ro-bind", "/usr", "/usr"];
  for (const d of ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]) {
    let target: string | undefined;
    try {
      target = Deno.readLinkSync(d);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      // Not a symlink: a real folder (non merged-/usr systems).
      a.push("--ro-bind", d, d);
      continue;
    }
    a.push("--symlink", target, d);
  }
  return a;
}

/** The PATH a hook's commands get when the job gives none, as a shell prolog's. */
export const CHILD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The group the hook's processes run as when they share the node's PID
 * namespace (`processes: "host"`); their user stays root. See
 * {@linkcode hostProcessesGid}.
 */
export const HOST_PROCESSES_GIDS = { first: 2147483647 - 0x100000, count: 0x100000 } as const;

/**
 * The group of a hook with `processes: "host"`: one of
 * {@linkcode HOST_PROCESSES_GIDS}, from its hook root and view.
 *
 * Why: bubblewrap's own process outside the sandbox (the one that waits for
 * it) runs as root with no capabilities and in the host's mount namespace.
 * The kernel lets a process open another's `/proc/PID/root` when both have
 * the same user and group and the target holds no capability the caller
 * lacks, so a root hook that sees the node's processes could reach the whole
 * host through that process's root. These groups are no process's on the
 * node (not root's 0, not nogroup's 65534, which a hook with `CAP_SETUID`
 * could pair with user nobody), so that check fails, and the hook cannot
 * change its group: `CAP_SETGID` is never kept with `processes: "host"`.
 * Hooks with another root or view get another group, so they cannot reach
 * each other's views either; runs of the same hook share one (and a view).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HOST_PROCESSES_GIDS, hostProcessesGid } from "./sandbox.ts";
 * import { resolveView } from "./view.ts";
 * const view = resolveView({ processes: "host" }, {}, {});
 * const gid = hostProcessesGid("/etc/slurm/hooks", view); // e.g. 2146918264
 * assert.ok(gid >= HOST_PROCESSES_GIDS.first);
 * assert.equal(hostProcessesGid("/etc/slurm/hooks", view), gid); // stable
 * ```
 */
export function hostProcessesGid(hookRoot: string, view: KernelView): number {
  // FNV-1a: stable across runs and builds, which a plan cache needs.
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(JSON.stringify([hookRoot, view]))) {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return HOST_PROCESSES_GIDS.first + (h % HOST_PROCESSES_GIDS.count);
}

/**
 * The command bwrap runs for `command`: `command` itself, or, with
 * `processes: "host"`, `command` behind setpriv, which sets the group to
 * {@linkcode hostProcessesGid} (root's supplementary groups are kept, so
 * files readable by group root still are) and drops `CAP_SETGID` and
 * `CAP_SETPCAP`, added by {@linkcode bwrapArgs} for it alone.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SETPRIV, sandboxedCommand } from "./sandbox.ts";
 * import { resolveView } from "./view.ts";
 * const view = resolveView({ processes: "host" }, {}, {});
 * const argv = sandboxedCommand({ hookRoot: "/etc/slurm/hooks", view }, ["deno", "run", "entry.js"]);
 * assert.equal(argv[0], SETPRIV);
 * assert.deepEqual(argv.slice(-3), ["deno", "run", "entry.js"]);
 * ```
 */
export function sandboxedCommand(
  sandbox: { readonly hookRoot: string; readonly view: KernelView },
  command: readonly string[],
): string[] {
  if (!sandbox.view.hostProcesses) return [...command];
  const drop = "-setgid,-setpcap";
  return [
    SETPRIV,
    `--regid=${hostProcessesGid(sandbox.hookRoot, sandbox.view)}`,
    "--keep-groups",
    `--inh-caps=${drop}`,
    `--ambient-caps=${drop}`,
    `--bounding-set=${drop}`,
    "--",
    ...command,
  ];
}

/**
 * The grants the launcher binds by descriptor (see `byFd` in trust.ts), as
 * the plan carries them: pairs of `rw` or `ro` and the real path.
 *
 * @example
 * ```ts
 * import { fdBinds } from "./sandbox.ts";
 * import { resolveView } from "./view.ts";
 * fdBinds(resolveView({}, { write: ["/tmp"] }, {})); // [] unless /tmp is bound by descriptor
 * ```
 */
export function fdBinds(v: KernelView): string[] {
  return [
    ...v.read.filter((g) => g.byFd).flatMap((g) => ["ro", g.real]),
    ...v.write.filter((g) => g.byFd).flatMap((g) => ["rw", g.real]),
  ];
}
