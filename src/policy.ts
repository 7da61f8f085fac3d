// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The site's permission policy for a hook: Deno's own permission sets, in
 * the `permissions` field of the nearest `deno.json`/`deno.jsonc` above the
 * module. The set named after the hook wins, else `default`, else nothing.
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import type { HookName } from "./types.ts";

/** Permission kinds a set may grant, as Deno names them. */
export const PERMISSION_KINDS = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
] as const;

/** One permission kind. */
export type PermissionKind = typeof PERMISSION_KINDS[number];

/** A grant: everything (`true`) or a list; an absent kind is denied. */
export type Grant = true | string[];

/** A normalised permission set: paths are absolute. */
export type Permissions = Partial<Record<PermissionKind, Grant>>;

/** The permissions a hook gets and where they came from. */
export interface Policy {
  /** The config file the set came from, if any was found. */
  readonly configPath?: string;
  /** The set used (`prolog`, ..., or `default`); undefined when none applies. */
  readonly setName?: string;
  /** What the hook may do. Empty: nothing. */
  readonly permissions: Permissions;
}

/** A policy file that cannot be used; names the file and the fix. */
export class PolicyError extends Error {
  override name = "PolicyError";
}

const CONFIG_NAMES = ["deno.json", "deno.jsonc"];
const PATH_KINDS: ReadonlySet<PermissionKind> = new Set(["read", "write", "ffi"]);

/** Finds the nearest deno.json/deno.jsonc walking up from `dir`. */
export function findConfig(dir: string): string | undefined {
  for (let d = resolve(dir);; d = dirname(d)) {
    for (const name of CONFIG_NAMES) {
      const path = join(d, name);
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The policy for `hook` of the module at `modulePath`.
 *
 * @example
 * ```ts
 * const p = loadPolicy("/etc/slurm/hooks/prolog.ts", "prolog");
 * p.setName; // "prolog", "default" or undefined
 * ```
 * @throws {PolicyError} when the config cannot be parsed or a set is malformed.
 */
export function loadPolicy(modulePath: string, hook: HookName): Policy {
  const configPath = findConfig(dirname(modulePath));
  if (!configPath) return { permissions: {} };
  let config: unknown;
  try {
    config = JSON.parse(stripJsonc(Deno.readTextFileSync(configPath)));
  } catch (e) {
    throw new PolicyError(
      `${configPath}: cannot read the permission policy: ${(e as Error).message}`,
    );
  }
  const sets = (config as { permissions?: unknown })?.permissions;
  if (sets === undefined) return { configPath, permissions: {} };
  if (!isRecord(sets)) {
    throw new PolicyError(
      `${configPath}: "permissions" must be an object of named permission sets`,
    );
  }
  const setName = hook in sets ? hook : "default" in sets ? "default" : undefined;
  if (!setName) return { configPath, permissions: {} };
  return {
    configPath,
    setName,
    permissions: normalizeSet(sets[setName], configPath, setName),
  };
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
    } else if (Array.isArray(value) && value.every((v) => typeof v === "string")) {
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

/** The permission object a Worker takes: every kind explicit, absent ones denied. */
export function workerPermissions(p: Permissions): Deno.PermissionOptionsObject {
  const out: Record<string, boolean | string[]> = {};
  for (const kind of PERMISSION_KINDS) out[kind] = p[kind] ?? false;
  return out as Deno.PermissionOptionsObject;
}
