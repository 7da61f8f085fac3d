// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The prep/deno plugin from TypeScript: load `build/prep_deno.so` with
 * {@linkcode PrepPlugin.open} and call its PrEp ABI and its C core.
 *
 * @module
 */
export * from "./binding.ts";
export * from "./types.ts";
export type { Layouts, LibraryContract } from "./layout.ts";
