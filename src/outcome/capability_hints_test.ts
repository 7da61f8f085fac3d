// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { adminWording, capabilityHint } from "./capability_hints.ts";

const from = { configPath: "/etc/slurm/hooks/deno.json", sandboxSet: "prolog", capabilities: [] };

Deno.test("capability hints: each failure of the ports names its capability and the key", () => {
  const cases: [string, RegExp][] = [
    [
      "Permission denied (os error 13): writefile '/var/log/slurm/gpu.log'",
      /needs CAP_DAC_OVERRIDE, which the hook's view lacks; add "CAP_DAC_OVERRIDE" to "capabilities" of "sandbox" set "prolog" of \/etc\/slurm\/hooks\/deno\.json/,
    ],
    ["chmod: changing permissions of 'x': Operation not permitted", /CAP_FOWNER.*"capabilities"/],
    ["Operation not permitted (os error 1): chown '/scratch/a'", /CAP_CHOWN.*"capabilities"/],
    ["kill: (123) - Operation not permitted", /CAP_KILL.*"capabilities"/],
    [
      "Unable to set power limit for GPU 0: Insufficient Permissions",
      /needs CAP_SYS_ADMIN, which a hook never holds; name the command under "privileged" in "sandbox" set "prolog".*privileged\(\)/,
    ],
    [
      "modprobe: ERROR: could not insert 'nvidia': Operation not permitted",
      /CAP_SYS_MODULE, which a hook never holds; name the command under "privileged"/,
    ],
    [
      "mknod: /dev/nvidia0: Operation not permitted",
      /CAP_MKNOD, which a hook never holds; name the command under "privileged"/,
    ],
    [
      "Read-only file system (os error 30): open '/etc/motd'",
      /\/etc\/motd is read-only in the hook's view; add it \(or its folder\) to "write"/,
    ],
  ];
  for (const [text, re] of cases) assert.match(capabilityHint(text, from) ?? "", re, text);
});

Deno.test("capability hints: none when the view keeps the capability, or when none explains it", () => {
  assert.equal(
    capabilityHint("chown: Operation not permitted", { ...from, capabilities: ["CAP_CHOWN"] }),
    undefined,
  );
  assert.equal(capabilityHint("gpu 1 lost", from), undefined);
});

Deno.test("admin wording: Deno's --allow-... never survives", () => {
  const where = { hook: "epilog", configPath: "/etc/slurm/hooks/deno.json", setName: "epilog" };
  for (
    const text of [
      "NotCapable: Requires run access, run again with the --allow-run flag",
      'caught: Requires write access to "/var/log/x", run again with the --allow-write flag',
      "Requires --allow-run permissions to spawn subprocess with LD_PRELOAD environment variable.",
    ]
  ) {
    const out = adminWording(text, where);
    assert.doesNotMatch(out, /--allow-/, out);
    assert.match(out, /permission set "epilog"|grant in the policy/, out);
  }
  assert.match(
    adminWording(
      'x: Requires write access to "/var/log/x", run again with the --allow-write flag',
      where,
    ),
    /^x: permission denied: write access to "\/var\/log\/x"; to allow it, add it to the "write" list of permission set "epilog"/,
  );
});
