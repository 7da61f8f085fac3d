// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Capability hints: when a hook, or a command it ran, failed with `EPERM` or
 * `EACCES` and a capability its view lacks would have allowed it, which
 * capability, and which policy key gives it (or, for one a hook never
 * holds, the privileged-commands way). Also Deno's own "run again with the
 * --allow-..." wording, turned into the policy's. Pure functions: the
 * entry calls them on what it reports, and any outcome code can.
 *
 * @module
 */

import { CAPABILITIES } from "../sandbox/view.ts";
import { denial, type PolicySource } from "./outcome.ts";

/**
 * Where the hook's view came from, for hints.
 *
 * @example
 * ```ts
 * const from: ViewSource = { configPath: "/etc/slurm/hooks/deno.json", sandboxSet: "prolog",
 *   capabilities: ["CAP_CHOWN"] };
 * ```
 */
export interface ViewSource {
  /** The policy file, if any. */
  readonly configPath?: string;
  /** The sandbox set used (the hook's name, or `default`); the hook's name when none. */
  readonly sandboxSet: string;
  /** Capabilities the view keeps. */
  readonly capabilities: readonly string[];
}

/** Why a failure needed a capability: what the text says, and which one. */
const RULES: readonly { test: RegExp; cap: string; what: string }[] = [
  { test: /Insufficient Permissions/i, cap: "CAP_SYS_ADMIN", what: "GPU settings (nvidia-smi)" },
  {
    test: /could not insert|init_module|finit_module|modprobe:.*(not permitted|denied)/i,
    cap: "CAP_SYS_MODULE",
    what: "loading a kernel module",
  },
  { test: /mknod.*(not permitted|denied)/i, cap: "CAP_MKNOD", what: "making a device node" },
  {
    test: /\bmount\b.*(not permitted|denied|must be superuser)|only root can/i,
    cap: "CAP_SYS_ADMIN",
    what: "mounting",
  },
  {
    test: /\b(chown|chgrp|fchown|lchown)\b.*not permitted|not permitted.*\b(chown|chgrp|lchown)\b/i,
    cap: "CAP_CHOWN",
    what: "changing a file's owner",
  },
  {
    test: /\b(chmod|fchmod|utime|utimes|touch)\b.*not permitted|not permitted.*\b(chmod|utime)\b/i,
    cap: "CAP_FOWNER",
    what: "changing a file the hook does not own",
  },
  {
    test: /\bkill\b.*not permitted|not permitted.*\bkill\b|\(os error 1\): kill/i,
    cap: "CAP_KILL",
    what: "signalling another user's process",
  },
  {
    test: /\b(setuid|setresuid|setreuid|runuser|setpriv|su)\b.*not permitted/i,
    cap: "CAP_SETUID",
    what: "acting as another user",
  },
  {
    test: /\b(renice|nice|chrt|ionice|setpriority)\b.*(not permitted|denied)/i,
    cap: "CAP_SYS_NICE",
    what: "raising a priority",
  },
  {
    test: /\b(ulimit|prlimit|setrlimit)\b.*not permitted/i,
    cap: "CAP_SYS_RESOURCE",
    what: "raising a limit",
  },
  {
    test: /Permission denied \(os error 13\)|EACCES|: Permission denied$/im,
    cap: "CAP_DAC_OVERRIDE",
    what: "a file whose mode keeps root out without it",
  },
];

/** Capabilities a hook never holds (see `CAPABILITIES` in src/sandbox/view.ts). */
function grantable(cap: string): boolean {
  return (CAPABILITIES as readonly string[]).includes(cap);
}

/**
 * The hint for a failure's text, or undefined when no capability the view
 * lacks explains it. A read-only path (`EROFS`) gets the `write` key.
 *
 * @example
 * ```ts
 * capabilityHint("nvidia-smi -i 0 -pl 300 exited with status 4: Insufficient Permissions",
 *   { configPath: "/etc/slurm/hooks/deno.json", sandboxSet: "prolog", capabilities: [] });
 * // 'hint: GPU settings (nvidia-smi) need CAP_SYS_ADMIN, which a hook never holds; ...'
 * ```
 */
export function capabilityHint(text: string, from: ViewSource): string | undefined {
  const file = from.configPath ?? "a deno.json next to the module";
  const set = `"sandbox" set "${from.sandboxSet}" of ${file}`;
  const rofs = /Read-only file system(?: \(os error 30\))?(?:: \w+ '([^']+)')?/.exec(text);
  if (rofs) {
    return `hint: ${
      rofs[1] ?? "the path"
    } is read-only in the hook's view; add it (or its folder) to "write" of ${set}`;
  }
  for (const rule of RULES) {
    if (!rule.test.test(text)) continue;
    if (from.capabilities.includes(rule.cap)) return undefined;
    if (!grantable(rule.cap)) {
      return `hint: ${rule.what} needs ${rule.cap}, which a hook never holds; name the command under "privileged" in ${set} (with "capabilities": ["${rule.cap}"] and its "args") and run it with privileged() from "prep-deno" (README, "Privileged commands")`;
    }
    return `hint: ${rule.what} needs ${rule.cap}, which the hook's view lacks; add "${rule.cap}" to "capabilities" of ${set}`;
  }
  return undefined;
}

/**
 * `text` with Deno's "Requires X access to R, run again with the --allow-X
 * flag" (and "NotCapable: ...") put in the policy's words, so that wording
 * never reaches an admin, even when hook code caught the error and printed it.
 *
 * @example
 * ```ts
 * adminWording('NotCapable: Requires run access, run again with the --allow-run flag',
 *   { hook: "epilog", configPath: "/etc/slurm/hooks/deno.json" });
 * // 'permission denied: all of run access; to allow it, set "run": true in ...'
 * ```
 */
export function adminWording(text: string, from: PolicySource): string {
  return text.replace(
    /(?:NotCapable: |PermissionDenied: )?Requires [^\n]*?(?:run again with the --allow-\w+ flag|--allow-\w+ permissions?[^\n]*)/g,
    (m) => denial(m.replace(/^(NotCapable|PermissionDenied): /, ""), from),
  ).replace(/--allow-(\w+)/g, (_, kind) => `a "${kind}" grant in the policy`);
}
