// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A hook module that is a symbolic link leading out of its hook root (the
 * policy's folder, or the module's own folder when there is none) is not
 * run: bubblewrap would bind what the link names, so any file on the node
 * (a secret) would be loaded, and quoted in the syntax error, as the hook's
 * code. run, try, serve and check all refuse it.
 *
 * @module
 */

import { dirname, isAbsolute, relative } from "node:path";

/**
 * Why the module at `modulePath` may not run when it is a link (or sits
 * under one) that leads out of its hook root, else undefined. `configPath`
 * is its policy's file, if any. A module that cannot be resolved is left to
 * the caller's "does not exist" message.
 *
 * @example
 * ```ts
 * // /etc/slurm/prolog.ts -> /root/secret.ts, no policy:
 * moduleLinkLeavingRoot("/etc/slurm/prolog.ts");
 * // "/etc/slurm/prolog.ts is a symbolic link to /root/secret.ts, outside ..."
 * ```
 */
export function moduleLinkLeavingRoot(modulePath: string, configPath?: string): string | undefined {
  let real: string, root: string;
  try {
    real = Deno.realPathSync(modulePath);
    root = Deno.realPathSync(configPath ? dirname(configPath) : dirname(modulePath));
  } catch {
    return undefined;
  }
  const rel = relative(root, real);
  if (rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel)) return undefined;
  const whose = configPath ? `the folder of its policy ${configPath}` : "its own folder";
  return `${modulePath} is a symbolic link to ${real}, outside ${whose} (${root}); ` +
    "a hook runs only code from its own folder, so the target is not read: " +
    `put the module itself in ${root}, or name ${real} in slurm.conf`;
}
