// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The site's permission policy for a hook: Deno's own permission sets, in
 * the `permissions` field of the nearest `deno.json`/`deno.jsonc` above the
 * module, and the kernel view in its `sandbox` field (see `view.ts`). The
 * set named after the hook wins, else `default`, else nothing.
 *
 * The lookup cannot be planted: it stops at the first folder others could
 * write, and takes a policy only when it and every folder above it up to /
 * are owned by root (or the runner's own user) and writable by nobody else
 * (sshd's StrictModes; see `trust.ts`).
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import type { Permissions } from "./permissions.ts";
import { type PolicyFile, readPolicyFile } from "./policy_file.ts";
import { PolicyError } from "./policy_keys.ts";
import { covers, GrantError, untrustedReason } from "./trust.ts";
import { BundleError, bundleTrust, readEmbeddedPolicy } from "./bundle.ts";
import { admitPrivileged, PrivilegedError } from "./privileged.ts";
import type { HookName } from "../types.ts";
import { type KernelView, resolveView, ViewError } from "./view.ts";

export {
  type Grant,
  PERMISSION_KINDS,
  type PermissionKind,
  type Permissions,
  workerPermissions,
} from "./permissions.ts";

/** The permissions a hook gets and where they came from. */
export interface Policy {
  /** The config file the set came from, if any was found. */
  readonly configPath?: string;
  /** The set used (`prolog`, ..., or `default`); undefined when none applies. */
  readonly setName?: string;
  /** What the hook may do. Empty: nothing. */
  readonly permissions: Permissions;
  /** The kernel view: host paths, devices, capabilities, processes, Slurm. */
  readonly view: KernelView;
  /**
   * The hook's own code, bound read-only and never writable: the policy's
   * folder, or the module file alone when there is no policy.
   */
  readonly hookRoot: string;
  /** The whole policy file as read (warm settings, imports, typecheck), when there is one. */
  readonly file?: PolicyFile;
  /** A bundle's own policy: where it was honoured (configPath is then the bundle itself). */
  readonly embedded?: string;
}

export { PolicyError } from "./policy_file.ts";

const CONFIG_NAMES = ["deno.json", "deno.jsonc"];

/**
 * Finds the nearest deno.json/deno.jsonc walking up from `dir`. The walk
 * stops at a folder others could write (a policy there or above could be
 * planted), and a policy found is refused unless nobody but root could have
 * written it.
 *
 * @throws {PolicyError} naming the policy and why it is refused.
 */
export function findConfig(dir: string): string | undefined {
  const start = resolve(dir);
  for (let d = start;; d = dirname(d)) {
    const info = Deno.statSync(d);
    const open = ((info.mode ?? 0) & 0o022) !== 0;
    // Above the module's own folder, a folder others can write ends the
    // walk: a policy there or higher could have been planted.
    if (open && d !== start) return undefined;
    for (const name of CONFIG_NAMES) {
      const path = join(d, name);
      let entry: Deno.FileInfo;
      try {
        entry = Deno.lstatSync(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) continue;
        throw e;
      }
      // Beside the module, the admin meant it: say why it is not used.
      const why = untrustedReason(path, { ownerMatters: true, parentStrict: true }) ??
        (entry.isSymlink
          ? untrustedReason(Deno.realPathSync(path), { ownerMatters: true, parentStrict: true })
          : undefined);
      if (why) {
        throw new PolicyError(
          `${path}: policy refused: ${why}; a policy and every folder above it must be owned by root and writable by nobody else (chown root and chmod go-w)`,
          { file: path, fix: "chown root and chmod go-w the policy and the folders above it" },
        );
      }
      if (!Deno.statSync(path).isFile) throw new PolicyError(`${path}: policy refused: not a file`);
      return path;
    }
    if (open) return undefined;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The policy for `hook` of the module at `modulePath`.
 *
 * @example
 * ```ts
 * import { loadPolicy } from "./policy.ts";
 * export function prologSet(): string | undefined {
 *   const p = loadPolicy("/etc/slurm/hooks/prolog.ts", "prolog");
 *   return p.setName; // "prolog", "default" or undefined
 * }
 * ```
 * @throws {PolicyError} when the config cannot be parsed or a set is malformed.
 */
export function loadPolicy(
  modulePath: string,
  hook: HookName,
  env: Readonly<Record<string, string | undefined>> = Deno.env.toObject(),
): Policy {
  // A bundle carries its policy (its first line): honoured only where root put it.
  let embedded: string | undefined;
  try {
    if (readEmbeddedPolicy(modulePath)) embedded = bundleTrust(modulePath, env.SLURM_CONF);
  } catch (e) {
    if (e instanceof BundleError) throw new PolicyError(e.message, { file: modulePath });
    throw e;
  }
  const configPath = embedded ? modulePath : findConfig(dirname(modulePath));
  const hookRoot = configPath && !embedded ? dirname(configPath) : modulePath;
  if (!configPath) return { permissions: {}, hookRoot, view: resolveView(undefined, {}, env) };
  const file = readPolicyFile(configPath);
  const sets = file.permissions;
  const setName = hook in sets ? hook : "default" in sets ? "default" : undefined;
  const permissions = setName ? sets[setName] : {};
  const viewName = hook in file.sandbox ? hook : "default" in file.sandbox ? "default" : undefined;
  try {
    const view = resolveView(
      viewName ? file.sandbox[viewName] : undefined,
      permissions,
      env,
      viewName,
      [modulePath, configPath],
    );
    refuseSelfWrite(configPath, hookRoot, permissions, view);
    admitPrivileged(
      view.privileged ?? [],
      `${configPath}: "sandbox" set "${viewName}"`,
      permissions,
      view.writeAll ? true : view.write.flatMap((g) => [g.path, g.real]),
    );
    return { configPath, setName, permissions, view, hookRoot, file, embedded };
  } catch (e) {
    if (e instanceof ViewError) {
      throw new PolicyError(e.message, { file: configPath, key: "sandbox" });
    }
    if (e instanceof PrivilegedError) {
      throw new PolicyError(e.message, { file: configPath, key: `sandbox.${viewName}.privileged` });
    }
    if (e instanceof GrantError) {
      throw new PolicyError(`${configPath}: grant refused: ${e.message}`, { file: configPath });
    }
    throw e;
  }
}

/** A hook that could rewrite its own policy would raise its own permissions next run. */
function refuseSelfWrite(
  configPath: string,
  hookRoot: string,
  permissions: Permissions,
  view: KernelView,
): void {
  const lists = [
    ...(Array.isArray(permissions.write) ? permissions.write : []),
    ...view.write.flatMap((g) => [g.path, g.real]),
  ];
  for (const w of lists) {
    if (covers(w, hookRoot) || covers(w, configPath)) {
      throw new PolicyError(
        `${configPath}: write grant "${w}" refused: it covers the hook's own code and policy (${hookRoot}), so the hook could raise its own permissions; grant a narrower path`,
        { file: configPath, key: "write", fix: "grant a narrower path" },
      );
    }
  }
}

export { stripJsonc } from "./policy_file.ts";
