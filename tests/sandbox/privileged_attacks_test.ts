// SPDX-License-Identifier: GPL-2.0-or-later
// Attacks on privileged commands by someone who did not write them: the
// hook's own code speaking to the broker raw, a local user swapping a link
// on the way to the program, the hook rewriting one inside its own write
// grant, and policy words that would hand out a device the hook chooses.
import assert from "node:assert/strict";
import { grantDir, HELPERS, tryPolicy } from "./helpers.ts";
import { PREP_DENO, prepDeno, writeFiles } from "../helpers.ts";
import { fakeJobEnv } from "../../src/slurm_vars.ts";
import { calls, fakes, HOST_DRIVER } from "./fake_gpu.ts";

/** A uid of its own: other tests end every process of nobody's. */
const UID = String(62000 + Math.floor(Math.random() * 3000));

function asUser(args: string[]): Deno.CommandOutput {
  return new Deno.Command("/usr/bin/setpriv", {
    args: ["--reuid", UID, "--regid", UID, "--clear-groups", ...args],
  }).outputSync();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** An evil program: prints its capabilities, as a stand-in for doing anything with them. */
const EVIL = `#!/bin/bash\necho "evil ran: $(grep CapEff /proc/$$/status)"\n`;

/**
 * A hook that waits for `marks/swapped`, then asks for "tool"; the test
 * swaps the link in between, so the swap lands after every check the
 * runner made at start.
 */
function waitingHook(marks: string): string {
  return `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  Deno.writeTextFileSync(${JSON.stringify(`${marks}/ready`)}, "");
  while (true) {
    try { Deno.statSync(${JSON.stringify(`${marks}/swapped`)}); break; } catch { /* wait */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).trim());
}`;
}

/** Runs `code` under `policy`; once it is ready, `swap()` runs, then the hook goes on. */
async function raceSwap(
  code: string,
  policy: Record<string, unknown>,
  marks: string,
  swap: () => void,
) {
  const running = tryPolicy(code, policy);
  let done = false;
  running.finally(() => done = true);
  while (!done && !(await exists(`${marks}/ready`))) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!done) swap();
  Deno.writeTextFileSync(`${marks}/swapped`, "");
  return await running;
}

Deno.test("privileged attacks: a local user's link on the way to the program cannot send the broker to her own", async () => {
  const fake = fakes();
  const marks = grantDir("marks");
  // Her folder, with her link in it; root's link in a root-only folder points there.
  const hers = grantDir("user");
  Deno.chownSync(hers, Number(UID), Number(UID));
  try {
    assert.ok(asUser(["/usr/bin/ln", "-s", `${fake}/probe`, `${hers}/tool`]).success);
    Deno.writeTextFileSync(`${hers}/evil`, EVIL, { mode: 0o755 });
    Deno.chownSync(`${hers}/evil`, Number(UID), Number(UID));
    Deno.symlinkSync(`${hers}/tool`, `${fake}/tool`);
    const policy = {
      permissions: { prolog: { read: [marks], write: [marks] } },
      sandbox: {
        prolog: {
          privileged: {
            tool: { command: `${fake}/tool`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
          },
        },
      },
    };
    const r = await raceSwap(waitingHook(marks), policy, marks, () => {
      const swapped = asUser(["/usr/bin/ln", "-sfn", `${hers}/evil`, `${hers}/tool`]);
      assert.ok(swapped.success, new TextDecoder().decode(swapped.stderr));
    });
    assert.doesNotMatch(r.stderr, /evil ran/);
    assert.equal(r.status, 126, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `"privileged" "tool": "command" ${fake}/tool is refused: ${hers}/tool is owned by uid ${UID}, not root \\(on the way to`,
      ),
    );
  } finally {
    for (const d of [fake, marks, hers]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("privileged attacks: a link on the way to the program inside the hook's own write grant is refused (the hook could rewrite it)", async () => {
  const fake = fakes();
  const marks = grantDir("marks");
  const state = grantDir("state");
  try {
    Deno.symlinkSync(`${fake}/probe`, `${state}/tool`);
    Deno.symlinkSync(`${state}/tool`, `${fake}/tool`);
    const code = `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  // Its own program where the link was (a file in its grant: no symlink needed).
  Deno.removeSync(${JSON.stringify(`${state}/tool`)});
  Deno.writeTextFileSync(${JSON.stringify(`${state}/tool`)}, ${
      JSON.stringify(EVIL)
    }, { mode: 0o755 });
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).trim());
}`;
    const r = await tryPolicy(code, {
      permissions: { prolog: { read: [state], write: [state] } },
      sandbox: {
        prolog: {
          write: [state],
          privileged: {
            tool: { command: `${fake}/tool`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
          },
        },
      },
    });
    assert.doesNotMatch(r.stderr, /evil ran/);
    assert.equal(r.status, 126, r.stderr);
    assert.match(
      r.stderr,
      /tool is inside the write grant .*, so the hook could replace the program/,
    );
  } finally {
    for (const d of [fake, marks, state]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("privileged attacks: programs that run what their arguments name are refused, as the command or behind a link (the dynamic loader, ionice, run-parts, ...)", async () => {
  const fake = fakes();
  try {
    const loader = Deno.realPathSync("/lib64/ld-linux-x86-64.so.2");
    Deno.symlinkSync(loader, `${fake}/gpu-tool`);
    for (
      const command of [
        "/lib64/ld-linux-x86-64.so.2",
        `${fake}/gpu-tool`,
        "/usr/bin/ionice",
        "/usr/bin/chrt",
        "/usr/bin/taskset",
        "/usr/bin/prlimit",
        "/usr/bin/setarch",
        "/usr/bin/run-parts",
      ]
    ) {
      try {
        Deno.statSync(command);
      } catch {
        continue;
      }
      const r = await tryPolicy("export function prolog() {}", {
        sandbox: {
          prolog: {
            privileged: { tool: { command, capabilities: ["CAP_SYS_ADMIN"], args: [["{word}"]] } },
          },
        },
      });
      assert.equal(r.status, 126, command + r.stderr);
      assert.match(r.stderr, /runs code named by its arguments or input/, command);
    }
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

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
    text = "hung up (" + e.name + ") ";
  }
  try {
    for (const buf = new Uint8Array(4096);;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (e) {
    text += "read " + e.name;
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
  idle.close();
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

Deno.test("privileged attacks: a link on the way to the program retargeted after the plan was cached is judged again", async () => {
  const fake = fakes();
  const mid = grantDir("mid");
  const hers = grantDir("user");
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-view-" });
  Deno.chownSync(hers, Number(UID), Number(UID));
  try {
    Deno.writeTextFileSync(`${hers}/evil`, EVIL, { mode: 0o755 });
    Deno.chownSync(`${hers}/evil`, Number(UID), Number(UID));
    Deno.symlinkSync(`${fake}/probe`, `${mid}/tool`);
    Deno.symlinkSync(`${mid}/tool`, `${fake}/tool`);
    const hook = writeFiles(dir, {
      "hook.ts": `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).split("\\n")[0]);
}`,
      "deno.json": JSON.stringify({
        sandbox: {
          prolog: {
            privileged: {
              tool: { command: `${fake}/tool`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
            },
          },
        },
      }),
    });
    const env = fakeJobEnv("prolog_slurmd", { id: 12 });
    const run = async () => {
      const r = await prepDeno(["run", hook], env);
      return r.stdout + r.stderr;
    };
    assert.match(await run(), /asked 0 CapInh/);
    assert.match(await run(), /asked 0 CapInh/); // from the cached plan
    // Root (an update, an alternatives switch) points the middle link at a folder a user owns.
    Deno.removeSync(`${mid}/tool`);
    Deno.symlinkSync(`${hers}/evil`, `${mid}/tool`);
    const after = await run();
    assert.doesNotMatch(after, /evil ran/);
    assert.match(after, new RegExp(`${hers}/evil is owned by uid ${UID}, not root`), after);
  } finally {
    for (const d of [fake, mid, hers, dir]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("privileged commands, what they do not protect against: a program is judged by its names (a copied shell under another name passes), and it runs as uid 0 (root's files are its to write with no capability named)", async () => {
  const fake = fakes();
  const owned = grantDir("owned");
  try {
    Deno.copyFileSync("/usr/bin/dash", `${fake}/gpu-tool`);
    Deno.chmodSync(`${fake}/gpu-tool`, 0o755);
    Deno.writeTextFileSync(`${owned}/root-file`, "root's\n", { mode: 0o644 });
    Deno.writeTextFileSync(
      `${fake}/writer`,
      `#!/bin/bash\necho written >> ${owned}/root-file\n`,
      { mode: 0o755 },
    );
    Deno.chmodSync(`${fake}/writer`, 0o755);
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() { await privileged("write", []); }`,
      {
        sandbox: {
          prolog: {
            privileged: {
              write: { command: `${fake}/writer`, capabilities: [], args: [[]] },
              copied: { command: `${fake}/gpu-tool`, capabilities: [], args: [[]] },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(Deno.readTextFileSync(`${owned}/root-file`), "root's\nwritten\n");
  } finally {
    for (const d of [fake, owned]) Deno.removeSync(d, { recursive: true });
  }
});

/**
 * `prep-deno try` of `code` under `policy` with every cgroup mount read-only
 * (a mount namespace of its own): the runner's fallback where no cgroup
 * holds the hook's processes.
 */
async function tryWithoutCgroups(code: string, policy: unknown): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-view-" });
  try {
    const hook = writeFiles(dir, { "hook.ts": code, "deno.json": JSON.stringify(policy) });
    const out = await new Deno.Command("/usr/bin/unshare", {
      args: [
        "-m",
        "/bin/sh",
        "-c",
        `for m in $(awk '$3 ~ /^cgroup/ {print $2}' /proc/self/mounts); do mount -o remount,bind,ro "$m" || exit 99; done; exec "$0" try "$1"`,
        PREP_DENO,
        hook,
      ],
      stdin: "null",
    }).output();
    const d = new TextDecoder();
    assert.notEqual(out.code, 99, "cannot make the cgroup mounts read-only");
    return d.decode(out.stdout) + d.decode(out.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

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
          : await tryWithoutCgroups(code, policy);
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

Deno.test("privileged attacks: a program with a second name (a hard link) in the hook's write grant is refused (the hook could rewrite it through that name)", async () => {
  const fake = fakes();
  const state = grantDir("state");
  try {
    Deno.linkSync(`${fake}/probe`, `${state}/tool`);
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  Deno.writeTextFileSync(${JSON.stringify(`${state}/tool`)}, ${JSON.stringify(EVIL)});
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).trim());
}`,
      {
        permissions: { prolog: { write: [state] } },
        sandbox: {
          prolog: {
            write: [state],
            privileged: {
              tool: { command: `${fake}/probe`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
            },
          },
        },
      },
    );
    assert.doesNotMatch(r.stderr, /evil ran/);
    assert.equal(r.status, 126, r.stderr);
    assert.match(r.stderr, /probe has 2 names \(hard links\)/);
  } finally {
    for (const d of [fake, state]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("privileged attacks: a hook with privileged commands may not run a link to a shell under another name", async () => {
  const fake = fakes();
  try {
    Deno.symlinkSync("/usr/bin/bash", `${fake}/gpu-helper`);
    const r = await tryPolicy("export function prolog() {}", {
      permissions: { prolog: { run: [`${fake}/gpu-helper`] } },
      sandbox: {
        prolog: {
          privileged: {
            tool: { command: `${fake}/probe`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
          },
        },
      },
    });
    assert.equal(r.status, 126, r.stderr);
    assert.ok(r.stderr.includes(`"run" grants ${fake}/gpu-helper`), r.stderr);
    assert.match(r.stderr, /cannot also grant a shell, an interpreter/);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

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
    try { console.log("saw " + [...Deno.readDirSync(p)].length); } catch (e) { console.log("list " + e.name); }
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
  try { console.log("saw " + [...Deno.readDirSync("/run/prep-deno/broker")].length); } catch (e) { console.log("list " + e.name); }
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

Deno.test("privileged attacks: a program in a folder a local user owns, or one she could write, is refused", async () => {
  const hers = grantDir("user");
  const group = grantDir("group");
  try {
    Deno.chownSync(hers, Number(UID), Number(UID));
    Deno.copyFileSync("/usr/bin/true", `${hers}/tool`);
    Deno.chmodSync(`${hers}/tool`, 0o755);
    Deno.copyFileSync("/usr/bin/true", `${group}/tool`);
    Deno.chmodSync(`${group}/tool`, 0o775);
    for (
      const [command, why] of [
        [`${hers}/tool`, `the folder ${hers} is owned by uid ${UID}, not root`],
        [`${group}/tool`, `${group}/tool is writable by group or others`],
      ]
    ) {
      const r = await tryPolicy("export function prolog() {}", {
        sandbox: {
          prolog: {
            privileged: { tool: { command, capabilities: ["CAP_SYS_ADMIN"], args: [[]] } },
          },
        },
      });
      assert.equal(r.status, 126, r.stderr);
      assert.ok(r.stderr.includes(why), r.stderr);
    }
  } finally {
    for (const d of [hers, group]) Deno.removeSync(d, { recursive: true });
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

Deno.test("privileged attacks: a link whose target climbs (..) out of a linked folder is judged where the kernel goes, not where the text seems to go", async () => {
  const base = grantDir("climb");
  const hers = grantDir("user");
  try {
    Deno.chownSync(hers, Number(UID), Number(UID));
    // Her folder: d/, and z/prog, her program.
    assert.ok(asUser(["/usr/bin/mkdir", "-p", `${hers}/d`, `${hers}/z`]).success);
    Deno.writeTextFileSync(`${hers}/z/prog`, EVIL, { mode: 0o755 });
    Deno.chownSync(`${hers}/z/prog`, Number(UID), Number(UID));
    Deno.chmodSync(`${hers}/z/prog`, 0o755);
    // Root's: base/z/prog (the program the text names), base/y -> her d, base/x/tool -> ../y/../z/prog.
    Deno.mkdirSync(`${base}/z`);
    Deno.mkdirSync(`${base}/x`);
    Deno.writeTextFileSync(`${base}/z/prog`, "#!/bin/bash\necho root's program\n", { mode: 0o755 });
    Deno.chmodSync(`${base}/z/prog`, 0o755);
    Deno.symlinkSync(`${hers}/d`, `${base}/y`);
    Deno.symlinkSync("../y/../z/prog", `${base}/x/tool`);
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).trim());
}`,
      {
        sandbox: {
          prolog: {
            privileged: {
              tool: { command: `${base}/x/tool`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
            },
          },
        },
      },
    );
    assert.doesNotMatch(r.stderr, /evil ran/);
    assert.equal(r.status, 126, r.stderr);
    assert.ok(
      r.stderr.includes(
        `the link ${base}/x/tool (to ../y/../z/prog) goes through the linked folder ${base}/y`,
      ),
      r.stderr,
    );
  } finally {
    for (const d of [base, hers]) Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("privileged attacks: a program path spelled with . or .. parts or a doubled slash is refused (no spelling hides a program inside the hook's write grant)", async () => {
  const fake = fakes();
  const state = grantDir("state");
  try {
    Deno.copyFileSync(`${fake}/probe`, `${state}/tool`);
    Deno.chmodSync(`${state}/tool`, 0o755);
    for (
      const spelled of [
        state.replace("/prep-deno-view-", "//prep-deno-view-") + "/tool",
        `${state}/./tool`,
        `${fake}/../${state.split("/").pop()}/tool`,
      ]
    ) {
      Deno.writeTextFileSync(`${state}/tool`, Deno.readTextFileSync(`${fake}/probe`));
      const r = await tryPolicy(
        `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  Deno.writeTextFileSync(${JSON.stringify(`${state}/tool`)}, ${JSON.stringify(EVIL)});
  const r = await privileged("tool", [], { allowFailure: true });
  console.log("asked " + r.status + " " + (r.stdout + r.stderr).trim());
}`,
        {
          permissions: { prolog: { write: [state] } },
          sandbox: {
            prolog: {
              write: [state],
              privileged: {
                tool: { command: spelled, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
              },
            },
          },
        },
      );
      assert.doesNotMatch(r.stderr, /evil ran/, spelled + r.stderr);
      assert.equal(r.status, 126, spelled + r.stderr);
      assert.match(
        r.stderr,
        /must be the program.s absolute path, spelled plainly/,
        spelled + r.stderr,
      );
    }
  } finally {
    for (const d of [fake, state]) Deno.removeSync(d, { recursive: true });
  }
});
