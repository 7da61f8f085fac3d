// SPDX-License-Identifier: GPL-2.0-or-later
// A hook whose policy names privileged commands never runs warm: only the
// spawn path's launcher starts the broker, so the service leaves it there.
import assert from "node:assert/strict";
import { opts, startService } from "./service.ts";
import { calls, fakes } from "../sandbox/fake_gpu.ts";

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
