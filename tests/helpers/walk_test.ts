// SPDX-License-Identifier: GPL-2.0-or-later
// The helpers that run the walk tool, outside the sandbox (as root, the
// widest powers): what each does and refuses. Racing users: tests/helpers/.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCommand } from "../../src/helpers/command.ts";
import { makeJobFolder, removeTree, removeUserFiles } from "../../src/helpers/folders.ts";
import { appendToJobOutput } from "../../src/helpers/job_output.ts";
import { dropCaches, isMountPoint } from "../../src/helpers/node.ts";
import { signalUserProcesses, userProcesses } from "../../src/helpers/processes.ts";
import { userJobsOnNode } from "../../src/helpers/slurm.ts";
import { fakeJob } from "../../src/testing.ts";

const SHE = 61003;
const OTHER = 61004;

function tmp(): string {
  const d = Deno.makeTempDirSync({ prefix: "prep-deno-walk-" });
  Deno.chmodSync(d, 0o755);
  return d;
}

function asUser(uid: number, argv: string[]): Deno.ChildProcess {
  return new Deno.Command("/usr/bin/setpriv", {
    args: [`--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", ...argv],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

Deno.test("runCommand: output past maxOutputBytes is an error, never a shorter answer", async () => {
  const argv = ["/usr/bin/head", "-c", "2000000", "/dev/zero"];
  await assert.rejects(
    () => runCommand(argv),
    /printed 951424 bytes more than the output kept \(maxOutputBytes\); refusing a partial answer/,
  );
  const kept = await runCommand(argv, { allowTruncation: true });
  assert.deepEqual([kept.stdout.length, kept.truncated], [1 << 20, 2000000 - (1 << 20)]);
  const whole = await runCommand(argv, { maxOutputBytes: 2000000 });
  assert.deepEqual([whole.stdout.length, whole.truncated], [2000000, 0]);
});

Deno.test("userProcesses: whole when her command lines pass a MiB; signalUserProcesses ends them all", async () => {
  const pad = "x".repeat(100_000);
  // 12 shells with 100 KB arguments (1.2 MB of `ps` output), then one small process last.
  const big = Array.from({ length: 12 }, () => asUser(SHE, ["/bin/sh", "-c", "sleep 60; :", pad]));
  const small = asUser(SHE, ["/usr/bin/sleep", "61"]);
  try {
    // Until each has become hers (setpriv runs as root before it switches).
    let seen: number[] = [];
    for (let i = 0; i < 100 && ![...big, small].every((c) => seen.includes(c.pid)); i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await userProcesses(SHE)).map((p) => p.pid);
    }
    for (const c of [...big, small]) assert.ok(seen.includes(c.pid), `pid ${c.pid} listed`);
    const signalled = await signalUserProcesses(SHE);
    for (const c of [...big, small]) assert.ok(signalled.includes(c.pid));
    for (const c of [...big, small]) assert.equal((await c.status).signal, "SIGKILL");
  } finally {
    for (const c of [...big, small]) {
      try {
        c.kill("SIGKILL");
      } catch { /* ended */ }
    }
  }
});

Deno.test("userProcesses: a /proc that hides processes (hidepid) is an error, never a shorter list", async () => {
  const tool = new URL("../../build/prep-deno-walk", import.meta.url).pathname;
  const r = await new Deno.Command("/usr/bin/unshare", {
    args: [
      "--mount",
      "--pid",
      "--fork",
      "/bin/sh",
      "-c",
      `mount -t proc -o hidepid=2 proc /proc && exec ${tool} ps`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 1);
  assert.match(
    new TextDecoder().decode(r.stderr),
    /\/proc: \/proc is mounted with hidepid: other users' processes are hidden; the list would not be whole/,
  );
});

Deno.test("makeJobFolder, removeTree: every spelling names one folder; a relative path or a link above is an error naming it", async () => {
  const d = tmp();
  try {
    await makeJobFolder(`${d}//a/./b/../job/`, { uid: SHE, gid: SHE, recursive: true });
    const info = Deno.statSync(`${d}/a/job`);
    assert.deepEqual([info.uid, info.mode! & 0o777], [SHE, 0o700]);
    assert.equal(Deno.statSync(`${d}/a`).uid, 0);
    await assert.rejects(
      () => makeJobFolder("tmp/x", { uid: 1, gid: 1 }),
      /tmp\/x: not an absolute/,
    );
    Deno.symlinkSync("/etc", `${d}/link`);
    await assert.rejects(
      () => makeJobFolder(`${d}/link/x`, { uid: SHE, gid: SHE }),
      new RegExp(`${d}/link/x: link is a symlink; refusing to follow it`),
    );
    await assert.rejects(
      () => removeTree(`${d}/link/./x/`),
      new RegExp(`${d}/link/x: link is a symlink; refusing to follow it`),
    );
    // The link itself, spelled as a folder, goes; never what it names.
    await removeTree(`${d}/link/`);
    assert.throws(() => Deno.lstatSync(`${d}/link`), Deno.errors.NotFound);
    assert.ok(Deno.statSync("/etc/passwd").isFile);
    await removeTree(`${d}/a/job/..`);
    assert.throws(() => Deno.lstatSync(`${d}/a`), Deno.errors.NotFound);
    await assert.rejects(() => removeTree("/tmp/.."), /refusing to remove "\/"/);
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("removeTree: another filesystem mounted inside is left, and the error names the tree", async () => {
  const d = tmp();
  Deno.mkdirSync(`${d}/tree/mnt`, { recursive: true });
  Deno.chmodSync(`${d}/tree`, 0o1777);
  const mount = await runCommand(["/usr/bin/mount", "-t", "tmpfs", "none", `${d}/tree/mnt`]);
  try {
    assert.equal(mount.status, 0);
    Deno.writeTextFileSync(`${d}/tree/mnt/kept`, "");
    await assert.rejects(
      () => removeTree(`${d}/tree`),
      new RegExp(`${d}/tree: 1 entries left: mnt is another filesystem mounted inside`),
    );
    assert.ok(Deno.statSync(`${d}/tree/mnt/kept`).isFile);
    // A bind mount of the same filesystem is a mount too: not entered.
    Deno.mkdirSync(`${d}/precious`);
    Deno.writeTextFileSync(`${d}/precious/kept`, "");
    Deno.mkdirSync(`${d}/tree/bound`);
    await runCommand(["/usr/bin/mount", "--bind", `${d}/precious`, `${d}/tree/bound`]);
    await assert.rejects(
      () => removeTree(`${d}/tree`),
      /entries left: .*another filesystem mounted inside/,
    );
    assert.ok(Deno.statSync(`${d}/precious/kept`).isFile);
    // Walking into it from a folder users can write is refused too.
    await assert.rejects(
      () => makeJobFolder(`${d}/tree/mnt/job`, { uid: SHE, gid: SHE }),
      /mnt is on another filesystem than the folder above it, which a user can write/,
    );
  } finally {
    await runCommand(["/usr/bin/umount", `${d}/tree/mnt`], { allowFailure: true });
    await runCommand(["/usr/bin/umount", `${d}/tree/bound`], { allowFailure: true });
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("removeUserFiles: hers go, links unfollowed; others' stay, and her folder holding them", async () => {
  const d = tmp();
  const outside = tmp();
  try {
    Deno.writeTextFileSync(`${outside}/keep`, "");
    Deno.chownSync(`${outside}/keep`, SHE, SHE);
    Deno.mkdirSync(`${d}/hers/deep`, { recursive: true });
    Deno.mkdirSync(`${d}/mixed`);
    Deno.mkdirSync(`${d}/roots`);
    for (const f of ["hers/a", "hers/deep/b", "mixed/c", "roots/d"]) {
      Deno.writeTextFileSync(`${d}/${f}`, "");
    }
    Deno.writeTextFileSync(`${d}/mixed/theirs`, "");
    Deno.writeTextFileSync(`${d}/roots/root-file`, "");
    Deno.symlinkSync(outside, `${d}/hers/link`);
    for (const p of ["hers", "hers/deep", "hers/a", "hers/deep/b", "mixed", "mixed/c", "roots/d"]) {
      Deno.chownSync(`${d}/${p}`, SHE, SHE);
    }
    Deno.chownSync(`${d}/mixed/theirs`, OTHER, OTHER);
    new Deno.Command("/usr/bin/chown", { args: ["-h", `${SHE}:${SHE}`, `${d}/hers/link`] })
      .outputSync();
    await removeUserFiles(`${d}/./`, SHE);
    const left = [...Deno.readDirSync(d)].map((e) => e.name).sort();
    assert.deepEqual(left, ["mixed", "roots"]);
    assert.deepEqual([...Deno.readDirSync(`${d}/mixed`)].map((e) => e.name), ["theirs"]);
    assert.deepEqual([...Deno.readDirSync(`${d}/roots`)].map((e) => e.name), ["root-file"]);
    assert.ok(Deno.statSync(`${outside}/keep`).isFile, "the link was not followed");
    await removeUserFiles(`${d}/missing`, SHE);
    await assert.rejects(() => removeUserFiles(d, 0), /refusing uid 0/);
  } finally {
    Deno.removeSync(d, { recursive: true });
    Deno.removeSync(outside, { recursive: true });
  }
});

Deno.test("isMountPoint: a filesystem's top, not a folder nor a bind of one; links and missing paths named", async () => {
  const d = tmp();
  Deno.mkdirSync(`${d}/fs`);
  Deno.mkdirSync(`${d}/plain`);
  Deno.mkdirSync(`${d}/bound`);
  await runCommand(["/usr/bin/mount", "-t", "tmpfs", "none", `${d}/fs`]);
  await runCommand(["/usr/bin/mount", "--bind", `${d}/plain`, `${d}/bound`]);
  try {
    assert.equal(await isMountPoint(`${d}/fs`), true);
    assert.equal(await isMountPoint(`${d}/fs/`), true);
    assert.equal(await isMountPoint(`${d}/plain`), false);
    assert.equal(await isMountPoint(`${d}/bound`), false);
    assert.equal(await isMountPoint("/proc"), true);
    Deno.symlinkSync(`${d}/fs`, `${d}/link`);
    await assert.rejects(() => isMountPoint(`${d}/link`), new RegExp(`${d}/link: is a symlink`));
    await assert.rejects(
      () => isMountPoint(`${d}/none`),
      new RegExp(`${d}/none: does not exist in the hook's view`),
    );
  } finally {
    await runCommand(["/usr/bin/umount", `${d}/fs`], { allowFailure: true });
    await runCommand(["/usr/bin/umount", `${d}/bound`], { allowFailure: true });
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("dropCaches: writes /proc/sys/vm/drop_caches; a bad level names the file", async () => {
  await dropCaches(1);
  await assert.rejects(
    () => dropCaches(4 as 1),
    /\/proc\/sys\/vm\/drop_caches: the level must be 1, 2 or 3/,
  );
});

Deno.test("appendToJobOutput: appends as the job user; never root's file, never made", async () => {
  const d = tmp();
  try {
    const job = (stdout: string, uid = SHE) =>
      fakeJob("epilog", { id: 9, user: "she", uid, gid: uid, env: { SLURM_JOB_STDOUT: stdout } });
    Deno.writeTextFileSync(`${d}/out`, "a\n");
    Deno.chownSync(`${d}/out`, SHE, SHE);
    await appendToJobOutput(job(`${d}/out`), "b\n");
    assert.equal(Deno.readTextFileSync(`${d}/out`), "a\nb\n");
    Deno.writeTextFileSync(`${d}/roots`, "");
    await assert.rejects(
      () => appendToJobOutput(job(`${d}/roots`), "x"),
      new RegExp(`${d}/roots: cannot open as uid ${SHE}: Permission denied`),
    );
    assert.equal(Deno.readTextFileSync(`${d}/roots`), "");
    await assert.rejects(
      () => appendToJobOutput(job(`${d}/slurm-%j.out`), "x"),
      new RegExp(`${d}/slurm-9.out: cannot open as uid ${SHE}: No such file`),
    );
    await assert.rejects(() => appendToJobOutput(job(`${d}/out`, 0), "x"), /not root/);
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("userJobsOnNode: squeue's own --states filter, its ids; squeue's failure is an error", async () => {
  const d = tmp();
  try {
    const fake = join(d, "squeue");
    Deno.writeTextFileSync(
      fake,
      `#!/bin/sh\nprintf '%s\\n' "$@" > ${d}/argv\n[ "$3" = n1 ] || { echo "squeue: error: bad node" >&2; exit 1; }\nprintf '12\\n34\\n'\n`,
    );
    Deno.chmodSync(fake, 0o755);
    // squeue is found at its fixed path: a view of the host with the fake there.
    const script = `import { userJobsOnNode } from ${
      JSON.stringify(new URL("../../src/helpers/slurm.ts", import.meta.url).href)
    };
      console.log(JSON.stringify(await userJobsOnNode("alice", { node: "n1" })));
      await userJobsOnNode("alice", { node: "n2" }).catch((e) => console.log(e.message));`;
    const r = await new Deno.Command("/usr/bin/bwrap", {
      args: [
        "--dev-bind",
        "/",
        "/",
        "--ro-bind",
        fake,
        "/usr/bin/squeue",
        "--",
        Deno.execPath(),
        "eval",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout).trim().split("\n");
    assert.equal(out[0], "[12,34]", new TextDecoder().decode(r.stderr));
    assert.match(out[1], /\/usr\/bin\/squeue .* exited with status 1: squeue: error: bad node/);
    assert.equal(
      Deno.readTextFileSync(`${d}/argv`),
      [
        "--noheader",
        "--nodelist",
        "n2",
        "--user",
        "alice",
        "--states",
        "CONFIGURING,RUNNING,COMPLETING,SUSPENDED",
        "--format",
        "%A",
        "",
      ].join("\n"),
    );
    await assert.rejects(() => userJobsOnNode("alice"), /needs the node/);
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});
