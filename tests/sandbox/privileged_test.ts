// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged commands through `try` (no cluster): the GPU recipes make the
// same calls as their bash originals with fakes that refuse what the real
// driver and kernel refuse without the capability; the hook itself, and
// every other program, never gets those capabilities.
import assert from "node:assert/strict";
import { join } from "node:path";
import { grantDir, HELPERS, tryPolicy, tryRun } from "./helpers.ts";
import { calls, fakes, HOST_DRIVER, recipe } from "./fake_gpu.ts";

/** A slurm.conf for `slurm: true` (the recipes ask Slurm about the job). */
function slurmConf(): string {
  const dir = grantDir("conf");
  Deno.writeTextFileSync(join(dir, "slurm.conf"), "ClusterName=privileged\n");
  return dir;
}

const EXCLUSIVE = ["--env", "SLURM_JOB_EXCLUSIVE=NODE", "--env", "SLURMD_NODENAME=n1"];

Deno.test("recipe gpu-settings through try: DeepOps' power limits and clocks with CAP_SYS_ADMIN, only through the policy's commands", async () => {
  const fake = fakes();
  const dir = recipe("gpu-settings", fake);
  const conf = slurmConf();
  const args = ["--env", `SLURM_CONF=${conf}/slurm.conf`, ...EXCLUSIVE];
  try {
    const p = await tryRun([join(dir, "hook.ts"), ...args]);
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.deepEqual(calls(fake).sort(), [
      "nvidia-smi -i 0 -ac 1215,1410",
      "nvidia-smi -i 0 -pl 300.00",
      "nvidia-smi -i 1 -ac 1215,1410",
      "nvidia-smi -i 1 -pl 300.00",
    ]);
    Deno.removeSync(join(fake, "calls.log"));
    const e = await tryRun([join(dir, "hook.ts"), "--context", "epilog_slurmd", ...args]);
    assert.equal(e.status, 0, e.stdout + e.stderr);
    assert.deepEqual(calls(fake), [
      ...(calls(fake).slice(0, 2).sort()),
      "nvidia-smi -rac",
      "nvidia-smi -acp 0",
      "nvidia-smi -c DEFAULT",
    ]);
    assert.deepEqual(calls(fake).slice(0, 2).sort(), [
      "nvidia-smi -i 0 -pl 250.00",
      "nvidia-smi -i 1 -pl 250.00",
    ]);
    // Not exclusive: nothing is changed, as DeepOps skips its -exclusive- parts.
    Deno.removeSync(join(fake, "calls.log"));
    const shared = await tryRun([
      join(dir, "hook.ts"),
      "--env",
      `SLURM_CONF=${conf}/slurm.conf`,
      "--env",
      "SLURM_JOB_EXCLUSIVE=NO",
    ]);
    assert.equal(shared.status, 0, shared.stdout + shared.stderr);
    assert.deepEqual(calls(fake), []);
  } finally {
    for (const d of [fake, dir, conf]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("recipe gpu-settings epilog: a residual GPU process of the job user is killed before the reset", async () => {
  const fake = fakes();
  const dir = recipe("gpu-settings", fake);
  const conf = slurmConf();
  // A uid of its own: other tests end every process of nobody's.
  const uid = String(61000 + Math.floor(Math.random() * 4000));
  const leftover = new Deno.Command("/usr/bin/setpriv", {
    args: ["--reuid", uid, "--regid", uid, "--clear-groups", "/usr/bin/sleep", "600"],
  }).spawn();
  // Reaped as soon as it dies: a zombie still has its /proc entry.
  const ended = leftover.status;
  try {
    Deno.writeTextFileSync(join(fake, "residual"), String(leftover.pid));
    const e = await tryRun([
      join(dir, "hook.ts"),
      "--context",
      "epilog_slurmd",
      "--env",
      `SLURM_CONF=${conf}/slurm.conf`,
      ...EXCLUSIVE,
    ]);
    // The fake lists it no more once it is gone: no drain, and the reset ran.
    assert.equal(e.status, 0, e.stdout + e.stderr);
    assert.equal((await ended).signal, "SIGKILL", e.stdout + e.stderr);
    assert.match(e.stderr, new RegExp(`Killing residual GPU process ${leftover.pid}`));
    assert.ok(calls(fake).includes("nvidia-smi -rac"), calls(fake).join("\n"));
  } finally {
    try {
      leftover.kill("SIGKILL");
    } catch { /* gone */ }
    for (const d of [fake, dir, conf]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("recipe gpu-devices through try: modprobe with CAP_SYS_MODULE and mknod with CAP_MKNOD in the host's view, for the named modules and nodes only", async () => {
  const fake = fakes();
  const driver = grantDir("driver");
  Deno.mkdirSync(join(driver, "gpus", "0000:01:00.0"), { recursive: true });
  Deno.mkdirSync(join(driver, "gpus", "0000:02:00.0"), { recursive: true });
  Deno.writeTextFileSync(
    join(driver, "devices"),
    `Character devices:\n195 nvidia\n${HOST_DRIVER.major} nvidia-uvm\n`,
  );
  const dir = recipe("gpu-devices", fake, {
    "/proc/driver/nvidia/gpus": join(driver, "gpus"),
    '"/proc/devices"': JSON.stringify(join(driver, "devices")),
  });
  const policy = JSON.parse(Deno.readTextFileSync(join(dir, "deno.json")));
  policy.sandbox.prolog.read.push(driver);
  Deno.writeTextFileSync(join(dir, "deno.json"), JSON.stringify(policy));
  try {
    const p = await tryRun([join(dir, "hook.ts")]);
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.deepEqual(calls(fake), [
      "modprobe nvidia",
      "mknod -m 666 /dev/nvidia0 c 195 0",
      "mknod -m 666 /dev/nvidia1 c 195 1",
      "mknod -m 666 /dev/nvidiactl c 195 255",
      "modprobe nvidia-uvm",
      `mknod -m 666 /dev/nvidia-uvm c ${HOST_DRIVER.major} 0`,
      `mknod -m 666 /dev/nvidia-uvm-tools c ${HOST_DRIVER.major} 1`,
    ]);
  } finally {
    for (const d of [fake, dir, driver]) Deno.removeSync(d, { recursive: true });
  }
});

/** A hook with one privileged command, a fake nvidia-smi it may also run itself. */
function attackPolicy(fake: string, extra: Record<string, unknown> = {}) {
  return {
    permissions: { prolog: { run: [`${fake}/nvidia-smi`, "/usr/bin/cat", `${fake}/probe`] } },
    sandbox: {
      prolog: {
        read: [fake],
        privileged: {
          "gpu-power": {
            command: `${fake}/nvidia-smi`,
            capabilities: ["CAP_SYS_ADMIN"],
            args: [["-i", "{int}", "-pl", "{num}"]],
          },
          probe: { command: `${fake}/probe`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
        },
        ...extra,
      },
    },
  };
}

Deno.test("privileged commands: the hook's own code and its other commands get none of the capabilities; the broker runs only the policy's argument lists, with a clean environment", async () => {
  const fake = fakes();
  const code = `import { privileged, runCommand } from ${JSON.stringify(HELPERS)};
const smi = ${JSON.stringify(`${fake}/nvidia-smi`)};
const probe = ${JSON.stringify(`${fake}/probe`)};
export async function prolog(job) {
  const show = (label, r) => console.log(label + " " + r.status + " " + (r.stdout + r.stderr).trim().replaceAll("\\n", " | "));
  show("own-cat", await runCommand(["/usr/bin/cat", "/proc/self/status"], { job }).then((r) => ({ ...r, stdout: r.stdout.split("\\n").filter((l) => /^Cap(Eff|Prm|Bnd|Amb)/.test(l)).join("\\n") })));
  show("own-smi", await runCommand([smi, "-i", "0", "-pl", "300"], { job, allowFailure: true }));
  show("own-probe", await runCommand([probe], { job, allowFailure: true }));
  show("inject", await privileged("gpu-power", ["-i", "0", "-pl", "300", "-c", "0"], { allowFailure: true }));
  show("option", await privileged("gpu-power", ["-i", "-r", "-pl", "300"], { allowFailure: true }));
  show("other", await privileged("/usr/bin/id", [], { allowFailure: true }));
  for (const [i, w] of [["0x1", "300"], ["0", "1.2.3"], ["0", "300;id"], ["0", ""], ["0", " 300"]]) {
    show("shape", await privileged("gpu-power", ["-i", i, "-pl", w], { allowFailure: true }));
  }
  show("probe", await privileged("probe", [], { allowFailure: true }));
  console.log("own-sock " + Deno.statSync("/run/prep-deno/privileged.sock").ino);
  const conn = await Deno.connect({ transport: "unix", path: "/run/prep-deno/privileged.sock" });
  await conn.write(new TextEncoder().encode("gpu-power"));
  await conn.closeWrite();
  let text = "";
  for (const buf = new Uint8Array(4096);;) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  console.log("raw " + text.trim().replaceAll("\\n", " | "));
}`;
  try {
    const r = await tryPolicy(code, attackPolicy(fake), {
      args: ["--env", "SECRET_OF_JOB=1"],
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const line = (label: string) =>
      r.stderr.split("\n").find((l) => l.startsWith(label + " ")) ?? "";
    // A command the hook runs: no capability at all (bwrap's securebits keep
    // root from gaining its bounding set on exec).
    for (const cap of ["CapEff", "CapPrm", "CapAmb"]) {
      assert.match(line("own-cat"), new RegExp(`${cap}:\\s+0000000000000000`), line("own-cat"));
    }
    // The same program the policy names, run by the hook itself: refused by the "driver".
    assert.match(line("own-smi"), /^own-smi 4 .*Insufficient Permissions/);
    assert.match(line("own-probe"), /CapEff:\s+0000000000000000/);
    // Arguments outside the patterns, and a name the policy lacks: refused, never run.
    assert.match(line("inject"), /^inject 126 .*match none of its "args" patterns/);
    assert.match(line("option"), /^option 126 .*match none of its "args" patterns/);
    assert.match(line("other"), /^other 126 .*no privileged command "\/usr\/bin\/id"/);
    // Each placeholder takes its exact shape, nothing around it.
    const shapes = r.stderr.split("\n").filter((l) => l.startsWith("shape "));
    assert.equal(shapes.length, 5, r.stderr);
    for (const l of shapes) assert.match(l, /^shape 126 .*match none of its "args" patterns/);
    assert.match(line("raw"), /^raw 126 .*malformed privileged request/);
    assert.deepEqual(calls(fake), []);
    // Through the broker: exactly CAP_SYS_ADMIN (bit 21), no_new_privs, "/", a clean environment.
    const probe = line("probe");
    for (const cap of ["CapEff", "CapPrm", "CapBnd"]) {
      assert.match(probe, new RegExp(`${cap}:\\s+0000000000200000`), probe);
    }
    assert.match(probe, /CapInh:\s+0000000000000000/);
    assert.match(probe, /CapAmb:\s+0000000000000000/);
    assert.match(probe, /NoNewPrivs:\s+1/);
    assert.match(probe, /cwd=\/ \|/);
    // Its three streams, nothing of the launcher's (ls's own folder of /proc aside).
    const fds = [...probe.matchAll(/fd (\d+) (\S+)/g)];
    assert.deepEqual(fds.slice(0, 3).map((m) => m[1]), ["0", "1", "2"], probe);
    for (const [, n, target] of fds.slice(3)) assert.match(target, /^\/proc\/\d+\/fd$/, `fd ${n}`);
    assert.doesNotMatch(probe, /SECRET_OF_JOB|SLURM_|DENO_/);
    // The broker's socket folder: root's alone while the hook runs, gone after it. (Other
    // hooks' brokers may run on the node meanwhile: its own is the one whose socket is the
    // socket in the hook's view.)
    const folders = [...probe.matchAll(/broker (\d+) (\S+) (\S+) (\d+)/g)];
    for (const [, mode, owner] of folders) assert.deepEqual([mode, owner], ["700", "root"]);
    const own = folders.filter((m) => m[4] === line("own-sock").split(" ")[1]);
    assert.equal(own.length, 1, probe + "\n" + line("own-sock"));
    assert.throws(() => Deno.statSync(own[0][3]), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged commands: a set that can run code of its own choosing cannot hold one; the message names file, key and fix", async () => {
  const fake = fakes();
  try {
    for (
      const [grant, word] of [
        [{ run: ["/usr/bin/bash"] }, '"run" grants /usr/bin/bash'],
        [{ run: ["/usr/bin/python3"] }, '"run" grants /usr/bin/python3'],
        [{ run: true }, '"run": true'],
        [{ ffi: true }, '"ffi" is granted'],
        [{ all: true }, '"all" is granted'],
      ] as const
    ) {
      const policy = attackPolicy(fake);
      (policy.permissions as Record<string, unknown>).prolog = grant;
      const r = await tryPolicy("export function prolog() {}", policy);
      assert.equal(r.status, 126, JSON.stringify(grant) + r.stderr);
      assert.match(r.stderr, /deno\.json: permission set "prolog"/);
      assert.ok(r.stderr.includes(word), r.stderr);
      assert.match(r.stderr, /cannot also grant a shell, an interpreter, "ffi" or "all"/);
    }
    // The privileged program itself may not be a shell, nor one others could replace.
    const shell = attackPolicy(fake);
    (shell.sandbox.prolog.privileged as Record<string, unknown>)["gpu-power"] = {
      command: "/usr/bin/bash",
      capabilities: ["CAP_SYS_ADMIN"],
      args: [["-c", "{word}"]],
    };
    const s = await tryPolicy("export function prolog() {}", shell);
    assert.equal(s.status, 126);
    assert.match(s.stderr, /"privileged" "gpu-power": "command" \/usr\/bin\/bash runs code/);
    // A program inside the hook's own write grant: the hook could replace it.
    const writable = attackPolicy(fake, { write: [fake] });
    const wr = await tryPolicy("export function prolog() {}", writable);
    assert.equal(wr.status, 126);
    assert.match(
      wr.stderr,
      /nvidia-smi is inside the write grant .*, so the hook could replace the program/,
    );
    // A link is judged by its target too.
    Deno.symlinkSync("/usr/bin/bash", join(fake, "smi-link"));
    const linked = attackPolicy(fake);
    (linked.sandbox.prolog.privileged as Record<string, { command: string }>)["gpu-power"]
      .command = join(fake, "smi-link");
    const l = await tryPolicy("export function prolog() {}", linked);
    assert.equal(l.status, 126);
    assert.match(l.stderr, /smi-link is a link to \/usr\/bin\/bash, which runs code/);
    Deno.chmodSync(join(fake, "nvidia-smi"), 0o777);
    const open = await tryPolicy("export function prolog() {}", attackPolicy(fake));
    assert.equal(open.status, 126);
    assert.match(open.stderr, /nvidia-smi is refused: .*writable by group or others/);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged commands: while a hook runs, neither a local user nor another hook can reach its broker", async () => {
  const fake = fakes();
  const marks = grantDir("marks");
  const code = `export async function prolog() {
  Deno.writeTextFileSync(${JSON.stringify(`${marks}/ready`)}, "");
  while (true) {
    try { Deno.statSync(${JSON.stringify(`${marks}/done`)}); return; } catch { /* wait */ }
    await new Promise((r) => setTimeout(r, 50));
  }
}`;
  let running: Promise<unknown> | undefined;
  try {
    running = tryPolicy(code, {
      ...attackPolicy(fake),
      permissions: { prolog: { read: [marks], write: [marks] } },
    });
    while (true) {
      try {
        Deno.statSync(`${marks}/ready`);
        break;
      } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 50));
    }
    const sockets = [...Deno.readDirSync("/run/prep-deno/broker")].map((e) =>
      `/run/prep-deno/broker/${e.name}/sock`
    ).filter((p) => {
      try {
        return Deno.statSync(p).isSocket;
      } catch {
        return false;
      }
    });
    assert.ok(sockets.length > 0);
    // A local user: the folder is root's alone.
    const asNobody = await new Deno.Command("/usr/bin/setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "eval",
        `for (const p of ${JSON.stringify(sockets)}) {
          try { (await Deno.connect({ transport: "unix", path: p })).close(); console.log("reached " + p); }
          catch (e) { console.log(e.name); }
        }`,
      ],
      env: { DENO_NO_UPDATE_CHECK: "1", DENO_DIR: "/tmp/prep-deno-nobody-deno" },
    }).output();
    const seen = new TextDecoder().decode(asNobody.stdout);
    assert.doesNotMatch(seen, /reached/);
    assert.match(seen, /PermissionDenied/, new TextDecoder().decode(asNobody.stderr));
    // Another hook, with no privileged commands: the runner's folder in its view
    // (its own tmpfs: Deno's cache, the status file) has no socket and no broker.
    const other = await tryPolicy(
      `export function prolog() { console.log("entries " + [...Deno.readDirSync("/run/prep-deno")].map((e) => e.name).sort().join(",")); }`,
      { permissions: { prolog: { read: ["/run/prep-deno"] } } },
    );
    assert.match(other.stderr, /^entries /m, other.stderr);
    assert.doesNotMatch(other.stderr, /^entries .*(privileged\.sock|broker)/m, other.stderr);
    Deno.writeTextFileSync(`${marks}/done`, "");
    assert.equal(((await running) as { status: number }).status, 0);
  } finally {
    // The hook waits for "done": it must see it before its folder goes, or it waits forever.
    Deno.writeTextFileSync(`${marks}/done`, "");
    await running?.catch(() => {});
    Deno.removeSync(fake, { recursive: true });
    Deno.removeSync(marks, { recursive: true });
    Deno.removeSync("/tmp/prep-deno-nobody-deno", { recursive: true });
  }
});

Deno.test("privileged commands: a root-owned link runs by its own name (Debian's modprobe is a link to kmod)", async () => {
  const fake = fakes();
  const multi = `${fake}/multi`;
  Deno.writeTextFileSync(multi, `#!/bin/bash\necho "run as \${0##*/}: $*"\n`);
  Deno.chmodSync(multi, 0o755);
  Deno.symlinkSync(multi, `${fake}/modprobe-link`);
  try {
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() { console.log((await privileged("load", ["nvidia"])).stdout.trim()); }`,
      {
        sandbox: {
          prolog: {
            privileged: {
              load: {
                command: `${fake}/modprobe-link`,
                capabilities: ["CAP_SYS_MODULE"],
                args: [["nvidia"]],
              },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /run as modprobe-link: nvidia/);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});
