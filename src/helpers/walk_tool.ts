// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The helpers' native walk tool, `build/prep-deno-walk` (src/walk/): what
 * they do as root in folders users can write, by descriptor, and what they
 * read from /proc, which Deno serves only to `"all"`. The runner binds it
 * into every hook's view and allows it under `run` when it can reach no
 * writable path the hook's own `write` grant does not (see `walkToolGrant`
 * in src/launch/plan.ts and docs/security.md).
 *
 * @module
 */

import { CommandError, type CommandResult, runCommand } from "./command.ts";

/**
 * The tool's path: beside the bundle (`build/mod.js`, what hooks import at
 * run time) or, from the source (`src/helpers/`), in `build/`.
 */
function toolPath(): string {
  const here = new URL(".", import.meta.url);
  const rel = here.pathname.endsWith("/src/helpers/") ? "../../build/" : "./";
  return decodeURIComponent(new URL(`${rel}prep-deno-walk`, here).pathname);
}

/**
 * Where the walk tool is.
 *
 * @example
 * ```ts
 * import { WALK_TOOL } from "./walk_tool.ts";
 * WALK_TOOL.endsWith("/build/prep-deno-walk"); // true
 * ```
 */
export const WALK_TOOL: string = toolPath();

/** Options of {@linkcode runWalkTool}. */
export interface WalkToolOptions {
  /** Text for the tool's stdin (`append`). */
  readonly stdin?: string;
  /** Largest output taken whole; more is an error, never a shorter answer. */
  readonly maxOutputBytes?: number;
}

/**
 * Runs `prep-deno-walk ARGS`; resolves to its stdout. Its one-line refusal
 * (which names the path) becomes the error's message.
 *
 * @example
 * ```ts
 * import { runWalkTool } from "./walk_tool.ts";
 * await runWalkTool(["mountpoint", "/proc"]); // "yes\n"
 * ```
 * @throws {Error} naming the path and why, or that the tool is not allowed.
 */
export async function runWalkTool(
  args: readonly string[],
  opts: WalkToolOptions = {},
): Promise<string> {
  let r: CommandResult;
  try {
    r = await runCommand([WALK_TOOL, ...args], {
      allowFailure: true,
      env: { LC_ALL: "C" },
      stdin: opts.stdin,
      maxOutputBytes: opts.maxOutputBytes,
      timeoutSeconds: 120,
    });
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        `${args[0]} ${
          args[1] ?? ""
        }: the helpers' walk tool ${WALK_TOOL} is not allowed to this hook: the runner allows it when the permission set's "write" covers every "write" folder of the sandbox set (or list it under "run")`,
      );
    }
    if (e instanceof CommandError) throw new Error(e.message);
    throw e;
  }
  if (r.status !== 0) {
    const line = r.stderr.trim().split("\n").pop() ?? "";
    throw new Error(line.replace(/^prep-deno-walk: /, "") || new CommandError(r).message);
  }
  return r.stdout;
}
