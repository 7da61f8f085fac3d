// SPDX-License-Identifier: GPL-2.0-or-later
// Each key of a "sandbox" set, granted and not granted, through the real
// sandbox: the grant is needed (without it the hook fails) and sufficient.
import assert from "node:assert/strict";
import { grantDir, HELPERS, runHook, tryPolicy } from "./helpers.ts";

Deno.test("capabilities: chown to the job user needs CAP_CHOWN, and it is enough", async () => {
  const dir = grantDir("chown");
  try {
    const code = `export function prolog() {
      Deno.mkdirSync("${dir}/job", { mode: 0o700 });
      Deno.chownSync("${dir}/job", 65534, 65534);
      console.log("chowned");
    }`;
    const permissions = { prolog: { read: [dir], write: [dir] } };
    const without = await tryPolicy(code, { permissions });
    assert.equal(without.status, 1, without.stdout + without.stderr);
    assert.match(without.stderr, /Operation not permitted/);
    Deno.removeSync(`${dir}/job`);
    const withCap = await tryPolicy(code, {
      permissions,
      sandbox: { prolog: { capabilities: ["CAP_CHOWN"] } },
    });
    assert.equal(withCap.status, 0, withCap.stdout + withCap.stderr);
    assert.equal(Deno.statSync(`${dir}/job`).uid, 65534);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("devices: a device node is usable only when listed under devices", async () => {
  const node = `/dev/prep-deno-fake-${crypto.randomUUID().slice(0, 6)}`;
  const mk = await new Deno.Command("/usr/bin/mknod", { args: ["-m", "666", node, "c", "1", "3"] })
    .output();
  assert.ok(mk.success, "mknod (the test needs root)");
  try {
    const code = runHook(["/usr/bin/dd", `if=${node}`, "of=/dev/null", "count=1", "status=none"]);
    const permissions = { prolog: { run: ["/usr/bin/dd"] } };
    const none = await tryPolicy(code, { permissions });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /dd .* exited with status 1/);
    // Bound as a plain file (nodev): there, but not usable.
    const asFile = await tryPolicy(code, { permissions, sandbox: { prolog: { read: [node] } } });
    assert.equal(asFile.status, 1);
    assert.match(asFile.stderr, /Permission denied/);
    const glob = node.slice(0, -3) + "*";
    const ok = await tryPolicy(code, { permissions, sandbox: { prolog: { devices: [glob] } } });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  } finally {
    Deno.removeSync(node);
  }
});

Deno.test('processes: "host" shows the node\'s processes; by default the hook sees only its own', async () => {
  const code = runHook(["/usr/bin/ps", "-e", "-o", "pid="]);
  const permissions = { prolog: { run: ["/usr/bin/ps"] } };
  const mine = String(Deno.pid);
  const own = await tryPolicy(code, { permissions });
  assert.equal(own.status, 0, own.stderr);
  assert.ok(!own.stdout.split(/\s+/).includes(mine));
  const host = await tryPolicy(code, { permissions, sandbox: { prolog: { processes: "host" } } });
  assert.equal(host.status, 0, host.stderr);
  assert.ok(host.stdout.split(/\s+/).includes(mine), host.stdout);
});

Deno.test("processes: signalling another user's process needs host processes and CAP_KILL", async () => {
  const sleeper = new Deno.Command("/usr/bin/setpriv", {
    args: ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/sleep", "300"],
  }).spawn();
  try {
    const code = `import { signalUserProcesses } from ${JSON.stringify(HELPERS)};
      export async function prolog() { console.log(JSON.stringify(await signalUserProcesses(65534))); }`;
    const permissions = { prolog: { run: ["/usr/bin/ps", "/usr/bin/kill"] } };
    const noCap = await tryPolicy(code, {
      permissions,
      sandbox: { prolog: { processes: "host" } },
    });
    assert.equal(noCap.status, 1);
    assert.match(noCap.stderr, /kill failed .*Operation not permitted/);
    const ok = await tryPolicy(code, {
      permissions,
      sandbox: { prolog: { processes: "host", capabilities: ["CAP_KILL"] } },
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(
      JSON.parse(ok.stdout.split("\n").find((l) => l.startsWith("["))!).includes(sleeper.pid),
    );
    const status = await sleeper.status;
    assert.equal(status.signal, "SIGKILL");
  } finally {
    try {
      sleeper.kill("SIGKILL");
    } catch { /* gone */ }
  }
});

Deno.test("slurm: slurm.conf's folder and munge's socket are in the view only with slurm: true", async () => {
  const dir = grantDir("slurmconf");
  try {
    Deno.writeTextFileSync(`${dir}/slurm.conf`, "ClusterName=view\n");
    const code = runHook(["/usr/bin/cat", `${dir}/slurm.conf`]);
    const permissions = { prolog: { run: ["/usr/bin/cat"] } };
    const args = ["--env", `SLURM_CONF=${dir}/slurm.conf`];
    const none = await tryPolicy(code, { permissions }, { args });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /No such file or directory/);
    const ok = await tryPolicy(code, { permissions, sandbox: { prolog: { slurm: true } } }, {
      args,
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ClusterName=view/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("write: host /tmp and /dev/shm paths reach the host", async () => {
  const name = `prep-deno-view-${crypto.randomUUID().slice(0, 8)}`;
  const shm = `/dev/shm/${name}`;
  const tmp = `/tmp/${name}`;
  Deno.mkdirSync(shm);
  Deno.mkdirSync(tmp);
  try {
    const code = `export async function prolog() {
      await Deno.writeTextFile("${tmp}/out", "from the hook");
      await new Deno.Command("/usr/bin/touch", { args: ["${shm}/out"] }).output();
    }`;
    const r = await tryPolicy(code, {
      permissions: { prolog: { write: [tmp], run: ["/usr/bin/touch"] } },
      sandbox: { prolog: { write: [tmp, shm] } },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Deno.readTextFileSync(`${tmp}/out`), "from the hook");
    assert.ok(Deno.statSync(`${shm}/out`).isFile);
  } finally {
    Deno.removeSync(shm, { recursive: true });
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("a granted path missing on the host is a 126 naming it, never a private write", async () => {
  const missing = `/var/tmp/prep-deno-missing-${crypto.randomUUID().slice(0, 8)}`;
  for (
    const policy of [
      { permissions: { prolog: { write: [missing] } } },
      { sandbox: { prolog: { write: [missing] } } },
    ]
  ) {
    const r = await tryPolicy(`export function prolog() {}`, policy);
    assert.equal(r.status, 126);
    assert.match(r.stderr, new RegExp(`${missing} does not exist on this host`));
  }
});

Deno.test("a grant through a symlink a user could redirect is refused, naming it", async () => {
  const open = grantDir("open");
  const target = grantDir("target");
  try {
    Deno.chmodSync(open, 0o777);
    Deno.symlinkSync(target, `${open}/link`);
    const r = await tryPolicy(`export function prolog() {}`, {
      sandbox: { prolog: { write: [`${open}/link`] } },
    });
    assert.equal(r.status, 126);
    assert.match(r.stderr, new RegExp(`${open}/link is refused: it goes through the symlink`));
    assert.match(r.stderr, /writable by group or others \(mode 777\)/);
  } finally {
    Deno.removeSync(open, { recursive: true });
    Deno.removeSync(target, { recursive: true });
  }
});

Deno.test("read: true and write: true work on a merged-/usr host", async () => {
  const code = runHook(["/usr/bin/ls", "/bin/sh"]);
  for (const kind of ["read", "write"]) {
    const r = await tryPolicy(code, {
      permissions: { prolog: { run: ["/usr/bin/ls"] } },
      sandbox: { prolog: { [kind]: true } },
    });
    assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
    assert.match(r.stdout, /\/bin\/sh/);
  }
});

Deno.test("write: true still cannot touch the hook's own code or policy", async () => {
  const r = await tryPolicy(
    `export function prolog() { Deno.writeTextFileSync(new URL("./deno.json", import.meta.url), "{}"); }`,
    { permissions: { prolog: { write: true, read: true } }, sandbox: { prolog: { write: true } } },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Read-only file system/);
});

Deno.test("processes: the helper spares the processes of the user's other jobs (by their cgroup)", async () => {
  // Any cgroup hierarchy we may write (v1 memory here, cgroup2 elsewhere).
  const base = ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"].find((d) => {
    try {
      return Deno.statSync(`${d}/cgroup.procs`).isFile;
    } catch {
      return false;
    }
  });
  assert.ok(base, "no cgroup hierarchy to put a fake job in");
  const cg = `${base}/prep-deno-test-${crypto.randomUUID().slice(0, 6)}/job_99`;
  Deno.mkdirSync(cg, { recursive: true });
  const sleep = () =>
    new Deno.Command("/usr/bin/setpriv", {
      args: ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/sleep", "300"],
    }).spawn();
  const other = sleep();
  const loose = sleep();
  try {
    Deno.writeTextFileSync(`${cg}/cgroup.procs`, String(other.pid));
    const code = `import { signalUserProcesses } from ${JSON.stringify(HELPERS)};
      export async function prolog(job) {
        console.log(JSON.stringify(await signalUserProcesses(65534, { spareOtherJobsThan: job.id })));
      }`;
    const r = await tryPolicy(code, {
      permissions: { prolog: { run: ["/usr/bin/ps", "/usr/bin/kill"] } },
      sandbox: { prolog: { processes: "host", capabilities: ["CAP_KILL"] } },
    }, { args: ["--job-id", "5"] });
    assert.equal(r.status, 0, r.stderr);
    const killed: number[] = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("["))!);
    assert.ok(killed.includes(loose.pid));
    assert.ok(!killed.includes(other.pid), "a process of job 99 was signalled");
    assert.equal((await loose.status).signal, "SIGKILL");
  } finally {
    for (const c of [other, loose]) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await other.status;
    Deno.removeSync(cg);
    Deno.removeSync(cg.slice(0, cg.lastIndexOf("/")));
  }
});
