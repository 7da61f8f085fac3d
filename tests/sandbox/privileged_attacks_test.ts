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

Deno.test("privileged attacks: the hook's raw requests (too long, too many arguments, unanswered, lookalike digits, options, --, newlines) run nothing and speak for no one", async () => {
  const fake = fakes();
  const code = `import { privileged } from ${JSON.stringify(HELPERS)};
const SOCK = "/run/prep-deno/privileged.sock";
async function raw(bytes, shut = true) {
  const conn = await Deno.connect({ transport: "unix", path: SOCK });
  let text = "";
  try {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    if (!shut) return conn;
    await conn.closeWrite();
  } catch (e) {
    // The broker hung up on a request it refused before reading it all.
    text = "hung up (" + (e as Error).name + ") ";
  }
  try {
    for (const buf = new Uint8Array(4096);;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (e) {
    text += "read " + (e as Error).name;
  }
  conn.close();
  return text.trim().replaceAll("\\n", " | ");
}
export async function prolog() {
  const enc = (s) => new TextEncoder().encode(s);
  console.log("long " + await raw(enc("gpu-power\\x00" + "0".repeat(70000) + "\\x00")));
  console.log("many " + await raw(enc("gpu-power\\x00" + "0\\x00".repeat(300))));
  console.log("nul " + await raw(enc("gpu-power\\x00-i\\x00" + "0\\x00-pl\\x00" + "300\\x00" + "\\x00")));
  console.log("unended " + await raw(enc("gpu-power\\x00-i\\x00" + "0\\x00-pl\\x00300")));
  // One left open without a word: the hook's next request waits for it, and nothing runs for it.
  const idle = await raw(enc("gpu-power\\x00-i\\x00"), false);
  (idle as Deno.UnixConn).close();
  for (const [i, w] of [["٣", "300"], ["０", "300"], ["0", "3e2"], ["0", "+300"], ["0", "-300"], ["0", "300\\nprep-deno: forged"], ["--", "300"], ["0", "--"], ["0 ", "300"], ["0", "0x12C"]]) {
    const r = await privileged("gpu-power", ["-i", i, "-pl", w], { allowFailure: true });
    console.log("shape " + JSON.stringify([i, w]) + " " + r.status + " " + r.stderr.trim());
  }
  for (const w of ["..", ".", "a/b", "-rf", "x y", "é", "../x", ""]) {
    const r = await privileged("node", [w], { allowFailure: true });
    console.log("word " + JSON.stringify(w) + " " + r.status + " " + r.stderr.trim());
  }
  console.log("word-ok " + (await privileged("node", ["nvidia-uvm"], { allowFailure: true })).status);
  const argv0 = await privileged("gpu-power", ["-i", "007", "-pl", "300"], { allowFailure: true });
  console.log("zeros " + argv0.status);
}`;
  try {
    const r = await tryPolicy(code, {
      sandbox: {
        prolog: {
          privileged: {
            "gpu-power": {
              command: `${fake}/nvidia-smi`,
              capabilities: ["CAP_SYS_ADMIN"],
              args: [["-i", "{int}", "-pl", "{num}"]],
            },
            node: { command: `${fake}/probe`, capabilities: [], args: [["{word}"]] },
          },
        },
      },
    });
    assert.equal(r.status, 0, r.stderr);
    const line = (label: string) =>
      r.stderr.split("\n").find((l) => l.startsWith(label + " ")) ?? "";
    // Refused after its first 64 KiB: the answer, or a hang-up if the hook was still writing.
    assert.match(line("long"), /^long (126 .*privileged request too long|hung up)/);
    assert.match(line("many"), /^many 126 .*too many arguments/);
    assert.match(line("nul"), /^nul 126 .*match none of its "args" patterns/);
    assert.match(line("unended"), /^unended 126 .*malformed privileged request/);
    const shapes = r.stderr.split("\n").filter((l) => l.startsWith("shape "));
    assert.equal(shapes.length, 10, r.stderr);
    for (const l of shapes) assert.match(l, /\] 126 .*match none of its "args" patterns/);
    // An argument's newline is shown escaped: it cannot start a line of the broker's message.
    assert.ok(r.stderr.includes("-pl 300\\x0aprep-deno: forged match none"), r.stderr);
    assert.doesNotMatch(r.stderr, /^prep-deno: forged/m);
    // {word}: a name, never a path, a folder's dots, an option or a space.
    const words = r.stderr.split("\n").filter((l) => l.startsWith("word "));
    assert.equal(words.length, 8, r.stderr);
    for (const l of words) assert.match(l, /^word ".*" 126 .*match none of its "args" patterns/);
    assert.match(line("word-ok"), /^word-ok 0/);
    // Leading zeros are digits: {int} takes them, and the program reads the number.
    assert.match(line("zeros"), /^zeros 0/);
    assert.deepEqual(calls(fake), ["nvidia-smi -i 007 -pl 300"]);
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
        `#!/bin/bash\n/usr/bin/setsid ${fake}/${mark} 600 </dev/null >/dev/null 2>&1 &\nuntil grep -q ${mark} /proc/$!/cmdline 2>/dev/null; do sleep 0.02; done\necho "started $(stat -c %U /proc/$!) $(tr '\\0' ' ' </proc/$!/cmdline)"\n`,
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

Deno.test("privileged attacks: many requests at once are served one at a time, each checked, none mixed with another", async () => {
  const fake = fakes();
  try {
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  const asks = [];
  for (let i = 0; i < 40; i++) {
    asks.push(privileged("gpu-power", ["-i", String(i % 2), "-pl", i % 4 === 3 ? "-1" : String(100 + i)], { allowFailure: true }));
  }
  const done = await Promise.all(asks);
  console.log("statuses " + done.map((d) => d.status).join(","));
  console.log("outs " + done.map((d, i) => d.stdout.includes("0" + (i % 2) + ":00.0") || d.status === 126).every(Boolean));
}`,
      {
        sandbox: {
          prolog: {
            privileged: {
              "gpu-power": {
                command: `${fake}/nvidia-smi`,
                capabilities: ["CAP_SYS_ADMIN"],
                args: [["-i", "{int}", "-pl", "{num}"]],
              },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const statuses = /^statuses (.*)$/m.exec(r.stderr)?.[1].split(",") ?? [];
    assert.equal(statuses.length, 40, r.stderr);
    statuses.forEach((s, i) => assert.equal(s, i % 4 === 3 ? "126" : "0", `request ${i}`));
    assert.match(r.stderr, /^outs true$/m);
    assert.equal(calls(fake).length, 30);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged attacks: a privileged command's output past 1 MiB is never a quiet success (a list that stops short fails, naming what was cut)", async () => {
  const fake = fakes();
  try {
    Deno.writeTextFileSync(
      `${fake}/lister`,
      `#!/bin/bash\nfor i in $(seq 1 "$1"); do printf 'process %07d\\n' "$i"; done\n`,
      { mode: 0o755 },
    );
    Deno.chmodSync(`${fake}/lister`, 0o755);
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  for (const n of ["10", "100000"]) {
    const r = await privileged("list", [n], { allowFailure: true });
    console.log("list " + n + " " + r.status + " " + r.stdout.length + " " + r.stderr.trim());
  }
}`,
      {
        sandbox: {
          prolog: {
            privileged: {
              list: { command: `${fake}/lister`, capabilities: [], args: [["{int}"]] },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^list 10 0 160 $/m, r.stderr);
    // 100000 lines of 16 bytes: 1600000 bytes, 1048576 kept.
    assert.match(
      r.stderr,
      /^list 100000 126 1048576 prep-deno: privileged command "list": its output past 1 MiB was cut \(551424 bytes of stdout, 0 of stderr\)$/m,
      r.stderr,
    );
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});
