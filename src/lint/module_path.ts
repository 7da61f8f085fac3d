// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Which hook files the plugin runs through the runner: as
 * `pdc_is_module()` in ffi/prep_deno_hooks.c decides, by name.
 *
 * @module
 */

/**
 * Whether `path` is a module (`.ts`, `.mts`, `.js`); anything else runs as a script.
 *
 * @example
 * ```ts
 * isModulePath("/etc/slurm/prolog.ts"); // true
 * isModulePath("/etc/slurm/prolog.sh"); // false
 * ```
 */
export function isModulePath(path: string): boolean {
  return /\.(ts|mts|js)$/.test(path.slice(path.lastIndexOf("/") + 1));
}
