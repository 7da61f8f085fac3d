// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { parseCreate } from "./view_create.ts";

const AT = 'deno.json: "sandbox" set "prolog", key "create"';

Deno.test("create: defaults (a folder, 0755, root) and a file with its owner and group", () => {
  assert.deepEqual(parseCreate({ "/run/enroot": {} }, AT), [
    { path: "/run/enroot", type: "directory", mode: 0o755, owner: "root" },
  ]);
  assert.deepEqual(
    parseCreate(
      { "/var/log/gpu.log": { type: "file", mode: "640", owner: "slurm", group: "adm" } },
      AT,
    ),
    [{ path: "/var/log/gpu.log", type: "file", mode: 0o640, owner: "slurm", group: "adm" }],
  );
});

Deno.test("create: every bad word names the key and the fix", () => {
  const bad: [unknown, RegExp][] = [
    [[], /must be an object of paths/],
    [{ "run/x": {} }, /must be an absolute path without a trailing slash/],
    [{ "/run/x/": {} }, /must be an absolute path without a trailing slash/],
    [{ "/run/x": { type: "fifo" } }, /"type" must be "directory" or "file"/],
    [{ "/run/x": { mode: "0777" } }, /lets others write the folder/],
    [{ "/run/x": { mode: "rwx" } }, /"mode" must be octal text/],
    // No set-user-ID, set-group-ID or sticky bit: a mode is its three permission digits.
    [{ "/run/x": { type: "file", mode: "4755" } }, /"mode" must be octal text/],
    [{ "/run/x": { type: "file", mode: "02755" } }, /"mode" must be octal text/],
    [{ "/run/x": { mode: "1755" } }, /"mode" must be octal text/],
    // A spelling that goes elsewhere than it seems.
    [{ "/run/x/../../etc/cron.d/job": {} }, /must be spelled plainly .*: \/etc\/cron\.d\/job/],
    [{ "/run//x": {} }, /must be spelled plainly/],
    [{ "/run/./x": {} }, /must be spelled plainly/],
    [{ "/run/x": { owner: "a b" } }, /"owner" must be a user or group name or number/],
    [{ "/run/x": { size: 1 } }, /unknown key "size"/],
  ];
  for (const [value, re] of bad) {
    assert.throws(() => parseCreate(value, AT), (e: Error) => {
      assert.ok(e.message.startsWith(AT), e.message);
      assert.match(e.message, re);
      return true;
    });
  }
});
