// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Where a hook's error came from: the first stack frame inside the hook's
 * own folder (its root), as `file:line` relative to that folder. Frames of
 * the runner, of Deno and of imports outside the root are skipped, so the
 * place names the admin's code, not the machinery under it.
 *
 * @example
 * ```ts
 * import { errorPlace } from "./error_place.ts";
 * const stack = "Error: gpu 1 lost\n    at check (file:///etc/slurm/hooks/lib/gpu.ts:12:9)\n" +
 *   "    at default (file:///etc/slurm/hooks/site.ts:4:3)";
 * errorPlace(stack, "/etc/slurm/hooks"); // "lib/gpu.ts:12"
 * ```
 *
 * @module
 */

const FRAME = /(?:\(|at )(file:\/\/[^\s()]+?|\/[^\s():]+?):(\d+)(?::\d+)?\)?$/;

/**
 * The first frame of `stack` inside `root`, as `relative/path:line`, or
 * undefined when no frame is there (a thrown string, an error made
 * elsewhere).
 *
 * @example
 * ```ts
 * import { errorPlace } from "./error_place.ts";
 * errorPlace("Error: x\n    at file:///opt/hooks/p.ts:3:1", "/opt/hooks/"); // "p.ts:3"
 * errorPlace("Error: x\n    at ext:core/01_core.js:1:1", "/opt/hooks"); // undefined
 * ```
 */
export function errorPlace(stack: string | undefined, root: string): string | undefined {
  if (!stack) return undefined;
  const prefix = root.endsWith("/") ? root : `${root}/`;
  for (const line of stack.split("\n")) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    let path = m[1];
    if (path.startsWith("file://")) {
      try {
        path = decodeURIComponent(new URL(path).pathname);
      } catch {
        continue;
      }
    }
    if (path.startsWith(prefix)) return `${path.slice(prefix.length)}:${m[2]}`;
  }
  return undefined;
}
