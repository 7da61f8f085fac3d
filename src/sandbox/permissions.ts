// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Deno's permission vocabulary as a hook's policy names it: the kinds, a
 * grant, a set. The policy (`policy.ts`) parses sets into these types and
 * the kernel view (`view.ts`) reads them; both depend on this module, never
 * on each other's types.
 *
 * @module
 */

/** Permission kinds a set may grant, as Deno names them. */
export const PERMISSION_KINDS = [
  "all",
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
] as const;

/**
 * One permission kind.
 *
 * @example
 * ```ts
 * const kind: PermissionKind = "read";
 * ```
 */
export type PermissionKind = typeof PERMISSION_KINDS[number];

/**
 * A grant: everything (`true`) or a list; an absent kind is denied.
 *
 * @example
 * ```ts
 * const everything: Grant = true;
 * const some: Grant = ["/etc/hostname"];
 * ```
 */
export type Grant = true | string[];

/**
 * A normalised permission set: paths are absolute.
 *
 * @example
 * ```ts
 * const p: Permissions = { read: ["/etc/hostname"], env: true };
 * ```
 */
export type Permissions = Partial<Record<PermissionKind, Grant>>;

/** The permission object a Worker takes: every kind explicit, absent ones denied. */
export function workerPermissions(p: Permissions): Deno.PermissionOptionsObject {
  const out: Record<string, boolean | string[]> = {};
  for (const kind of PERMISSION_KINDS) {
    if (kind !== "all") out[kind] = p.all === true ? true : p[kind] ?? false;
  }
  return out as Deno.PermissionOptionsObject;
}
