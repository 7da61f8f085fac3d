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
 * those must be named exactly.
 */
export function expandDevice(pattern: string): ResolvedGrant[] {
  const dir = dirname(pattern);
  const last = pattern.slice(dir.length + 1);
  const glob = /[*?[]/.test(last);
  const grants = glob
    ? matchNames(dir, last).map((name) => resolveGrant(join(dir, name)))
    : [resolveGrant(pattern)];
  for (const g of grants) {
    if (g.kind !== "device") {
      throw new GrantError(`${g.path} is not a device node; list it under "read" or "write"`);
    }
    if (glob) {
      const info = Deno.statSync(g.real);
      const rdev = info.rdev ?? 0;
      const number = `${(rdev >> 8) & 0xfff}:${(rdev & 0xff) | ((rdev >> 12) & 0xfff00)}`;
      if (info.isBlockDevice || RAW_MEMORY.has(number)) {
        throw new GrantError(
          `${pattern} matches ${g.path}, ${
            info.isBlockDevice ? "a disk (block device)" : "raw memory"
          }; a glob never grants one: name it exactly under "devices" if the hook really needs it`,
        );
      }
    }
  }
  return grants;
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
