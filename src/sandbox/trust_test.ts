// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { covers, GrantError, resolveGrant, untrustedReason } from "./trust.ts";

function inTemp(fn: (dir: string) => void) {
  const dir = Deno.makeTempDirSync();
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("trust: root's folders are trusted; a folder others can write is not", () => {
  assert.equal(untrustedReason("/etc/passwd", { ownerMatters: true }), undefined);
  inTemp((dir) => {
    Deno.mkdirSync(join(dir, "open"));
    Deno.chmodSync(join(dir, "open"), 0o777);
    Deno.writeTextFileSync(join(dir, "open/f"), "");
    assert.match(
      untrustedReason(join(dir, "open/f"))!,
      /the folder .*\/open is writable by group or others \(mode 777\)/,
    );
  });
});

Deno.test("trust: the sticky bit guards an entry owned by root, not one owned by a user", () => {
  inTemp((dir) => {
    Deno.mkdirSync(join(dir, "sticky"));
    Deno.chmodSync(join(dir, "sticky"), 0o1777);
    Deno.mkdirSync(join(dir, "sticky/root"));
    Deno.mkdirSync(join(dir, "sticky/user"));
    Deno.chownSync(join(dir, "sticky/user"), 65534, 65534);
    assert.equal(untrustedReason(join(dir, "sticky/root")), undefined);
    assert.match(
      untrustedReason(join(dir, "sticky/user"))!,
      /sticky is writable by group or others/,
    );
    // A policy's own folder must be closed even with the sticky bit.
    Deno.writeTextFileSync(join(dir, "sticky/deno.json"), "{}");
    assert.match(
      untrustedReason(join(dir, "sticky/deno.json"), { ownerMatters: true, parentStrict: true })!,
      /mode 1777/,
    );
  });
});

Deno.test("trust: a grant through a symlink a user could redirect is refused naming both", () => {
  inTemp((dir) => {
    Deno.mkdirSync(join(dir, "target"));
    Deno.mkdirSync(join(dir, "open"));
    Deno.chmodSync(join(dir, "open"), 0o777);
    Deno.symlinkSync(join(dir, "target"), join(dir, "open/link"));
    assert.throws(
      () => resolveGrant(join(dir, "open/link")),
      (e: Error) =>
        e instanceof GrantError && e.message.includes(join(dir, "open/link")) &&
        e.message.includes("goes through the symlink"),
    );
    // The same link in a folder only root can write is resolved once.
    Deno.symlinkSync(join(dir, "target"), join(dir, "link"));
    const g = resolveGrant(join(dir, "link"));
    assert.deepEqual([g.real, g.kind, g.isLink], [join(dir, "target"), "directory", true]);
  });
});

Deno.test("trust: covers is by path components", () => {
  assert.equal(covers("/a", "/a/b"), true);
  assert.equal(covers("/a", "/a"), true);
  assert.equal(covers("/a", "/ab"), false);
  assert.equal(covers("/", "/x"), true);
});
