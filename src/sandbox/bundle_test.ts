// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BUNDLE_MARKER,
  BundleError,
  bundleTrust,
  configlessCache,
  readEmbeddedPolicy,
} from "./bundle.ts";

const NOBODY = 65534;

/** A root-owned folder (0755) in /var/tmp, where a deno.json would be trusted. */
function inRootDir(fn: (dir: string) => void) {
  const dir = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-bundle-" });
  Deno.chmodSync(dir, 0o755);
  try {
    fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("bundle: the policy is read from the first line only", () => {
  inRootDir((dir) => {
    const b = join(dir, "b.ts");
    Deno.writeTextFileSync(
      b,
      `${BUNDLE_MARKER}{"permissions":{"prolog":{"env":true}}}\nexport {};\n`,
    );
    assert.deepEqual(readEmbeddedPolicy(b)?.config, { permissions: { prolog: { env: true } } });
    // The same line further down is code, not a policy.
    const c = join(dir, "c.ts");
    Deno.writeTextFileSync(c, `export {};\n${BUNDLE_MARKER}{"permissions":{}}\n`);
    assert.equal(readEmbeddedPolicy(c), undefined);
    const bad = join(dir, "bad.ts");
    Deno.writeTextFileSync(bad, `${BUNDLE_MARKER}{oops\n`);
    assert.throws(() => readEmbeddedPolicy(bad), BundleError);
  });
});

Deno.test("bundle: slurmd's configless cache is SlurmdSpoolDir/conf-cache", () => {
  assert.equal(
    configlessCache("/var/spool/slurmd/conf-cache/slurm.conf"),
    "/var/spool/slurmd/conf-cache",
  );
  assert.equal(configlessCache("/etc/slurm/slurm.conf"), undefined);
  assert.equal(configlessCache(undefined), undefined);
});

Deno.test("bundle: honoured in a cache root owns, refused when a user owns the file or folder", () => {
  inRootDir((dir) => {
    const cache = join(dir, "conf-cache");
    Deno.mkdirSync(cache, { mode: 0o755 });
    const b = join(cache, "prolog.ts");
    Deno.writeTextFileSync(b, `${BUNDLE_MARKER}{}\n`, { mode: 0o755 });
    assert.equal(bundleTrust(b, join(cache, "slurm.conf")), `slurmd's configless cache ${cache}`);
    assert.match(bundleTrust(b), /which only root can change$/);
    // Placed by a user: the file is theirs.
    Deno.chownSync(b, NOBODY, NOBODY);
    assert.throws(
      () => bundleTrust(b, join(cache, "slurm.conf")),
      new RegExp(`embedded policy refused: ${b} is owned by uid ${NOBODY}, not root`),
    );
    // Root's file in a folder a user owns: they could swap it.
    Deno.chownSync(b, 0, 0);
    Deno.chownSync(cache, NOBODY, NOBODY);
    assert.throws(() => bundleTrust(b), /the folder .*conf-cache is owned by uid 65534/);
    // Writable by others.
    Deno.chownSync(cache, 0, 0);
    Deno.chmodSync(b, 0o666);
    assert.throws(() => bundleTrust(b), /is writable by group or others/);
  });
});
