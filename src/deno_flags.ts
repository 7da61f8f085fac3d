// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A permission set as `deno run` flags, for a hook run as one Deno process
 * inside the sandbox: the same grants a Worker would get, plus no runtime
 * downloads of code unless `import` grants the registry's host.
 *
 * @module
 */

import { PERMISSION_KINDS, type Permissions } from "./policy.ts";

/** The npm registry Deno downloads `npm:` packages from. */
export const NPM_REGISTRY_HOST = "registry.npmjs.org";

/**
 * Deno's permission flags for `p`, `--no-prompt` included.
 *
 * @example
 * ```ts
 * denoPermissionFlags({ read: ["/etc/slurm"], run: ["/usr/bin/scontrol"] });
 * // ["--no-prompt", "--allow-read=/etc/slurm", "--allow-run=/usr/bin/scontrol", "--no-npm"]
 * ```
 */
export function denoPermissionFlags(p: Permissions): string[] {
  const flags = ["--no-prompt"];
  if (p.all === true) return [...flags, "--allow-all", ...remoteCodeFlags(p)];
  for (const kind of PERMISSION_KINDS) {
    const g = p[kind];
    if (kind === "all" || g === undefined) continue;
    if (g === true) flags.push(`--allow-${kind}`);
    else if (g.length > 0) flags.push(`--allow-${kind}=${g.join(",")}`);
  }
  return [...flags, ...remoteCodeFlags(p)];
}

/**
 * Flags that keep code from being downloaded at run time unless granted.
 * `https:` and `jsr:` imports are gated by Deno's `import` permission
 * already; `npm:` is not, so it is turned off unless `import` is `true` or
 * names the npm registry.
 *
 * @example
 * ```ts
 * remoteCodeFlags({ net: true }); // ["--no-npm"]
 * remoteCodeFlags({ import: ["registry.npmjs.org"] }); // []
 * ```
 */
export function remoteCodeFlags(p: Permissions): string[] {
  const imports = p.all === true ? true : p.import;
  if (imports === true) return [];
  const npm = (imports ?? []).some((h) =>
    h === NPM_REGISTRY_HOST || h.startsWith(`${NPM_REGISTRY_HOST}:`)
  );
  return npm ? [] : ["--no-npm"];
}
