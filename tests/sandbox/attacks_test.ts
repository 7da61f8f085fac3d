// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Attacks by a hostile local user on what a hook does for them: real
 * processes racing a real hook in a real sandbox.
 */

import assert from "node:assert/strict";
import { grantDir, HELPERS, tryPolicy } from "./helpers.ts";

const NOBODY = 65534;

Deno.test("attack: a job user who swaps their new job folder for a symlink does not get a root folder chowned", async () => {
  const base = grantDir("race");
  const victim = `${base}/victim`;
  const userDir = `${base}/jobs/u`;
  Deno.mkdirSync(victim, { mode: 0o755 });
  Deno.mkdirSync(userDir, { recursive: true, mode: 0o755 });
  Deno.chownSync(userDir, NOBODY, NOBODY);
  // The job user owns their folder, so they may rename what root makes in
  // it: each new job folder is moved away and replaced by a link to victim.
  const attacker = new Deno.Command("/usr/bin/setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      "/usr/bin/perl",
      "-e",
      `my $d = "${userDir}"; while (1) { opendir(my $h, $d) or next;
        for my $e (readdir $h) { next unless $e =~ /^\\d+$/; next if -l "$d/$e";
          symlink("${victim}", "$d/$e") if rename("$d/$e", "$d/x$e"); }
        closedir $h; }`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const r = await tryPolicy(
      `import { makeJobFolder } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  for (let i = 0; i < 400; i++) {
    try { await makeJobFolder("${userDir}/" + i, { uid: ${NOBODY}, gid: ${NOBODY} }); } catch (_) { /* refused */ }
    if (Deno.statSync("${victim}").uid !== 0) { console.log("chowned at", i); return; }
  }
  console.log("victim kept");
}`,
      {
        permissions: { prolog: { read: [base], write: [base] } },
        sandbox: { prolog: { write: [base], capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"] } },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /victim kept/);
    const v = Deno.statSync(victim);
    assert.equal(v.uid, 0, "the job user got a root folder chowned to them");
    assert.equal((v.mode ?? 0) & 0o777, 0o755);
  } finally {
    attacker.kill("SIGKILL");
    await attacker.status;
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("attack: a device glob does not bring in a disk or raw memory; naming a device exactly still works", async () => {
  const stem = `/dev/prep-deno-glob-${crypto.randomUUID().slice(0, 8)}`;
  const nodes: [string, string, string, string][] = [
    [`${stem}-gpu0`, "c", "1", "3"], // a /dev/null-like GPU
    [`${stem}-mem`, "c", "1", "1"], // /dev/mem's number
    [`${stem}-disk`, "b", "7", "0"], // a loop disk
  ];
  try {
    for (const [path, type, major, minor] of nodes) {
      const o = await new Deno.Command("/usr/bin/mknod", { args: [path, type, major, minor] })
        .output();
      assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    }
    const read = `export async function prolog() {
  const o = await new Deno.Command("/usr/bin/cat", { args: ["${stem}-gpu0"] }).output();
  console.log("gpu read", o.code);
}`;
    const permissions = { prolog: { run: ["/usr/bin/cat"] } };
    const globbed = await tryPolicy(read, {
      permissions,
      sandbox: { prolog: { devices: [`${stem}-*`] } },
    });
    assert.equal(globbed.status, 126, globbed.stderr);
    assert.match(
      globbed.stderr,
      /matches \/dev\/prep-deno-glob-\S+-disk, a disk \(block device\); a glob never grants one/,
    );
    const noDisk = await tryPolicy(read, {
      permissions,
      sandbox: { prolog: { devices: [`${stem}-[gm]*`] } },
    });
    assert.equal(noDisk.status, 126, noDisk.stderr);
    assert.match(noDisk.stderr, /-mem, raw memory; a glob never grants one/);
    const exact = await tryPolicy(read, {
      permissions,
      sandbox: { prolog: { devices: [`${stem}-gpu0`, `${stem}-g?u*`] } },
    });
    assert.equal(exact.status, 0, exact.stderr);
    assert.match(exact.stderr, /gpu read 0/);
  } finally {
    for (const [path] of nodes) {
      try {
        Deno.removeSync(path);
      } catch { /* not made */ }
    }
  }
});

Deno.test("attack: a parent planted in /dev/shm by a user (a symlink, or their folder) is refused, never made through", async () => {
  const base = grantDir("plant");
  const planted = `/dev/shm/prep-deno-plant-${crypto.randomUUID().slice(0, 8)}`;
  const hook = (root: string) =>
    `import { makeJobFolder } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  await makeJobFolder("${root}/u/1", { uid: ${NOBODY}, gid: ${NOBODY}, recursive: true });
}`;
  const policy = {
    permissions: {
      prolog: {
        read: [base],
        write: [base],
        // The view's write is wider than Deno's: the walk tool is named.
        run: ["prep-deno-walk"],
      },
    },
    sandbox: { prolog: { write: [base, "/dev/shm"], capabilities: ["CAP_CHOWN"] } },
  };
  try {
    // A symlink to a root folder the hook may write.
    Deno.symlinkSync(base, planted);
    // chown -h: the link itself (Deno.chownSync would follow it).
    const o = await new Deno.Command("/usr/bin/chown", { args: ["-h", `${NOBODY}`, planted] })
      .output();
    assert.equal(o.code, 0);
    const viaLink = await tryPolicy(hook(planted), policy);
    assert.equal(viaLink.status, 1, viaLink.stderr);
    assert.match(viaLink.stderr, /prep-deno-plant-\S+ is a symlink; refusing to follow it/);
    assert.deepEqual([...Deno.readDirSync(base)], [], "made through the user's symlink");
    Deno.removeSync(planted);
    // A folder of theirs, in which they could swap other users' folders.
    Deno.mkdirSync(planted, { mode: 0o755 });
    Deno.chownSync(planted, NOBODY, NOBODY);
    const inFolder = await tryPolicy(hook(planted), policy);
    assert.equal(inFolder.status, 1, inFolder.stderr);
    assert.match(inFolder.stderr, new RegExp(`owned by uid ${NOBODY}; refusing`));
    assert.deepEqual([...Deno.readDirSync(planted)], []);
  } finally {
    Deno.removeSync(planted, { recursive: true });
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("attack: slurm: true shows slurm.conf's folder, never the keys and slurmdbd.conf kept in it", async () => {
  const conf = grantDir("slurmconf");
  const secret = "k3y-" + crypto.randomUUID();
  try {
    Deno.writeTextFileSync(`${conf}/slurm.conf`, "ClusterName=attack\n");
    Deno.writeTextFileSync(`${conf}/gres.conf`, "# gres\n");
    for (const name of ["slurm.key", "slurmdbd.conf", "jwt_hs256.key", "site.key"]) {
      Deno.writeTextFileSync(`${conf}/${name}`, `${secret} ${name}\n`, { mode: 0o600 });
    }
    const r = await tryPolicy(
      `export async function prolog() {
  const o = await new Deno.Command("/bin/sh", { args: ["-c", "cat ${conf}/* 2>&1; true"] }).output();
  console.log(new TextDecoder().decode(o.stdout));
}`,
      {
        permissions: { prolog: { run: ["/bin/sh"] } },
        sandbox: { prolog: { slurm: true, capabilities: ["CAP_DAC_OVERRIDE"] } },
      },
      { args: ["--env", `SLURM_CONF=${conf}/slurm.conf`] },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /ClusterName=attack/);
    assert.match(r.stderr, /# gres/);
    assert.ok(!r.stderr.includes(secret), `a secret leaked:\n${r.stderr}`);
  } finally {
    Deno.removeSync(conf, { recursive: true });
  }
});
