// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import {
  encodePrivileged,
  parsePrivileged,
  PRIVILEGED_SOCKET,
  PrivilegedError,
} from "./privileged.ts";
import { LAUNCHER } from "../contract.ts";

const W = 'deno.json: "sandbox" set "prolog"';
const ok = {
  power: { command: "/usr/bin/nvidia-smi", capabilities: ["sys_admin"], args: [["-i", "{int}"]] },
};

Deno.test("privileged: parsed, capabilities named in full, encoded for the launcher", () => {
  const cmds = parsePrivileged(ok, W);
  assert.deepEqual(cmds, [{
    name: "power",
    command: "/usr/bin/nvidia-smi",
    capabilities: ["CAP_SYS_ADMIN"],
    args: [["-i", "{int}"]],
  }]);
  assert.deepEqual(encodePrivileged(cmds), [
    "power",
    "/usr/bin/nvidia-smi",
    "CAP_SYS_ADMIN",
    "1",
    "2",
    "-i",
    "{int}",
  ]);
});

Deno.test("privileged: every bad word is refused with the file, the key and the fix", () => {
  const bad: [unknown, RegExp][] = [
    [[], /must be an object of named commands/],
    [{ "a b": ok.power }, /the name "a b" must be/],
    [
      { p: { ...ok.power, command: "nvidia-smi" } },
      /"command" must be the program's absolute path/,
    ],
    [{ p: { ...ok.power, command: "/bin/sh" } }, /runs code named by its arguments/],
    [{ p: { ...ok.power, command: "/usr/bin/python3.11" } }, /runs code named/],
    [{ p: { ...ok.power, capabilities: ["CAP_NOPE"] } }, /unknown capability "CAP_NOPE"/],
    [{ p: { ...ok.power, args: [] } }, /"args" must be a non-empty list of argument lists/],
    [{ p: { ...ok.power, args: ["-i"] } }, /"args" must be a non-empty list/],
    [{ p: { ...ok.power, args: [["{any}"]] } }, /unknown placeholder \{any\}/],
    [{ p: { ...ok.power, shell: true } }, /unknown key "shell"/],
  ];
  for (const [value, re] of bad) {
    assert.throws(() => parsePrivileged(value, W), (e: Error) => {
      assert.ok(e instanceof PrivilegedError);
      assert.match(e.message, /^deno\.json: "sandbox" set "prolog": "privileged"/);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("privileged: the socket path has one source (the helper inside the view spells it too)", () => {
  assert.equal(PRIVILEGED_SOCKET, LAUNCHER.PRIVILEGED_SOCKET);
  const helper = Deno.readTextFileSync(new URL("../helpers/privileged.ts", import.meta.url));
  assert.ok(helper.includes(`const SOCKET = "${LAUNCHER.PRIVILEGED_SOCKET}";`));
});
