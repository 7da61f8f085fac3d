// SPDX-License-Identifier: GPL-2.0-or-later
// Attacks on privileged commands by someone who did not write them, as the
// hook's own code and the programs around it: raw requests to the broker,
// devices it would choose, reaching into the command, the socket from
// another user, grant spellings, processes left behind. (The program and
// policy side: privileged_program_attacks_test.ts.)
import assert from "node:assert/strict";
import { grantDir, HELPERS, tryPolicy } from "./helpers.ts";
import { calls, fakes, HOST_DRIVER } from "./fake_gpu.ts";
import { tryInMountNs, UID } from "./privileged_attack_helpers.ts";

Deno.test("privileged attacks: {major:NAME} takes only the major the kernel gave that driver, so a device node's major is never the hook's choice", async () => {
  const fake = fakes();
  try {
    // Another driver's major (the first other one /proc/devices lists), and
    // the same number spelled otherwise.
    const other = /^\s*(\d+) /m.exec(
      Deno.readTextFileSync("/proc/devices").split("Block devices:")[0].split("\n").filter((l) =>
        /^\s*\d+ /.test(l) && l.trim().split(" ")[0] !== HOST_DRIVER.major
      ).join("\n"),
    )?.[1] ?? "1";
    const code = `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  for (const major of ${
      JSON.stringify([
        other,
        `0${HOST_DRIVER.major}`,
        ` ${HOST_DRIVER.major}`,
        `${HOST_DRIVER.major}0`,
        "-1",
        HOST_DRIVER.major,
      ])
    }) {
    const r = await privileged("make-node", ["-m", "666", "/dev/nvidia-uvm", "c", major, "0"], { allowFailure: true });
    console.log("major [" + major + "] " + r.status + " " + r.stderr.trim());
  }
}`;
    const r = await tryPolicy(code, {
      sandbox: {
        prolog: {
          privileged: {
            "make-node": {
              command: `${fake}/mknod`,
              capabilities: ["CAP_MKNOD"],
              args: [["-m", "666", "/dev/nvidia-uvm", "c", `{major:${HOST_DRIVER.name}}`, "0"]],
            },
          },
        },
      },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("major ["));
    assert.equal(lines.length, 6, r.stderr);
    for (const l of lines.slice(0, 5)) assert.match(l, /\] 126 .*match none of its "args"/);
    assert.deepEqual(calls(fake), [`mknod -m 666 /dev/nvidia-uvm c ${HOST_DRIVER.major} 0`]);
    // The recipe's own policy says so for nvidia-uvm.
    const recipe = Deno.readTextFileSync(
      new URL("../../examples/gpu-devices/deno.json", import.meta.url),
    );
    assert.doesNotMatch(recipe, /"c", "\{int\}"/);
    assert.match(recipe, /"\{major:nvidia-uvm\}"/);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged attacks: a hook with the node's processes cannot reach into its running privileged command, even one with no capability (/proc/PID/root, cwd, environ, mem, fd/0)", async () => {
  const fake = fakes();
  const marks = grantDir("marks");
  const hidden = grantDir("hidden");
  Deno.writeTextFileSync(`${hidden}/secret`, "host-only\n");
  // A root program in the host's view that waits for the hook's word.
  Deno.writeTextFileSync(
    `${fake}/slow`,
    `#!/bin/bash\nwhile [ ! -e ${marks}/go ]; do sleep 0.05; done\necho slow done\n`,
    { mode: 0o755 },
  );
  Deno.chmodSync(`${fake}/slow`, 0o755);
  const code = `import { privileged, runCommand } from ${JSON.stringify(HELPERS)};
export async function prolog(job) {
  const asked = privileged("slow", [], { allowFailure: true });
  let pid;
  while (pid === undefined) {
    const ps = await runCommand(["/usr/bin/ps", "-eo", "pid=,args="], { job });
    pid = ps.stdout.split("\\n").find((l) => l.includes(${
    JSON.stringify(`${fake}/slow`)
  }))?.trim().split(" ")[0];
    if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  const at = "/proc/" + pid;
  const tries = {
    root: ["/usr/bin/cat", at + "/root" + ${JSON.stringify(`${hidden}/secret`)}],
    rootWrite: ["/usr/bin/tee", at + "/root" + ${JSON.stringify(`${hidden}/planted`)}],
    cwd: ["/usr/bin/ls", at + "/cwd/"],
    environ: ["/usr/bin/cat", at + "/environ"],
    mem: ["/usr/bin/cat", at + "/mem"],
    fd: ["/usr/bin/cat", at + "/fd/0"],
  };
  for (const [name, argv] of Object.entries(tries)) {
    const r = await runCommand(argv, { job, allowFailure: true });
    console.log((r.status === 0 ? "reached " : "closed ") + name + " " + r.stderr.trim());
  }
  Deno.writeTextFileSync(${JSON.stringify(`${marks}/go`)}, "");
  console.log("slow " + (await asked).stdout.trim());
}`;
  try {
    const r = await tryPolicy(code, {
      permissions: {
        prolog: {
          read: [marks],
          write: [marks],
          run: ["/usr/bin/ps", "/usr/bin/cat", "/usr/bin/tee", "/usr/bin/ls"],
        },
      },
      sandbox: {
        prolog: {
          processes: "host",
          write: [marks],
          privileged: { slow: { command: `${fake}/slow`, capabilities: [], args: [[]] } },
        },
      },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /reached/);
    for (const name of ["root", "rootWrite", "cwd", "environ", "mem", "fd"]) {
      assert.match(r.stderr, new RegExp(`closed ${name} `), r.stderr);
    }
    assert.match(r.stderr, /slow slow done/);
    assert.throws(() => Deno.statSync(`${hidden}/planted`), Deno.errors.NotFound);
  } finally {
    for (const d of [fake, marks, hidden]) Deno.removeSync(d, { recursive: true });
  }
});

for (const cgroups of [true, false]) {
  Deno.test(
    `privileged attacks: a process a privileged command leaves running in a session of its own ends with the hook${
      cgroups ? "" : ", where no cgroup holds the hook (read-only cgroup mounts)"
    }`,
    async () => {
      const fake = fakes();
      const mark = `prep-deno-left-${crypto.randomUUID().slice(0, 8)}`;
      // A copy of sleep under a name of its own, so the test finds only its own.
      Deno.copyFileSync("/usr/bin/sleep", `${fake}/${mark}`);
      Deno.chmodSync(`${fake}/${mark}`, 0o755);
      Deno.writeTextFileSync(
        `${fake}/daemon`,
        `#!/bin/bash\n/usr/bin/setsid ${fake}/${mark} 600 </dev/null >/dev/null 2>&1 &\nuntil [ "$(readlink /proc/$!/exe)" = ${fake}/${mark} ]; do sleep 0.02; done\necho "started $(stat -c %U /proc/$!) $(tr '\\0' ' ' </proc/$!/cmdline)"\n`,
        { mode: 0o755 },
      );
      Deno.chmodSync(`${fake}/daemon`, 0o755);
      const left = () =>
        [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter((e) => {
          try {
            return Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(mark);
          } catch {
            return false;
          }
        });
      const code = `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() { console.log((await privileged("daemon", [])).stdout.trim()); }`;
      const policy = {
        sandbox: {
          prolog: {
            privileged: {
              daemon: { command: `${fake}/daemon`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
            },
          },
        },
      };
      try {
        const out = cgroups
          ? await tryPolicy(code, policy).then((r) => {
            assert.equal(r.status, 0, r.stderr);
            return r.stderr;
          })
          : await tryInMountNs(
            `for m in $(awk '$3 ~ /^cgroup/ {print $2}' /proc/self/mounts); do mount -o remount,bind,ro "$m" || exit 99; done`,
            code,
            policy,
          );
        assert.match(out, /exit status: 0|^started/m, out);
        // It ran, as root, in a session of its own, while the hook did.
        assert.match(out, new RegExp(`started root ${fake}/${mark} 600`), out);
        assert.deepEqual(left(), []);
      } finally {
        for (const e of left()) Deno.kill(Number(e.name), "SIGKILL");
        Deno.removeSync(fake, { recursive: true });
      }
    },
  );
}

Deno.test("privileged attacks: no grant spelling reaches the brokers' folder (/run, /var/run, the folder itself): the runner's tmpfs covers it", async () => {
  const brokers = "/run/prep-deno/broker";
  let made = false;
  try {
    Deno.statSync(brokers);
  } catch {
    Deno.mkdirSync(brokers, { recursive: true, mode: 0o700 });
    made = true;
  }
  try {
    for (const grant of ["/run", "/var/run", "/run/prep-deno", "/var/run/prep-deno/broker"]) {
      const r = await tryPolicy(
        `export function prolog() {
  for (const p of ["/run/prep-deno/broker", "/var/run/prep-deno/broker"]) {
    try { console.log("saw " + [...Deno.readDirSync(p)].length); } catch (e) { console.log("list " + (e as Error).name); }
  }
}`,
        {
          permissions: { prolog: { read: ["/run", "/var/run"] } },
          sandbox: { prolog: { read: [grant] } },
        },
      );
      assert.equal(r.status, 0, grant + r.stderr);
      assert.doesNotMatch(r.stderr, /saw/, grant);
      assert.equal(r.stderr.match(/^list NotFound$/gm)?.length, 2, grant + r.stderr);
    }
    // A write grant over it is refused outright; one inside it is hidden as a read grant is.
    const over = await tryPolicy("export function prolog() {}", {
      permissions: { prolog: { write: ["/run"] } },
      sandbox: { prolog: { write: ["/run"] } },
    });
    assert.equal(over.status, 126, over.stderr);
    assert.match(over.stderr, /which is the runner's own in every view/);
    const inside = await tryPolicy(
      `export function prolog() {
  try { console.log("saw " + [...Deno.readDirSync("/run/prep-deno/broker")].length); } catch (e) { console.log("list " + (e as Error).name); }
}`,
      {
        permissions: { prolog: { read: ["/run"], write: [brokers] } },
        sandbox: { prolog: { write: [brokers] } },
      },
    );
    assert.equal(inside.status, 0, inside.stderr);
    assert.match(inside.stderr, /^list NotFound$/m, inside.stderr);
  } finally {
    if (made) Deno.removeSync(brokers);
  }
});

Deno.test("privileged attacks: a program in the hook's view running as another user cannot connect to the broker; the hook's own root commands reach it, only to ask", async () => {
  const fake = fakes();
  const code = `export async function prolog() {
  for (const uid of [${UID}, 0]) {
    const out = await new Deno.Command("/usr/bin/curl", {
      args: ["-sS", "--max-time", "2", "--unix-socket", "/run/prep-deno/privileged.sock", "http://x/"],
      cwd: "/",
      ...(uid ? { uid, gid: uid } : {}),
    }).output();
    console.log("as " + uid + " exit " + out.code + " " + new TextDecoder().decode(out.stderr).trim());
  }
}`;
  try {
    const r = await tryPolicy(code, {
      permissions: { prolog: { run: ["/usr/bin/curl"] } },
      sandbox: {
        prolog: {
          capabilities: ["CAP_SETUID", "CAP_SETGID"],
          privileged: {
            probe: { command: `${fake}/probe`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
          },
        },
      },
    });
    assert.equal(r.status, 0, r.stderr);
    // curl's 7: it could not connect (the socket is root's, mode 600).
    assert.match(
      r.stderr,
      new RegExp(`^as ${UID} exit 7 .*(Permission denied|Couldn't connect)`, "m"),
    );
    // As root it connects (curl's request never ends, so the broker waits for the rest and curl
    // gives up: any status but 7).
    assert.match(r.stderr, /^as 0 exit (?!7 )\d+/m, r.stderr);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged attacks: the hook's own Deno process holds no capability while its broker holds them", async () => {
  const fake = fakes();
  try {
    const r = await tryPolicy(
      `import { runCommand } from ${JSON.stringify(HELPERS)};
export async function prolog(job) {
  const s = await runCommand(["/usr/bin/cat", "/proc/" + Deno.pid + "/status"], { job });
  console.log(s.stdout.split("\\n").filter((l) => /^(Cap|NoNewPrivs|Pid)/.test(l)).join(" | "));
}`,
      {
        permissions: { prolog: { run: ["/usr/bin/cat"] } },
        sandbox: {
          prolog: {
            privileged: {
              probe: { command: `${fake}/probe`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    // Its bounding set is bwrap's, but with no_new_privs (and root's securebits) no exec gains it.
    for (const cap of ["CapInh", "CapPrm", "CapEff", "CapAmb"]) {
      assert.match(r.stderr, new RegExp(`${cap}:\\s+0000000000000000`), r.stderr);
    }
    assert.match(r.stderr, /NoNewPrivs:\s+1/);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});
