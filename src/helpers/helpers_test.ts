// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildJobContext } from "../job/context.ts";
import { commandEnv, CommandError, runCommand, STANDARD_PATH } from "./command.ts";
import { makeJobFolder, removeTree } from "./folders.ts";
import { expandJobPath, jobOutputPaths } from "./job_paths.ts";
import { parsePs, signalUserProcesses } from "./processes.ts";
import { syslog } from "./syslog.ts";

const job = buildJobContext({
  SLURM_SCRIPT_CONTEXT: "prolog_slurmctld",
  SLURM_JOB_ID: "42",
  SLURM_JOB_USER: "alice",
  SLURM_JOB_NAME: "train",
  SLURM_JOB_NODELIST: "gpu[01-02]",
  SLURM_ARRAY_JOB_ID: "41",
  SLURM_ARRAY_TASK_ID: "3",
  SLURM_JOB_WORK_DIR: "/home/alice/run",
  SLURM_JOB_STDOUT: "logs/%x-%A_%a.out",
  DENO_DIR: "/tmp/.deno",
});

Deno.test("expandJobPath: %j %u %N %x %A %a %% and zero padding, like sbatch", () => {
  assert.equal(expandJobPath("%j-%u-%N-%x-%A-%a-100%%", job), "42-alice-gpu01-train-41-3-100%");
  assert.equal(expandJobPath("o-%5j.txt", job), "o-00042.txt");
  assert.equal(expandJobPath("keep-%t-%Z", job), "keep-%t-%Z");
  const plain = buildJobContext({ SLURM_SCRIPT_CONTEXT: "prolog_slurmd", SLURM_JOB_ID: "7" });
  assert.equal(expandJobPath("%A_%a", plain), "7_4294967294");
  assert.deepEqual(jobOutputPaths(job), {
    stdout: "/home/alice/run/logs/train-41_3.out",
    stderr: "/home/alice/run/logs/train-41_3.out",
  });
});

Deno.test("commandEnv: standard PATH, the job's variables, none of the runtime's", () => {
  const env = commandEnv(job, { LC_ALL: "C" });
  assert.equal(env.PATH, STANDARD_PATH);
  assert.equal(env.SLURM_JOB_ID, "42");
  assert.equal(env.LC_ALL, "C");
  assert.equal(env.DENO_DIR, undefined);
});

Deno.test("runCommand: captured output; failures and timeouts name the command", async () => {
  const ok = await runCommand(["/usr/bin/printf", "%s", "hi"]);
  assert.deepEqual([ok.status, ok.stdout], [0, "hi"]);
  await assert.rejects(
    () => runCommand(["/usr/bin/ls", "/nonexistent-dir"]),
    (e: Error) =>
      e instanceof CommandError &&
      /^\/usr\/bin\/ls \/nonexistent-dir exited with status 2: .*No such file/.test(e.message),
  );
  await assert.rejects(
    () => runCommand(["/usr/bin/sleep", "5"], { timeoutSeconds: 0.2 }),
    /\/usr\/bin\/sleep 5 timed out and was killed/,
  );
  await assert.rejects(
    () => runCommand(["/nonexistent/tool"]),
    /status 127|not found in the sandbox/,
  );
  const soft = await runCommand(["/usr/bin/false"], { allowFailure: true });
  assert.equal(soft.status, 1);
  const fed = await runCommand(["/usr/bin/cat"], { stdin: "in" });
  assert.equal(fed.stdout, "in");
});

Deno.test("makeJobFolder: owner and mode, idempotent, parents; refuses a planted symlink or a user's folder", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "a/b/job");
    await makeJobFolder(path, { uid: 65534, gid: 65534, recursive: true });
    const info = Deno.statSync(path);
    assert.deepEqual([info.uid, info.gid, info.mode! & 0o777], [65534, 65534, 0o700]);
    await makeJobFolder(path, { uid: 65534, gid: 65534 }); // again: nothing to do
    Deno.symlinkSync("/etc", join(dir, "planted"));
    await assert.rejects(
      () => makeJobFolder(join(dir, "planted"), { uid: 65534, gid: 65534 }),
      /planted: exists and is a symlink; refusing to follow it/,
    );
    assert.equal(Deno.statSync("/etc").uid, 0);
    Deno.mkdirSync(join(dir, "theirs"));
    Deno.chownSync(join(dir, "theirs"), 1234, 1234);
    await assert.rejects(
      () => makeJobFolder(join(dir, "theirs"), { uid: 65534, gid: 65534 }),
      /theirs: exists, owned by uid 1234 .*refusing to change a folder a user controls/,
    );
    await removeTree(join(dir, "a"));
    await removeTree(join(dir, "a")); // missing is fine
    assert.throws(() => Deno.statSync(join(dir, "a")), Deno.errors.NotFound);
    await assert.rejects(() => removeTree("/"), /refusing/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parsePs: pid, uid, the job of the cgroup, the command", () => {
  assert.deepEqual(
    parsePs(
      "  42  1000 0::/system.slice/slurmstepd.scope/job_7/step_0/user/task_0 sleep 60\n" +
        "   9     0 -                    /sbin/init  \n",
    ),
    [
      { pid: 42, uid: 1000, jobId: 7, args: "sleep 60" },
      { pid: 9, uid: 0, args: "/sbin/init" },
    ],
  );
});

Deno.test("signalUserProcesses: never root's processes", async () => {
  await assert.rejects(() => signalUserProcesses(0), /refusing uid 0/);
});

Deno.test("syslog: a missing log socket is an error naming logger", async () => {
  await assert.rejects(
    () => syslog("hello", { socket: "/nonexistent/log" }),
    /\/usr\/bin\/logger .* exited with status 1/,
  );
});

Deno.test("syslog: one line with the tag and priority reaches the log socket", async () => {
  const dir = Deno.makeTempDirSync();
  const sock = join(dir, "log");
  const listener = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--unstable-net",
      `const l = Deno.listenDatagram({ transport: "unixpacket", path: ${JSON.stringify(sock)} });` +
      `const [b] = await l.receive(); console.log(new TextDecoder().decode(b));`,
    ],
    stdout: "piped",
  }).spawn();
  try {
    for (let i = 0; i < 100; i++) {
      try {
        Deno.statSync(sock);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await syslog("job 42: scratch\nready", { tag: "prolog", level: "notice", socket: sock });
    const out = new TextDecoder().decode((await listener.output()).stdout);
    assert.match(out, /^<13>.* prolog: job 42: scratch ready$/m);
  } finally {
    try {
      listener.kill();
    } catch { /* ended */ }
    Deno.removeSync(dir, { recursive: true });
  }
});
