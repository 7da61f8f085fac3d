// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Questions and chores about the node itself that shell prologs do with
 * `mountpoint`, `stat -c %d` and `echo 3 > /proc/sys/vm/drop_caches`, done
 * through the runner's walk tool (`walk_tool.ts`) so that they answer for
 * the node, not for the sandbox's view.
 *
 * @module
 */

import { runWalkTool } from "./walk_tool.ts";

/**
 * Whether `path` is where the node mounted a filesystem's top folder (a
 * local disk at `/scratch`, a tmpfs at `/dev/shm`): the answer the host's
 * `mountpoint -q` gives for it. Inside the sandbox, comparing `stat -c %d`
 * of `DIR` and `DIR/..` says "mounted" for every granted folder (each is a
 * bind of its own), so a port would write to the system disk; this reads
 * the mount the path is on (by descriptor, from `/proc/self/mountinfo`) and
 * its place in its filesystem, which a bind keeps from the node. A folder
 * the node bind-mounted from inside another filesystem counts as not
 * mounted. The sandbox's own `/tmp`, `/dev`, `/proc` and `/run/prep-deno`
 * are its own mounts: ask about host folders the view grants.
 *
 * Needs: the path in the view (`read` or `write`).
 *
 * @example
 * ```ts
 * import { isMountPoint } from "./node.ts";
 * await isMountPoint("/proc"); // true
 * await isMountPoint("/proc/self/.."); // true: the same folder
 * ```
 * @throws {Error} naming the path when it is missing from the view or is a link.
 */
export async function isMountPoint(path: string): Promise<boolean> {
  return (await runWalkTool(["mountpoint", path])).trim() === "yes";
}

/**
 * Writes dirty pages out (`sync`), then drops the kernel's clean caches, as
 * `sync; echo 3 > /proc/sys/vm/drop_caches` does: `level` 1 the page cache,
 * 2 dentries and inodes, 3 both (default).
 *
 * Needs: `"write": ["/proc/sys/vm/drop_caches"]` in both the permission set
 * and the sandbox set (`/proc/sys` is read-only in the view otherwise).
 *
 * @example
 * ```ts
 * import { dropCaches } from "./node.ts";
 * await dropCaches(1);
 * ```
 * @throws {Error} naming `/proc/sys/vm/drop_caches` when it cannot be written.
 */
export async function dropCaches(level: 1 | 2 | 3 = 3): Promise<void> {
  await runWalkTool(["dropcaches", String(level)]);
}
