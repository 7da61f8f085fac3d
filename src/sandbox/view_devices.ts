// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The `devices` of a sandbox set: device paths or globs under /dev, as the
 * host's device nodes, checked once.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { GrantError, type ResolvedGrant, resolveGrant } from "./trust.ts";

/**
 * Character devices a glob never grants, by number (devices(7)): physical
 * memory, kernel memory and I/O ports.
 */
const RAW_MEMORY = new Set(["1:1", "1:2", "1:4"]);

/**
 * A device path, or a glob in its last part (`/dev/nvidia*`), as the host's
 * device nodes. A glob never grants a disk (a block device) or raw memory:
 * `/dev/nvme*` would bring the node's disks in with the GPUs' neighbours, so
 * those must be named exactly. A folder (MIG's `/dev/nvidia-caps`, which
 * `/dev/nvidia*` matches on every MIG node) is bound whole when it is a
 * folder of devices: root's, writable by root alone, holding only
 * character devices a glob may grant (see {@linkcode deviceFolderProblem});
 * any other folder is refused, naming it.
 *
 * @example
 * ```ts
 * expandDevice("/dev/nvidia*").map((g) => g.real); // ["/dev/nvidia-caps", "/dev/nvidia0", "/dev/nvidiactl"]
 * ```
 * @throws {GrantError} naming the path and why.
 */
export function expandDevice(pattern: string): ResolvedGrant[] {
  const dir = dirname(pattern);
  const last = pattern.slice(dir.length + 1);
  const glob = /[*?[]/.test(last);
  const grants = glob
    ? matchNames(dir, last).map((name) => resolveGrant(join(dir, name)))
    : [resolveGrant(pattern)];
  for (const g of grants) {
    if (g.kind === "directory") {
      const why = deviceFolderProblem(g.real);
      if (why) {
        throw new GrantError(
          `${g.path}${
            glob ? ` (matched by ${pattern})` : ""
          } is a folder that is not a folder of devices: ${why}; narrow the glob, or list it under "read" or "write"`,
        );
      }
      continue;
    }
    if (g.kind !== "device") {
      throw new GrantError(`${g.path} is not a device node; list it under "read" or "write"`);
    }
    if (glob) {
      const why = refusedToGlobs(g.real);
      if (why) {
        throw new GrantError(
          `${pattern} matches ${g.path}, ${why}; a glob never grants one: name it exactly under "devices" if the hook really needs it`,
        );
      }
    }
  }
  return grants;
}

/** Why a glob may not grant the device at `path` (a disk, raw memory), or undefined. */
function refusedToGlobs(path: string): string | undefined {
  const info = Deno.statSync(path);
  const rdev = info.rdev ?? 0;
  const number = `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
  if (info.isBlockDevice) return "a disk (block device)";
  if (RAW_MEMORY.has(number)) return "raw memory";
  return undefined;
}

/**
 * Why the folder `path` is not a folder of devices the sandbox may bind
 * whole, or undefined when it is: root owns it and alone may write it (so
 * nobody plants a node in it), and it holds only character devices, none
 * of them one a glob never grants.
 *
 * @example
 * ```ts
 * import { deviceFolderProblem } from "./view_devices.ts";
 * deviceFolderProblem("/dev/shm"); // "others may write it"
 * export function migCaps(): string | undefined {
 *   return deviceFolderProblem("/dev/nvidia-caps"); // undefined on a MIG node
 * }
 * ```
 */
export function deviceFolderProblem(path: string): string | undefined {
  const info = Deno.lstatSync(path);
  if (info.uid !== 0) return `it belongs to uid ${info.uid}, not root`;
  if ((info.mode ?? 0) & 0o022) return "others may write it";
  for (const e of Deno.readDirSync(path)) {
    const entry = join(path, e.name);
    const it = Deno.lstatSync(entry);
    if (!it.isCharDevice) {
      return `it holds ${entry}, ${
        it.isDirectory
          ? "a folder"
          : it.isBlockDevice
          ? "a disk (block device)"
          : "not a device node"
      }`;
    }
    const why = refusedToGlobs(entry);
    if (why) return `it holds ${entry}, ${why}`;
  }
  return undefined;
}

function matchNames(dir: string, glob: string): string[] {
  const re = new RegExp(
    "^" + glob.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".") + "$",
  );
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) if (re.test(e.name)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}
