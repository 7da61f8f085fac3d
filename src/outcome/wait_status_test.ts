// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { decodeWaitStatus, describeWaitStatus, endedOf, shellStatus } from "./wait_status.ts";

Deno.test("wait status: a real child's end, decoded both ways, gives the shell's number", async () => {
  const sh = (script: string) =>
    new Deno.Command("/bin/sh", { args: ["-c", script], stdout: "null", stderr: "null" }).output();
  assert.equal(shellStatus(endedOf(await sh("exit 3"))), 3);
  assert.deepEqual(endedOf(await sh("kill -TERM $$")), { how: "signaled", signal: 15 });
  assert.equal(shellStatus(endedOf(await sh("kill -KILL $$"))), 137);
  // The same ends as waitpid(2) encodes them.
  assert.equal(shellStatus(decodeWaitStatus(3 << 8)), 3);
  assert.equal(shellStatus(decodeWaitStatus(15)), 143);
  assert.equal(describeWaitStatus(9), "killed by signal 9");
  assert.equal(describeWaitStatus(0), "exit code 0");
});
