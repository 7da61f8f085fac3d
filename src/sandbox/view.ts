// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The kernel view a policy asks for: the top-level `"sandbox"` object of a
 * hook's `deno.json`, next to Deno's own `"permissions"`. Its sets are
 * named like the permission sets (the hook's name, else `default`):
 *
 * ```jsonc
 * {
 *   "permissions": { "prolog": { "run": ["/usr/bin/nvidia-smi"] } },
 *   "sandbox": {
 *     "prolog": {
 *       "devices": ["/dev/nvidia*"],           // bound as usable devices
 *       "capabilities": ["CAP_CHOWN"],        // nothing else is kept
 *       "write": ["/tmp", "/dev/shm"],        // host paths bound read-write
 *       "read": ["/etc/slurm"],               // host paths bound read-only
 *       "processes": "host",                  // the node's PID namespace and /proc
 *       "slurm": true                          // slurm.conf, munge, the network
 *     }
 *   }
 * }
 * ```
 *
 * This module checks the words; {@linkcode resolveView} turns them into
 * host paths checked once, here, before the sandbox starts.
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import type { Grant, Permissions } from "./permissions.ts";
import { covers, GrantError, type ResolvedGrant, resolveGrant } from "./trust.ts";
import { expandDevice } from "./view_devices.ts";
import { unknownNameFix } from "./did_you_mean.ts";
import {
  parsePrivileged,
  type PrivilegedCommand,
  PrivilegedError,
  programHops,
} from "./privileged.ts";
import { createMissing, type CreateSpec, parseCreate } from "./view_create.ts";
import { resolveSlurmClient, type SlurmClientPaths } from "./view_slurm.ts";

export {
  mungeSocketPath,
  SLURM_SECRETS,
  type SlurmClientPaths,
  slurmConfPath,
} from "./view_slurm.ts";

/** util-linux's setpriv, which `processes: "host"` needs (see `sandboxedCommand` in sandbox.ts). */
export const SETPRIV = "/usr/bin/setpriv";

/**
 * The cgroup filesystem: never writable in a view (a `write` grant of it, in
 * it or above it is refused; `write: true` gets it read-only, src/sandbox/sandbox.ts).
 */
export const CGROUP_FS = "/sys/fs/cgroup";

/** The host's /proc itself, or a process's folder in it: never bound (see resolveView). */
const HOST_PROC = /^\/proc(\/(\d+|self|thread-self)(\/.*)?)?$/;

/** The names a permission or sandbox set may have: a hook's export name, or `default`. */
export const SET_NAMES = [
  "prolog",
  "epilog",
  "prologSlurmctld",
  "epilogSlurmctld",
  "default",
] as const;

/** The keys of a sandbox set. */
export const VIEW_KEYS = [
  "read",
  "write",
  "devices",
  "capabilities",
  "processes",
  "slurm",
  "privileged",
  "create",
] as const;

/**
 * Linux capabilities a hook may keep (capabilities(7)); every other one is
 * dropped. Left out on purpose, because each one undoes the sandbox:
 * `CAP_SYS_ADMIN` (mounts), `CAP_SYS_PTRACE` (other processes' memory and
 * `/proc/PID/root`), `CAP_DAC_READ_SEARCH` (`open_by_handle_at` reaches
 * any file of a mounted filesystem), `CAP_MKNOD` (a node for the raw disk;
 * name devices under `devices` instead), `CAP_NET_ADMIN` (the host's
 * network set-up when it is shared), `CAP_SYS_MODULE`, `CAP_SYS_RAWIO`,
 * `CAP_SYS_CHROOT`, `CAP_SETPCAP`, `CAP_SETFCAP`, `CAP_BPF`, `CAP_SYS_BOOT`.
 */
export const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_RAW",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_SYSLOG",
] as const;

/** A capability a sandbox set may keep. */
export type Capability = typeof CAPABILITIES[number];

/** One sandbox set as written in deno.json, checked; paths absolute. */
export interface ViewSet {
  /** Host paths bound read-only (`true`: the whole host, read-only). */
  readonly read?: Grant;
  /** Host paths bound read-write (`true`: the whole host, except the hook's own code). */
  readonly write?: Grant;
  /** Device paths or globs (`/dev/nvidia*`), bound as usable devices. */
  readonly devices?: readonly string[];
  /** Capabilities kept. */
  readonly capabilities?: readonly Capability[];
  /** `"host"`: the node's PID namespace and /proc; `"private"` (default): its own. */
  readonly processes?: "host" | "private";
  /** Slurm's client commands work: slurm.conf and its folder, munge, the network. */
  readonly slurm?: boolean;
  /** Commands the runner runs for the hook with more than it has (src/sandbox/privileged.ts). */
  readonly privileged?: readonly PrivilegedCommand[];
  /** Write grants the runner makes when missing (src/sandbox/view_create.ts). */
  readonly create?: readonly CreateSpec[];
}

/** A set that cannot be used: names the file, the set and the key. */
export class ViewError extends Error {
  override name = "ViewError";
  /** The set at fault, dotted (`sandbox.prolog`), when known. */
  key?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Checks the `"sandbox"` object and picks the set for `hook` (else
 * `default`); undefined when there is no such object or no set applies.
 *
 * @example
 * ```ts
 * parseViewSet({ prolog: { capabilities: ["CAP_CHOWN"] } }, "prolog", "/etc/slurm/deno.json");
 * // { name: "prolog", set: { capabilities: ["CAP_CHOWN"] } }
 * ```
 * @throws {ViewError} naming the file and the key on any unknown key or bad value.
 */
export function parseViewSet(
  sets: unknown,
  hook: string,
  configPath: string,
): { name: string; set: ViewSet } | undefined {
  if (sets === undefined) return undefined;
  const checked = checkViewSets(sets, configPath);
  const name = hook in checked ? hook : "default" in checked ? "default" : undefined;
  return name === undefined ? undefined : { name, set: checked[name] };
}

/**
 * Checks every set of the `"sandbox"` object, not only the one a hook uses:
 * a typo in another hook's set is found the first time any hook runs. Set
 * names are the hooks' and `default`.
 *
 * @example
 * ```ts
 * checkViewSets({ default: { slurm: true } }, "/etc/slurm/deno.json"); // { default: { slurm: true } }
 * ```
 * @throws {ViewError} naming the file, the set and the key.
 */
export function checkViewSets(sets: unknown, configPath: string): Record<string, ViewSet> {
  if (!isRecord(sets)) {
    throw new ViewError(
      `${configPath}: "sandbox" must be an object of named sets, like "permissions"`,
    );
  }
  const checked: Record<string, ViewSet> = {};
  for (const [name, set] of Object.entries(sets)) {
    if (!(SET_NAMES as readonly string[]).includes(name)) {
      throw new ViewError(
        `${configPath}: "sandbox" set "${name}" is not a hook: ${unknownNameFix(name, SET_NAMES)}`,
      );
    }
    try {
      checked[name] = checkSet(set, `${configPath}: "sandbox" set "${name}"`, dirname(configPath));
    } catch (e) {
      if (e instanceof ViewError) e.key = `sandbox.${name}`;
      throw e;
    }
  }
  return checked;
}

function checkSet(set: unknown, where: string, base: string): ViewSet {
  if (!isRecord(set)) throw new ViewError(`${where} must be an object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(set)) {
    const at = `${where}, key "${key}"`;
    switch (key) {
      case "read":
      case "write":
        if (value === false) break;
        if (value === true) out[key] = true;
        else out[key] = pathList(value, at, base);
        break;
      case "devices": {
        const list = pathList(value, at, base);
        for (const d of list) {
          if (!d.startsWith("/dev/")) {
            throw new ViewError(`${at}: "${d}" is not under /dev (devices are device nodes)`);
          }
        }
        out[key] = list;
        break;
      }
      case "capabilities": {
        if (!Array.isArray(value)) throw new ViewError(`${at}: must be a list of capabilities`);
        out[key] = value.map((c) => {
          const name = typeof c === "string" ? c.toUpperCase() : c;
          const full = typeof name === "string" && !name.startsWith("CAP_") ? `CAP_${name}` : name;
          if (!(CAPABILITIES as readonly unknown[]).includes(full)) {
            throw new ViewError(
              `${at}: unknown or refused capability ${JSON.stringify(c)} (use ${
                CAPABILITIES.join(", ")
              })`,
            );
          }
          return full;
        });
        break;
      }
      case "processes":
        if (value !== "host" && value !== "private") {
          throw new ViewError(`${at}: must be "host" or "private", not ${JSON.stringify(value)}`);
        }
        out[key] = value;
        break;
      case "create":
        try {
          out[key] = parseCreate(value, at);
        } catch (e) {
          throw new ViewError((e as Error).message);
        }
        break;
      case "privileged":
        try {
          out[key] = parsePrivileged(value, where);
        } catch (e) {
          if (e instanceof PrivilegedError) throw new ViewError(e.message);
          throw e;
        }
        break;
      case "slurm":
        if (typeof value !== "boolean") {
          throw new ViewError(`${at}: must be true or false, not ${JSON.stringify(value)}`);
        }
        out[key] = value;
        break;
      default:
        throw new ViewError(`${where}: unknown key "${key}": ${unknownNameFix(key, VIEW_KEYS)}`);
    }
  }
  const caps = (out.capabilities ?? []) as string[];
  if (out.processes === "host" && caps.includes("CAP_SETGID")) {
    throw new ViewError(
      `${where}: "CAP_SETGID" cannot be kept with "processes": "host": the hook could take root's group back and reach the host's files through /proc/PID/root of root's processes (see hostProcessesGid in src/sandbox/sandbox.ts)`,
    );
  }
  return out as ViewSet;
}

function pathList(value: unknown, at: string, base: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v !== "")) {
    throw new ViewError(`${at}: must be true, false or a list of paths`);
  }
  return value.map((p: string) => {
    if (p.includes("\0")) throw new ViewError(`${at}: a path contains a NUL byte`);
    return isAbsolute(p) ? resolve(p) : resolve(base, p);
  });
}

/** The kernel view, every path resolved once and checked. */
export interface KernelView {
  /** The sandbox set used, when one applies. */
  readonly setName?: string;
  /** The whole host bound read-only. */
  readonly readAll: boolean;
  /** The whole host bound read-write (the hook's own code stays read-only). */
  readonly writeAll: boolean;
  /** Host paths bound read-only. */
  readonly read: readonly ResolvedGrant[];
  /** Host paths bound read-write. */
  readonly write: readonly ResolvedGrant[];
  /** Device nodes bound usable (and folders of devices, bound whole). */
  readonly devices: readonly ResolvedGrant[];
  /**
   * Folders whose entries decide `devices`: each glob's folder, each folder
   * of devices. A plan is remade when one of them changes (a GPU appears,
   * MIG capabilities are made).
   */
  readonly deviceDirs: readonly string[];
  /** Capabilities kept. */
  readonly capabilities: readonly Capability[];
  /** The node's PID namespace and /proc. */
  readonly hostProcesses: boolean;
  /** Slurm's client paths, when `slurm: true`. */
  readonly slurm?: SlurmClientPaths;
  /** The host network is shared (`net`, `import` or `slurm`). */
  readonly network: boolean;
  /** Commands the runner's broker runs for the hook (src/sandbox/privileged.ts); none when absent. */
  readonly privileged?: readonly PrivilegedCommand[];
  /** Paths the runner made when missing: gone again, the plan is made again. */
  readonly created?: readonly string[];
}

/**
 * Resolves the kernel view of a hook: the sandbox set's paths (or, where it
 * is silent, the permission set's `read`/`write` lists), device globs,
 * Slurm's client paths. `shown` (the hook's module and policy file) are
 * never masked by `slurm: true`.
 *
 * @example
 * ```ts
 * const view = resolveView({ capabilities: ["CAP_CHOWN"] }, { write: ["/scratch"] }, {});
 * view.write[0].real; // "/scratch"
 * ```
 * @throws {GrantError} naming a missing or redirectable path.
 */
export function resolveView(
  set: ViewSet | undefined,
  permissions: Permissions,
  env: Readonly<Record<string, string | undefined>>,
  setName?: string,
  shown: readonly string[] = [],
): KernelView {
  const all = permissions.all === true;
  const read = set?.read ?? (all ? undefined : permissions.read);
  const write = set?.write ?? (all ? undefined : permissions.write);
  // A path already inside another bind needs no bind of its own (and may
  // not exist yet: the hook may be about to make it).
  const writeList = Array.isArray(write) ? write : [];
  const readList = Array.isArray(read) ? read : [];
  const inside = (p: string, same: readonly string[], wider: readonly string[]) =>
    write === true || same.some((o) => o !== p && covers(o, p)) ||
    wider.some((o) => covers(o, p));
  const list = (g: Grant | undefined, same: readonly string[], wider: readonly string[]) =>
    Array.isArray(g)
      ? g.filter((p, i) => !inside(p, same, wider) && g.indexOf(p) === i).map((p) =>
        resolveGrant(p)
      )
      : [];
  const slurm = set?.slurm ? resolveSlurmClient(env, shown) : undefined;
  // Before any grant is resolved: a grant the runner makes must exist by then.
  if (set?.create) createMissing(set.create, writeList);
  const reads = list(read, readList, writeList);
  const writes = list(write, writeList, []);
  for (const [key, grants] of [["read", reads], ["write", writes]] as const) {
    for (const g of grants) {
      if (HOST_PROC.test(g.real)) {
        throw new GrantError(
          `${g.path} is refused under "${key}": the host's /proc shows the node's processes, and through /proc/PID/root the host's files; use "processes": "host" for processes, and name files under /proc/sys one by one`,
        );
      }
      if (key === "write" && (covers(g.real, CGROUP_FS) || covers(CGROUP_FS, g.real))) {
        throw new GrantError(
          `${g.path} is refused under "write": ${CGROUP_FS} holds the hook's own limits (a process it writes into another cgroup leaves its process and memory limits and ends no longer with its job); name the files under /sys the hook writes, outside ${CGROUP_FS}`,
        );
      }
    }
  }
  const devices = (set?.devices ?? []).flatMap(expandDevice);
  if (set?.processes === "host") {
    try {
      Deno.statSync(SETPRIV);
    } catch {
      throw new GrantError(
        `"processes": "host" needs ${SETPRIV} (util-linux), which sets the hook's own group; install it`,
      );
    }
  }
  return {
    setName,
    readAll: read === true,
    writeAll: write === true,
    read: reads,
    write: writes,
    devices,
    deviceDirs: [
      ...new Set([
        ...(set?.devices ?? []).filter((d) => /[*?[]/.test(d)).map(dirname),
        ...devices.filter((g) => g.kind === "directory").map((g) => g.real),
      ]),
    ].sort(),
    capabilities: set?.capabilities ?? [],
    hostProcesses: set?.processes === "host",
    slurm,
    network: Boolean(permissions.net || permissions.import || permissions.all || set?.slurm),
    privileged: set?.privileged ?? [],
    created: (set?.create ?? []).map((c) => c.path),
  };
}

/**
 * The host paths a view was resolved from, for a plan cache: every grant as
 * written and as resolved, and the folders above them (whose owners and
 * modes decided whether a grant could be redirected).
 *
 * @example
 * ```ts
 * viewDeps(resolveView({ write: ["/var/tmp"] }, {}, {})); // ["/var/tmp", "/var", "/"]
 * ```
 */
export function viewDeps(view: KernelView): string[] {
  const deps = new Set<string>();
  const chain = (p: string) => {
    for (let d = p;; d = dirname(d)) {
      deps.add(d);
      if (dirname(d) === d) break;
    }
  };
  for (const g of [...view.read, ...view.write, ...view.devices]) {
    chain(g.path);
    chain(g.real);
  }
  // "DIR/.": the launcher counts their listing too (stat_text in plan.c).
  for (const d of view.deviceDirs) deps.add(`${d}/.`);
  // A privileged program replaced or made writable: the plan is made again, and refused.
  // Every link on the way to it too: one retargeted later is judged again.
  for (const c of view.privileged ?? []) programHops(c.command).forEach(chain);
  for (const p of view.created ?? []) chain(p);
  if (view.slurm) {
    chain(view.slurm.confDir);
    // A file that appears later or turns private must make a new plan,
    // which masks it: each walked folder's listing ("DIR/.": its mtime
    // counts, see stat_text in src/launcher/plan.c) and each entry judged.
    for (const p of view.slurm.walked ?? []) {
      deps.add(p);
      deps.add(`${p}/.`);
    }
    for (const p of [...(view.slurm.hidden ?? []), ...(view.slurm.hiddenDirs ?? [])]) chain(p);
    if (view.slurm.mungeDir) chain(view.slurm.mungeDir);
  }
  return [...deps];
}
