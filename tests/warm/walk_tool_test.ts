// SPDX-License-Identifier: GPL-2.0-or-later
// The helpers' walk tool in warm mode: the warm host's view holds it and its
// Workers may run it under the same rule as a spawned hook.
import assert from "node:assert/strict";
import { HELPERS } from "../sandbox/helpers.ts";
import { opts, startService, text } from "./service.ts";

Deno.test({
  name: "warm: makeJobFolder and removeTree work through the walk tool, warm",
  ...opts,
  async fn() {
    const g = `/var/tmp/prep-deno-warm-walk-${crypto.randomUUID().slice(0, 8)}`;
    Deno.mkdirSync(g, { mode: 0o755 });
    try {
      await using s = await startService();
      const path = s.hook(
        "walk",
        `import { makeJobFolder, removeTree } from ${JSON.stringify(HELPERS)};
        export default async (job) => {
          await makeJobFolder("${g}/jobs/" + job.id, { uid: 65534, gid: 65534, recursive: true });
          const made = Deno.statSync("${g}/jobs/" + job.id).uid;
          await removeTree("${g}//jobs/./" + job.id + "/");
          console.log("made by", made, "then", Deno.readDirSync("${g}/jobs").toArray().length);
        };`,
        {
          permissions: { default: { read: [g], write: [g] } },
          sandbox: { default: { capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"] } },
          warm: { hosts: 1 },
        },
      );
      for (let i = 0; i < 2; i++) {
        const o = await s.run(path, i + 1);
        assert.equal(o.fallback, undefined);
        assert.equal(text(o), "made by 65534 then 0");
      }
    } finally {
      Deno.removeSync(g, { recursive: true });
    }
  },
});
