// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `node:module` as hooks import it at run time (the import map sends the
 * name here; in this module's own scope it is Node's module itself): Node's
 * module unchanged, but importing it first has the runner put its check on
 * Node's `child_process` and `worker_threads` module objects, which the
 * `require` its `createRequire` makes hands out (src/child_env.ts loads
 * them only when a hook reaches Node).
 *
 * @module
 */

import real from "node:module";

(globalThis as unknown as Record<symbol, (() => void) | undefined>)[
  Symbol.for("prep-deno.guardNode")
]?.();

// @ts-expect-error: the types say `export =`; Deno's module has named exports,
// which a hook importing them by name gets from here.
export * from "node:module";
/** The module's default export, as Node's. */
export default real;
