// SPDX-License-Identifier: GPL-2.0-or-later
// `serve --socket PATH` takes only a free path: never a file that is not a
// socket, never the socket of a running service, and leaves folders alone.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO, prepDeno } from "../helpers.ts";
import { opts, startService } from "./service.ts";

Deno.test({
  name: "serve: refuses a path that is not a socket, and leaves it and its folder alone",
  ...opts,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "prep-deno-sock-" });
    Deno.chmodSync(dir, 0o755);
    const file = join(dir, "precious.txt");
    Deno.writeTextFileSync(file, "keep me");
    const r = await prepDeno(["serve", "--socket", file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /precious\.txt exists and is not a socket; refusing to replace it/);
    assert.equal(Deno.readTextFileSync(file), "keep me");
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o755);
    Deno.removeSync(dir, { recursive: true });
  },
});

Deno.test({
  name: "serve: a second service refuses the socket of a running one, which keeps answering",
  ...opts,
  async fn() {
    await using s = await startService();
    const r = await prepDeno(["serve", "--socket", s.socket]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is held by a running prep-deno serve; stop that one first/);
    const o = await s.run(s.hook("still", `export default () => 4;`), 1);
    assert.equal(o.exitCode, 4);
    assert.equal(o.fallback, undefined);
  },
});

Deno.test({
  name: "serve: a stale socket (its service killed) is replaced",
  ...opts,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "prep-deno-sock-" });
    const path = join(dir, "serve.sock");
    const start = () =>
      new Deno.Command(PREP_DENO, { args: ["serve", "--socket", path], stderr: "piped" }).spawn();
    const firstLine = async (c: Deno.ChildProcess) => {
      const reader = c.stderr.getReader();
      const { value } = await reader.read();
      reader.releaseLock();
      return new TextDecoder().decode(value);
    };
    const first = start();
    assert.match(await firstLine(first), /listening on/);
    first.kill("SIGKILL"); // leaves its socket behind
    await first.status;
    assert.ok(Deno.lstatSync(path).isSocket);
    const second = start();
    assert.match(await firstLine(second), /listening on/);
    second.kill("SIGTERM");
    await second.status;
    Deno.removeSync(dir, { recursive: true });
  },
});
