// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Per-job folders: make one owned by the job user, remove a tree, remove a
 * user's files. Safe in folders users can write (`/tmp`, `/dev/shm`,
 * scratch): the work is done by the runner's walk tool
 * (`build/prep-deno-walk`, see `walk_tool.ts`), which opens every name of
 * the path from `/` by descriptor, never follows a link, acts only relative
 * to the folder it checked, and never crosses into another filesystem below
 * a folder a user can write. A path it cannot walk that way is an error
 * naming it. `..` is taken away with the name before it, as `path.resolve`
 * does, before anything is opened.
 *
 * @module
 */

import { runWalkTool } from "./walk_tool.ts";

/** Who owns a job folder and how it is opened. */
export interface FolderOptions {
  /** Owner uid (the job's: `job.uid`). */
  readonly uid: number;
  /** Owner gid (the job's: `job.gid`). */
  readonly gid: number;
  /** Mode, default `0o700`. */
  readonly mode?: number;
  /**
   * Make missing parents (owned by root, mode 0755) first, and only in
   * root's folders; the folder right above the job folder must be root's:
   * in `/tmp` or `/dev/shm` a user could have made it first.
   */
  readonly recursive?: boolean;
}

function id(n: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new Error(`${what} must be a uid or gid, not ${n}`);
  }
  return String(n);
}

/**
 * Makes `path` a folder owned by `uid:gid` with `mode` (default 0700).
 * Idempotent: a folder already right is left alone; one owned by root is
 * fixed. Refuses a symlink anywhere in the path, a non-folder, or a folder
 * owned by someone else: those could have been planted to redirect the chown.
 *
 * Needs: `write` of the path (the view), and `CAP_CHOWN` for another owner
 * (plus `CAP_DAC_OVERRIDE` to work inside a user's 700 folder).
 *
 * @example
 * ```ts
 * import { makeJobFolder, removeTree } from "./folders.ts";
 * const top = Deno.makeTempDirSync();
 * await makeJobFolder(`${top}/scratch/alice/42`, { uid: 0, gid: 0, recursive: true });
 * await removeTree(`${top}/scratch`);
 * Deno.removeSync(top);
 * ```
 * @throws {Error} naming the path and what was refused.
 */
export async function makeJobFolder(path: string, opts: FolderOptions): Promise<void> {
  const mode = opts.mode ?? 0o700;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new Error(`${path}: mode ${mode} is not a file mode`);
  }
  await runWalkTool([
    "mkdir",
    path,
    id(opts.uid, "uid"),
    id(opts.gid, "gid"),
    mode.toString(8),
    ...(opts.recursive ? ["parents"] : []),
  ]);
}

/**
 * Removes `path` and everything under it; a missing path is fine. A link,
 * at the end of the path or inside, is removed, never followed; a link
 * above it is an error; other filesystems mounted inside are not entered
 * (an error naming what was left).
 *
 * Needs: `write` of the path, and `CAP_DAC_OVERRIDE` (plus `CAP_FOWNER` in
 * sticky folders) when the tree belongs to the job user with mode 700.
 *
 * @example
 * ```ts
 * import { removeTree } from "./folders.ts";
 * const top = Deno.makeTempDirSync();
 * Deno.mkdirSync(`${top}/job/a`, { recursive: true });
 * await removeTree(`${top}/job/`);
 * await removeTree(`${top}/job`); // missing: fine
 * Deno.removeSync(top);
 * ```
 * @throws {Error} naming the path when it cannot be removed.
 */
export async function removeTree(path: string): Promise<void> {
  if (path === "") throw new Error(`removeTree: refusing to remove ""`);
  await runWalkTool(["rmtree", path]);
}

/**
 * Removes every file, link and folder owned by `uid` under `folder` (not
 * `folder` itself), as `find FOLDER -user UID -delete` would, by descriptor:
 * links are removed, never followed; other filesystems are not entered; a
 * folder of hers that still holds someone else's files stays. A missing
 * `folder` is fine.
 *
 * Needs: `write` of the folder, `CAP_DAC_OVERRIDE` to enter the user's
 * folders, and `CAP_FOWNER` to remove her entries from sticky folders
 * (`/tmp`, `/dev/shm`).
 *
 * @example
 * ```ts
 * import { removeUserFiles } from "./folders.ts";
 * const top = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${top}/left`, "x");
 * Deno.chownSync(`${top}/left`, 65534, 65534);
 * await removeUserFiles(top, 65534);
 * Deno.removeSync(top); // empty now
 * ```
 * @throws {Error} for uid 0, or naming the folder and what was left.
 */
export async function removeUserFiles(folder: string, uid: number): Promise<void> {
  if (!Number.isInteger(uid) || uid <= 0) {
    throw new Error(`removeUserFiles: refusing uid ${uid} (root or not a uid)`);
  }
  await runWalkTool(["rmuser", folder, id(uid, "uid")]);
}
