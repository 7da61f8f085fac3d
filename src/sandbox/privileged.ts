// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Privileged commands: the `"privileged"` key of a sandbox set names
 * commands the runner runs on the hook's behalf with more than the hook has
 * (capabilities it never keeps, the host's own view), each only with
 * argument lists that match one of its patterns:
 *
 * ```jsonc
 * "sandbox": { "prolog": { "privileged": {
 *   "gpu-power": {
 *     "command": "/usr/bin/nvidia-smi",
 *     "capabilities": ["CAP_SYS_ADMIN"],
 *     "args": [["-i", "{int}", "-pl", "{num}"]]
 *   }
 * } } }
 * ```
 *
 * The launcher's broker (src/launcher/broker.c) runs them outside the
 * sandbox; the hook asks through a socket only its view holds
 * ({@linkcode PRIVILEGED_SOCKET}) with `privileged(name, args)` from
 * `"prep-deno"`. Why this is safe: docs/security.md, "Privileged commands".
 *
 * This module checks the words (one pure function, {@linkcode parsePrivileged},
 * that any policy reader can call) and encodes the rules for the launcher.
 *
 * @module
 */

import { basename, isAbsolute, normalize } from "node:path";
import { checkProgram, CODE_RUNNERS, PrivilegedError, programHops } from "./privileged_program.ts";
import type { Permissions } from "./permissions.ts";
import { covers } from "./trust.ts";
import { LAUNCHER } from "../contract.ts";

export { PrivilegedError, programHops };

/**
 * Where the hook's view holds the broker's socket (a bind from a root-only folder).
 *
 * @example
 * ```ts
 * import { PRIVILEGED_SOCKET } from "./privileged.ts";
 * export function broker(): Promise<Deno.UnixConn> {
 *   return Deno.connect({ transport: "unix", path: PRIVILEGED_SOCKET });
 * }
 * ```
 */
export const PRIVILEGED_SOCKET: string = LAUNCHER.PRIVILEGED_SOCKET;

/**
 * Every Linux capability by name (capabilities(7)), in kernel order: a
 * privileged command may name any of them.
 *
 * @example
 * ```ts
 * ALL_CAPABILITIES.indexOf("CAP_SYS_ADMIN"); // 21, its number
 * ```
 */
export const ALL_CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

/**
 * What a `{name}` in an argument pattern matches (the launcher's matcher,
 * src/launcher/broker.c, implements the same classes). None matches a
 * leading `-`, so a placeholder can never turn into an option.
 *
 * @example
 * ```ts
 * Object.keys(PLACEHOLDERS); // ["{int}", "{ints}", "{num}", "{word}"]
 * ```
 */
export const PLACEHOLDERS: Readonly<Record<string, string>> = {
  "{int}": "decimal digits",
  "{ints}": "decimal numbers separated by commas (a GPU list: 0,1,3)",
  "{num}": "a decimal number, with an optional fraction (250, 312.50)",
  "{word}": "letters, digits and . _ : (a module or node name), not starting with -",
  "{major:NAME}":
    "the character-device major the running kernel gave the driver NAME (/proc/devices), nothing else",
};

/** `{major:NAME}`, NAME as /proc/devices spells a driver. */
const MAJOR = /^\{major:[A-Za-z0-9_.-]{1,64}\}$/;

/**
 * One privileged command, checked.
 *
 * @example
 * ```ts
 * const c: PrivilegedCommand = { name: "load", command: "/usr/sbin/modprobe",
 *   capabilities: ["CAP_SYS_MODULE"], args: [["nvidia"]] };
 * ```
 */
export interface PrivilegedCommand {
  /** The name the hook asks for. */
  readonly name: string;
  /** Absolute path of the program, owned by root and writable by nobody else. */
  readonly command: string;
  /** Capabilities it runs with (nothing else). */
  readonly capabilities: readonly string[];
  /** Argument lists it may get (after the command), each matched element by element. */
  readonly args: readonly (readonly string[])[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The keys of one `"privileged"` command. */
export const PRIVILEGED_KEYS = ["command", "capabilities", "args"] as const;

/**
 * Checks a sandbox set's `"privileged"` value. `where` names the file and
 * set for messages (`/etc/slurm/hooks/deno.json: sandbox set "prolog"`);
 * `permissions` is the hook's permission set: one that grants `all`, `ffi`,
 * `run` of everything or of a program that runs code cannot hold a
 * privileged command. Without it only the words are checked (the programs
 * on the host and the permission set are checked when it is given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePrivileged } from "./privileged.ts";
 * // With the permission set as third argument, the program is checked on the host too.
 * const [c] = parsePrivileged(
 *   {
 *     "gpu-power": {
 *       command: "/usr/bin/nvidia-smi",
 *       capabilities: ["CAP_SYS_ADMIN"],
 *       args: [["-i", "{int}", "-pl", "{num}"]],
 *     },
 *   },
 *   'deno.json: sandbox set "prolog"',
 * );
 * assert.equal(c.name, "gpu-power");
 * ```
 * @throws {PrivilegedError} naming the file, the key and the fix.
 */
export function parsePrivileged(
  value: unknown,
  where: string,
  permissions?: Permissions,
): PrivilegedCommand[] {
  const at = `${where}: "privileged"`;
  if (!isRecord(value)) {
    throw new PrivilegedError(
      `${at} must be an object of named commands, each { "command", "capabilities", "args" }`,
    );
  }
  const out: PrivilegedCommand[] = [];
  for (const [name, entry] of Object.entries(value)) {
    const here = `${at} "${name}"`;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
      throw new PrivilegedError(
        `${at}: the name ${JSON.stringify(name)} must be letters, digits, . _ - (at most 64)`,
      );
    }
    if (!isRecord(entry)) throw new PrivilegedError(`${here} must be an object`);
    for (const key of Object.keys(entry)) {
      if (!(PRIVILEGED_KEYS as readonly string[]).includes(key)) {
        throw new PrivilegedError(
          `${here}: unknown key "${key}" (use command, capabilities, args)`,
        );
      }
    }
    const command = entry.command;
    if (typeof command !== "string" || !isAbsolute(command) || command.includes("\0")) {
      throw new PrivilegedError(`${here}: "command" must be the program's absolute path`);
    }
    // Paths are compared as text (write grants): one spelling only.
    if (command !== normalize(command) || command.endsWith("/")) {
      throw new PrivilegedError(
        `${here}: "command" must be the program's absolute path, spelled plainly (no "." or ".." part, no doubled or trailing slash): ${
          normalize(command)
        }`,
      );
    }
    if (CODE_RUNNERS.test(basename(command))) {
      throw new PrivilegedError(
        `${here}: "command" ${command} runs code named by its arguments or input, so its patterns could not bound it; name the program that does the work (nvidia-smi, modprobe, mknod)`,
      );
    }
    const caps = entry.capabilities ?? [];
    if (!Array.isArray(caps)) throw new PrivilegedError(`${here}: "capabilities" must be a list`);
    const capabilities = caps.map((c) => {
      const up = typeof c === "string" ? c.toUpperCase() : "";
      const full = up.startsWith("CAP_") ? up : `CAP_${up}`;
      if (!(ALL_CAPABILITIES as readonly string[]).includes(full)) {
        throw new PrivilegedError(`${here}: unknown capability ${JSON.stringify(c)}`);
      }
      return full;
    });
    const args = entry.args;
    if (
      !Array.isArray(args) || args.length === 0 ||
      !args.every((p) => Array.isArray(p) && p.every((e) => typeof e === "string"))
    ) {
      throw new PrivilegedError(
        `${here}: "args" must be a non-empty list of argument lists, such as [["-i", "{int}", "-pl", "{num}"]] (use [[]] for no arguments)`,
      );
    }
    for (const pattern of args as string[][]) {
      for (const element of pattern) {
        if (element.includes("\0")) throw new PrivilegedError(`${here}: an argument has a NUL`);
        const unknown = element.match(/\{[^}]*\}/g)?.find((p) =>
          !(p in PLACEHOLDERS) && !MAJOR.test(p)
        );
        if (unknown) {
          throw new PrivilegedError(
            `${here}: unknown placeholder ${unknown} (use ${Object.keys(PLACEHOLDERS).join(", ")})`,
          );
        }
      }
    }
    out.push({ name, command, capabilities, args: args as string[][] });
  }
  if (permissions) admitPrivileged(out, where, permissions);
  return out;
}

/**
 * The host-side checks of parsed commands: each program is owned by root
 * and writable by nobody else, none is inside the hook's `writable` grants
 * (`true`: the whole host), and the hook's permission set runs no code of
 * its own choosing (no shell, interpreter, `ffi` or `all`).
 *
 * @example
 * ```ts
 * import type { Policy } from "./policy.ts";
 * import { admitPrivileged } from "./privileged.ts";
 * export function admit(policy: Policy): void {
 *   const view = policy.view;
 *   admitPrivileged(
 *     view.privileged ?? [],
 *     'deno.json: sandbox set "prolog"',
 *     policy.permissions,
 *     view.write.flatMap((g) => [g.path, g.real]),
 *   );
 * }
 * ```
 * @throws {PrivilegedError} naming the file, the key and the fix.
 */
export function admitPrivileged(
  commands: readonly PrivilegedCommand[],
  where: string,
  permissions: Permissions,
  writable: readonly string[] | true = [],
): void {
  for (const c of commands) {
    const here = `${where}: "privileged" "${c.name}"`;
    // A hook that could rewrite the program, or any link on the way to it,
    // would run its own code with the capabilities.
    const hops = checkProgram(c.command, here);
    const w = writable === true ? "/" : writable.find((w) => hops.some((h) => covers(w, h)));
    if (w !== undefined) {
      throw new PrivilegedError(
        `${here}: "command" ${c.command} is inside the write grant ${w}, so the hook could replace the program it asks the runner to run; grant a narrower path`,
      );
    }
  }
  if (commands.length > 0) refuseCodeRunners(permissions, where);
}

/**
 * A hook that can run code of its own choosing outside Deno's permission
 * checks could do what it likes with anything the view lets in; privileged
 * commands are for hooks whose every action is checked.
 */
function refuseCodeRunners(p: Permissions, where: string): void {
  const fix =
    `a set with "privileged" commands cannot also grant a shell, an interpreter, "ffi" or "all"; move the privileged work to a hook of its own or narrow the grant`;
  const set = where.replace(/"sandbox" set/, "permission set");
  if (p.all === true) throw new PrivilegedError(`${set}: "all" is granted: ${fix}`);
  if (p.ffi) throw new PrivilegedError(`${set}: "ffi" is granted: ${fix}`);
  if (p.run === true) throw new PrivilegedError(`${set}: "run": true is granted: ${fix}`);
  // Judged as the program is: by every name on the way, a link to a shell included.
  const runner = (p.run ?? []).find((r) =>
    programHops(r).some((h) => CODE_RUNNERS.test(basename(h)))
  );
  if (runner) throw new PrivilegedError(`${set}: "run" grants ${runner}: ${fix}`);
}

/**
 * The rules as the launcher reads them (a plan list, src/launch/plan.ts):
 * per command its name, path, capabilities joined by commas, the number of
 * patterns, then each pattern as its length and its elements.
 *
 * @example
 * ```ts
 * encodePrivileged([{ name: "load", command: "/usr/sbin/modprobe",
 *   capabilities: ["CAP_SYS_MODULE"], args: [["nvidia"]] }]);
 * // ["load", "/usr/sbin/modprobe", "CAP_SYS_MODULE", "1", "1", "nvidia"]
 * ```
 */
export function encodePrivileged(commands: readonly PrivilegedCommand[]): string[] {
  return commands.flatMap((c) => [
    c.name,
    c.command,
    c.capabilities.join(","),
    String(c.args.length),
    ...c.args.flatMap((p) => [String(p.length), ...p]),
  ]);
}
