// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The program of a privileged command, judged as the kernel will run it:
 * every link on the way followed one hop at a time, each name, owner and
 * folder checked (src/sandbox/privileged.ts uses it; why: docs/security.md,
 * "Privileged commands").
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { untrustedReason } from "./trust.ts";

/**
 * A `"privileged"` entry that cannot be used; names the file, key and fix.
 *
 * @example
 * ```ts
 * import { PrivilegedError } from "./privileged_program.ts";
 * const e = new PrivilegedError('deno.json: "privileged" "x": "command" must be an absolute path');
 * e.name; // "PrivilegedError"
 * ```
 */
export class PrivilegedError extends Error {
  override name = "PrivilegedError";
}

/**
 * Programs that run code named by their arguments or input: a privileged
 * command may not be one (its patterns would be code), and a hook that may
 * run one cannot have privileged commands. Judged by name, every name on
 * the way counted (a copy under another name passes: docs/security.md).
 *
 * @example
 * ```ts
 * CODE_RUNNERS.test("ld-linux-x86-64.so.2"); // true
 * ```
 */
export const CODE_RUNNERS: RegExp =
  /^(sh|bash|dash|ash|zsh|ksh|mksh|csh|tcsh|fish|busybox|env|xargs|find|nohup|nice|timeout|stdbuf|setsid|setpriv|nsenter|unshare|chroot|capsh|sudo|su|doas|runuser|python[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|lua[0-9.]*|luajit|php[0-9.]*|tclsh[0-9.]*|wish|expect|awk|gawk|mawk|nawk|sed|make|gdb|vim?|ed|emacs|R|Rscript|java|jshell|osascript|pwsh|systemd-run|flock|watch|ld-linux.*|ld-musl.*|ld\.so.*|ld64\.so.*|ionice|chrt|taskset|numactl|prlimit|setarch|linux32|linux64|strace|ltrace|valgrind|script|cgexec|run-parts|start-stop-daemon|parallel|sg|newgrp|pkexec|fakeroot|eatmydata|faketime|unbuffer|catchsegv|chpst|toybox|bwrap|firejail|systemd-nspawn|tmux|screen|ssh|time)$/;

/**
 * Every path the kernel meets executing `command`: the command, each link
 * it goes through, one hop at a time, and last the program (or the first
 * path missing, or the 41st link). The plan depends on each (src/sandbox/view.ts,
 * viewDeps), so a hop changed later is judged again.
 *
 * @example
 * ```ts
 * programHops("/usr/sbin/modprobe"); // ["/usr/sbin/modprobe", "/usr/bin/kmod"] on Debian
 * ```
 */
export function programHops(command: string): string[] {
  const hops: string[] = [];
  for (let path = command; hops.length <= 40;) {
    hops.push(path);
    try {
      if (!Deno.lstatSync(path).isSymlink) break;
      path = resolve(dirname(path), Deno.readLinkSync(path));
    } catch {
      break;
    }
  }
  return hops;
}

/**
 * A program others could replace would run with the capabilities. A link
 * is taken when it and every link after it, up to the program, are beyond
 * others' reach (Debian's `/usr/sbin/modprobe` is a link to kmod, which
 * acts on the name it was run by): the broker executes the link's path, so
 * the kernel follows each hop again then, and one hop someone else could
 * swap would send it to their program. Each name met is judged as the
 * link's is. Returns every path met, the program last.
 *
 * @example
 * ```ts
 * import { checkProgram } from "./privileged_program.ts";
 * checkProgram("/usr/bin/id", 'deno.json: "privileged" "who"'); // ["/usr/bin/id"]
 * ```
 * @throws {PrivilegedError} naming the path met and why.
 */
export function checkProgram(command: string, here: string): string[] {
  const hops = programHops(command);
  const target = hops[hops.length - 1];
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(target);
  } catch {
    throw new PrivilegedError(`${here}: "command" ${command} does not exist on this host`);
  }
  if (info.isSymlink) {
    throw new PrivilegedError(`${here}: "command" ${command} goes through too many links`);
  }
  if (!info.isFile) {
    throw new PrivilegedError(`${here}: "command" ${command} must be a program, not a folder`);
  }
  // Another name of the same file (a hard link) could sit in a write grant, out of every path check.
  if ((info.nlink ?? 1) > 1) {
    throw new PrivilegedError(
      `${here}: "command" ${target} has ${info.nlink} names (hard links), and one elsewhere could let someone rewrite it; name a program with one name`,
    );
  }
  // Each hop as the kernel takes it: a target that climbs ("..") out of a
  // linked folder lands where that folder's target is, not where the text
  // seems to go, so no folder on a target's way may be a link.
  for (const hop of hops.slice(0, -1)) {
    const text = Deno.readLinkSync(hop);
    let at = isAbsolute(text) ? "/" : dirname(hop);
    for (const part of text.split("/").slice(0, -1).filter((p) => p !== "" && p !== ".")) {
      at = part === ".." ? dirname(at) : join(at, part);
      if (part !== ".." && Deno.lstatSync(at).isSymlink) {
        throw new PrivilegedError(
          `${here}: "command" ${command} is refused: the link ${hop} (to ${text}) goes through the linked folder ${at}; point each link at the program's own path`,
        );
      }
    }
  }
  if (Deno.realPathSync(command) !== target) {
    throw new PrivilegedError(
      `${here}: "command" ${command} is refused: the kernel finds ${
        Deno.realPathSync(command)
      }, not ${target}; point each link at the program's own path`,
    );
  }
  const runner = hops.find((h) => CODE_RUNNERS.test(basename(h)));
  if (runner) {
    throw new PrivilegedError(
      runner === command
        ? `${here}: "command" ${command} runs code named by its arguments or input, so its patterns could not bound it; name the program that does the work (nvidia-smi, modprobe, mknod)`
        : `${here}: "command" ${command} is a link to ${runner}, which runs code named by its arguments or input; name the program that does the work`,
    );
  }
  for (const path of hops) {
    const why = untrustedReason(path, { ownerMatters: true, owners: new Set([0]) });
    if (why) {
      throw new PrivilegedError(
        `${here}: "command" ${command} is refused: ${why}${
          path === command ? "" : ` (on the way to ${target})`
        }; a privileged program (and every link to it) and every folder above it must be owned by root and writable by nobody else`,
      );
    }
  }
  return hops;
}
