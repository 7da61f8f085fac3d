// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The kernel wall around a hook: a bubblewrap (bwrap) command line whose
 * filesystem view holds only what the runner needs plus the policy's paths.
 * Deno's permissions are the inner wall; this one also closes what Deno does
 * not gate (imports of local files, children started with `run`).
 *
 * @module
 */

import type { Permissions } from "./policy.ts";

/** What the sandbox must contain besides the policy's paths. */
export interface SandboxSpec {
  /** Files or folders the runner itself executes from, bound read-only. */
  readonly runtimePaths: readonly string[];
  /** The hook's code: its policy folder, or the module file alone. */
  readonly hookRoot: string;
  /** The hook's permissions; `read`/`write` paths become binds, `net` a network. */
  readonly permissions: Permissions;
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
 * to run after `--`).
 *
 * @example
 * ```ts
 * const args = bwrapArgs({ runtimePaths: ["/usr/local/bin/prep-deno"], hookRoot: "/etc/slurm/hooks",
 *   permissions: { read: ["/scratch"] }, setenv: {} });
 * ```
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const { permissions: p } = spec;
  const a: string[] = [];
  // Whole-root grants first: every later bind and tmpfs lands on top.
  if (p.write === true) a.push("--bind", "/", "/");
  else if (p.read === true) a.push("--ro-bind", "/", "/");
  a.push(...systemDirs());
  a.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  for (const f of ETC_FOR_LOOKUPS) a.push("--ro-bind-try", f, f);
  if (p.net || p.import) { for (const f of ETC_FOR_NET) a.push("--ro-bind-try", f, f); }
  for (const path of spec.runtimePaths) a.push("--ro-bind", path, path);
  a.push("--ro-bind", spec.hookRoot, spec.hookRoot);
  for (const w of spec.runtimeWritable ?? []) a.push("--bind", w, w);
  if (Array.isArray(p.read)) { for (const r of p.read) a.push("--ro-bind-try", r, r); }
  if (Array.isArray(p.write)) { for (const w of p.write) a.push("--bind-try", w, w); }
  if (Array.isArray(p.ffi)) { for (const f of p.ffi) a.push("--ro-bind-try", f, f); }
  a.push(
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
  );
  // Remote imports need the network as much as `net` does.
  if (!p.net && !p.import) a.push("--unshare-net");
  for (const [k, v] of Object.entries(spec.setenv)) a.push("--setenv", k, v);
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
