// SPDX-License-Identifier: GPL-2.0-or-later
// The race of race_test.ts inside a real hook's sandbox: the helpers with
// the hook's own capabilities and view, the walk tool allowed by the runner.
import assert from "node:assert/strict";
import { HELPERS, tryPolicy } from "../sandbox/helpers.ts";
import { arena, HER } from "./arena.ts";

Deno.test("race in the sandbox: makeJobFolder, removeTree and removeUserFiles from a hook, her folder flipping", async () => {
  const a = arena();
  try {
    const before = a.snapshot();
    const racer = a.race("sub", a.root);
    const code = `import { makeJobFolder, removeTree, removeUserFiles } from ${
      JSON.stringify(HELPERS)
    };
      export async function prolog() {
        const her = ${JSON.stringify(a.her)};
        const calls = [
          () => makeJobFolder(her + "//sub/./new/", { uid: ${HER}, gid: ${HER} }),
          () => removeTree(her + "/sub/job"),
          () => removeUserFiles(her + "/x/../sub", ${HER}),
          () => removeTree(her + "/sub/"),
        ];
        let worked = 0, refused = 0;
        for (let i = 0; i < 400; i++) {
          try { await calls[i % calls.length](); worked++; } catch (e) {
            if (!(e as Error).message.includes(her + "/sub")) throw e;
            refused++;
          }
        }
        console.log("worked", worked, "refused", refused);
      }`;
    const r = await tryPolicy(code, {
      permissions: { prolog: { write: [a.top] } },
      sandbox: { prolog: { capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"] } },
    });
    await racer.stop();
    assert.equal(r.status, 0, r.stderr);
    const m = /worked (\d+) refused (\d+)/.exec(r.stderr);
    assert.ok(m && Number(m[1]) > 0, r.stderr);
    console.log(m[0]);
    assert.deepEqual(a.snapshot(), before);
  } finally {
    a.remove();
  }
});
