// SPDX-License-Identifier: GPL-2.0-or-later
// A hook whose policy names privileged commands never runs warm: only the
// spawn path's launcher starts the broker, so the service leaves it there.
import assert from "node:assert/strict";
import { opts, startService } from "./service.ts";
import { join } from "node:path";
import { calls, fakes } from "../sandbox/fake_gpu.ts";
import { grantDir } from "../sandbox/helpers.ts";

Deno.test({
  name: "warm: a hook with privileged commands is left to the spawn path, and its command runs",
  ...opts,
  async fn() {
    const fake = fakes();
    try {
      await using s = await startService();
      const path = s.hook(
        "privileged",
        `import { privileged } from "prep-deno";
export default async () => { console.log((await privileged("power", ["-i", "0", "-pl", "300"])).stdout.trim()); };`,
        {
          sandbox: {
            default: {
              privileged: {
                power: {
                  command: `${fake}/nvidia-smi`,
                  capabilities: ["CAP_SYS_ADMIN"],
                  args: [["-i", "{int}", "-pl", "{num}"]],
                },
              },
            },
          },
          warm: { hosts: 1 },
        },
      );
      const o = await s.run(path, 7);
      assert.equal(o.exitCode, 0, o.output + s.log());
      assert.match(o.output, /Setting applied/);
      assert.deepEqual(calls(fake), ["nvidia-smi -i 0 -pl 300"]);
      assert.match(s.log(), /its policy names privileged commands; left to the spawn path/);
    } finally {
      Deno.removeSync(fake, { recursive: true });
    }
  },
});

Deno.test({
  name: "warm: a capability hint as in the spawn path",
  ...opts,
  async fn() {
    const dir = grantDir("warm-hint");
    const file = join(dir, "f");
    Deno.writeTextFileSync(file, "");
    Deno.chownSync(file, 65534, 65534);
    try {
      await using s = await startService();
      const path = s.hook(
        "hint",
        `export default () => { Deno.chmodSync(${JSON.stringify(file)}, 0o600); };`,
        {
          permissions: { default: { write: [dir], read: [dir] } },
          sandbox: { default: { write: [dir] } },
          warm: { hosts: 1 },
        },
      );
      const o = await s.run(path, 8);
      assert.equal(o.exitCode, 1, o.output);
      assert.equal(o.fallback, undefined, "ran warm");
      assert.match(
        o.log,
        /hint: changing a file the hook does not own needs CAP_FOWNER, which the hook's view lacks; add "CAP_FOWNER" to "capabilities" of "sandbox" set "default"/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
