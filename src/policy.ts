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

import { dirname, isAbsolute, join, resolve } from "node:path";
import { PERMISSION_KINDS, type PermissionKind, type Permissions } from "./permissions.ts";
import { covers, GrantError, untrustedReason } from "./trust.ts";
import { admitPrivileged, PrivilegedError } from "./privileged.ts";
import type { HookName } from "./types.ts";
import { type KernelView, parseViewSet, resolveView, ViewError } from "./view.ts";

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
}

/** A policy file that cannot be used; names the file and the fix. */
export class PolicyError extends Error {
  override name = "PolicyError";
}

const CONFIG_NAMES = ["deno.json", "deno.jsonc"];
const PATH_KINDS: ReadonlySet<PermissionKind> = new Set(["read", "write", "ffi"]);

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
  const configPath = findConfig(dirname(modulePath));
  const hookRoot = configPath ? dirname(configPath) : modulePath;
  if (!configPath) return { permissions: {}, hookRoot, view: resolveView(undefined, {}, env) };
  let config: unknown;
  try {
    config = JSON.parse(stripJsonc(Deno.readTextFileSync(configPath).replace(/^\uFEFF/, "")));
  } catch (e) {
    throw new PolicyError(
      `${configPath}: cannot read the permission policy: ${(e as Error).message}`,
    );
  }
  const sets = (config as { permissions?: unknown })?.permissions;
  if (sets !== undefined && !isRecord(sets)) {
    throw new PolicyError(
      `${configPath}: "permissions" must be an object of named permission sets`,
    );
  }
  const setName = sets && hook in sets ? hook : sets && "default" in sets ? "default" : undefined;
  const permissions = setName ? normalizeSet(sets![setName], configPath, setName) : {};
  try {
    const chosen = parseViewSet((config as { sandbox?: unknown })?.sandbox, hook, configPath);
    const view = resolveView(chosen?.set, permissions, env, chosen?.name, [
      modulePath,
      configPath,
    ]);
    refuseSelfWrite(configPath, hookRoot, permissions, view);
    admitPrivileged(
      view.privileged ?? [],
      `${configPath}: "sandbox" set "${chosen?.name}"`,
      permissions,
      view.writeAll ? true : view.write.flatMap((g) => [g.path, g.real]),
    );
    return { configPath, setName, permissions, view, hookRoot };
  } catch (e) {
    if (e instanceof ViewError || e instanceof PrivilegedError) throw new PolicyError(e.message);
    if (e instanceof GrantError) {
      throw new PolicyError(`${configPath}: grant refused: ${e.message}`);
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
      );
    }
  }
}

function normalizeSet(set: unknown, configPath: string, setName: string): Permissions {
  const where = `${configPath}: permission set "${setName}"`;
  if (!isRecord(set)) throw new PolicyError(`${where} must be an object`);
  const out: Permissions = {};
  const base = dirname(configPath);
  for (const [key, value] of Object.entries(set)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(key)) {
      throw new PolicyError(
        `${where}: unknown key "${key}" (use ${PERMISSION_KINDS.join(", ")})`,
      );
    }
    const kind = key as PermissionKind;
    if (value === false) continue;
    if (value === true) {
      out[kind] = true;
    } else if (kind === "all") {
      throw new PolicyError(`${where}: "all" must be true or false`);
    } else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
      const bad = value.find((v) => v.includes("\0"));
      if (bad !== undefined) {
        throw new PolicyError(
          `${where}: "${key}" has an entry with a NUL byte: ${JSON.stringify(bad)}`,
        );
      }
      out[kind] = PATH_KINDS.has(kind)
        ? value.map((p) => (isAbsolute(p) ? p : resolve(base, p)))
        : [...value];
    } else {
      throw new PolicyError(
        `${where}: "${key}" must be true, false or a list of strings`,
      );
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Index of the quote that closes the string literal opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
  return i;
}

/** Removes comments and trailing commas from JSONC, leaving strings intact. */
export function stripJsonc(text: string): string {
  // First pass: comments out, strings copied whole.
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  // Second pass: a comma outside strings followed only by space and } or ].
  let result = "";
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (c === '"') {
      const end = stringEnd(out, i);
      result += out.slice(i, end + 1);
      i = end;
    } else if (!(c === "," && /^\s*[}\]]/.test(out.slice(i + 1)))) {
      result += c;
    }
  }
  return result;
}
