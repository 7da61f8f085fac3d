// SPDX-License-Identifier: GPL-2.0-or-later
// Reads of a file outside the policy, through every route we know. Deno
// gates some; imports it does not gate, so the kernel view must hide the file.
import assert from "node:assert/strict";
import { tryHook, tryStatus } from "../helpers.ts";

// Outside /tmp (a hook's /tmp is its own) and this run's own.
const SECRET_DIR = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-secret-" });
Deno.chmodSync(SECRET_DIR, 0o755);
globalThis.addEventListener("unload", () => Deno.removeSync(SECRET_DIR, { recursive: true }));
const SECRET = "s3cr3t-" + crypto.randomUUID();
Deno.writeTextFileSync(`${SECRET_DIR}/secret.txt`, SECRET);
Deno.writeTextFileSync(`${SECRET_DIR}/secret.json`, JSON.stringify({ SECRET }));
Deno.writeTextFileSync(`${SECRET_DIR}/secret.js`, `export default ${JSON.stringify(SECRET)};`);
Deno.writeTextFileSync(`${SECRET_DIR}/worker.js`, `self.postMessage(${JSON.stringify(SECRET)});`);

/** Routes, each an async expression that would yield the secret. */
const ROUTES: Record<string, string> = {
  "import text":
    `(await import("file://${SECRET_DIR}/secret.txt", { with: { type: "text" } })).default`,
  "import json":
    `JSON.stringify((await import("file://${SECRET_DIR}/secret.json", { with: { type: "json" } })).default)`,
  "import bytes":
    `new TextDecoder().decode((await import("file://${SECRET_DIR}/secret.txt", { with: { type: "bytes" } })).default)`,
  "import js": `(await import("file://${SECRET_DIR}/secret.js")).default`,
  "Deno.readTextFile": `await Deno.readTextFile("${SECRET_DIR}/secret.txt")`,
  "Deno.readFileSync": `new TextDecoder().decode(Deno.readFileSync("${SECRET_DIR}/secret.txt"))`,
  "Deno.open":
    `await (async () => { const f = await Deno.open("${SECRET_DIR}/secret.txt"); const b = new Uint8Array(100); const n = await f.read(b); return new TextDecoder().decode(b.subarray(0, n)); })()`,
  "Deno.readDir": `JSON.stringify([...Deno.readDirSync("${SECRET_DIR}")])`,
  "Deno.stat": `JSON.stringify(Deno.statSync("${SECRET_DIR}/secret.txt").size)`,
  "Deno.realPath": `Deno.realPathSync("${SECRET_DIR}/secret.txt")`,
  "node:fs readFileSync":
    `(await import("node:fs")).readFileSync("${SECRET_DIR}/secret.txt", "utf8")`,
  "node:fs/promises":
    `await (await import("node:fs/promises")).readFile("${SECRET_DIR}/secret.txt", "utf8")`,
  "fetch file:": `await (await fetch("file://${SECRET_DIR}/secret.txt")).text()`,
  "nested worker (inherit)":
    `await new Promise((ok, ko) => { const w = new Worker("file://${SECRET_DIR}/worker.js", { type: "module" }); w.onmessage = (e) => { w.terminate(); ok(e.data); }; w.onerror = (e) => { e.preventDefault(); w.terminate(); ko(new Error("worker: " + e.message)); }; })`,
  "nested worker text import":
    `await new Promise((ok, ko) => { const src = 'self.postMessage((await import("file://${SECRET_DIR}/secret.txt", { with: { type: "text" } })).default)'; const w = new Worker("data:application/javascript," + encodeURIComponent(src), { type: "module" }); w.onmessage = (e) => { w.terminate(); ok(e.data); }; w.onerror = (e) => { e.preventDefault(); w.terminate(); ko(new Error("worker: " + e.message)); }; })`,
};

function attackModule(routes: Record<string, string>): string {
  const lines = Object.entries(routes).map(([name, expr]) =>
    `  try { got[${JSON.stringify(name)}] = "LEAKED " + String(${expr}); } catch (e) { got[${
      JSON.stringify(name)
    }] = "blocked " + (e?.name ?? e); }`
  );
  // Not a type test: the routes are checked by what the kernel lets through.
  return `// @ts-nocheck\nexport async function prolog() {\n  const got = {};\n${
    lines.join("\n")
  }\n  console.log(JSON.stringify(got));\n}\n`;
}

Deno.test("escape: no route reads a file outside the policy (no permissions at all)", async () => {
  const r = await tryHook(attackModule(ROUTES));
  assert.equal(tryStatus(r), 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), "secret leaked");
  const got = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("{"))!);
  for (const name of Object.keys(ROUTES)) {
    assert.match(got[name], /^blocked /, `${name}: ${got[name]}`);
  }
  // Deno does not gate imports of local files: the kernel view must be what stops them.
  assert.match(got["import text"], /NotFound|TypeError/);
});

Deno.test("escape: the exact import attack on munge.key and /etc/shadow finds nothing", async () => {
  const r = await tryHook(attackModule({
    "munge.key":
      `(await import("file:///etc/munge/munge.key", { with: { type: "bytes" } })).default.length`,
    "shadow": `(await import("file:///etc/shadow", { with: { type: "text" } })).default`,
    "slurm.conf":
      `(await import("file:///etc/slurm/slurm.conf", { with: { type: "text" } })).default`,
  }));
  assert.equal(tryStatus(r), 0, r.stderr);
  const got = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("{"))!);
  for (const [name, v] of Object.entries(got)) assert.match(String(v), /^blocked /, name);
});

Deno.test("escape: with read granted elsewhere, the secret stays hidden", async () => {
  const r = await tryHook(attackModule(ROUTES), { policy: { prolog: { read: ["/usr/share"] } } });
  assert.equal(tryStatus(r), 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET), "secret leaked");
});

Deno.test("escape: a child started with run permission cannot see the file either", async () => {
  const r = await tryHook(
    `export async function prolog() {
      const o = await new Deno.Command("/usr/bin/cat", { args: ["${SECRET_DIR}/secret.txt", "/etc/munge/munge.key"] }).output();
      console.log("cat said:", new TextDecoder().decode(o.stdout), new TextDecoder().decode(o.stderr));
    }`,
    { policy: { prolog: { run: true } } },
  );
  assert.equal(tryStatus(r), 0, r.stderr);
  assert.ok(!r.stdout.includes(SECRET), "secret leaked through a child process");
  assert.match(r.stdout, /No such file or directory/);
});

Deno.test("escape: no network without net, and /tmp is private", async () => {
  Deno.writeTextFileSync("/tmp/prep-deno-host-tmp-marker", "x");
  try {
    const r = await tryHook(
      `export async function prolog() {
        const ls = await new Deno.Command("/usr/bin/ls", { args: ["-a", "/tmp"] }).output();
        const tmp = new TextDecoder().decode(ls.stdout).includes("prep-deno-host-tmp-marker") ? "VISIBLE" : "hidden";
        const ifs = Deno.networkInterfaces().map((i) => i.name);
        console.log(JSON.stringify({ tmp, ifs }));
      }`,
      { policy: { prolog: { run: ["/usr/bin/ls"], sys: true } } },
    );
    assert.equal(tryStatus(r), 0, r.stderr);
    const got = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("{"))!);
    assert.equal(got.tmp, "hidden");
    assert.deepEqual(got.ifs.filter((n: string) => n !== "lo"), []);
  } finally {
    Deno.removeSync("/tmp/prep-deno-host-tmp-marker");
  }
});

Deno.test("escape: the node's processes (processes: host) do not open the host's files through /proc", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/hook.ts`,
      `export async function prolog() {
        for (const p of ["/proc/1/root${SECRET_DIR}/secret.txt", "/proc/1/cwd", "/proc/1/environ"]) {
          const o = await new Deno.Command("/usr/bin/cat", { args: [p] }).output();
          console.log(p, o.code, new TextDecoder().decode(o.stdout));
        }
      }`,
    );
    Deno.writeTextFileSync(
      `${dir}/deno.json`,
      JSON.stringify({
        permissions: { prolog: { run: ["/usr/bin/cat"] } },
        // The widest capabilities a policy may keep for files and processes.
        sandbox: {
          prolog: {
            processes: "host",
            capabilities: ["CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER"],
          },
        },
      }),
    );
    const { prepDeno } = await import("../helpers.ts");
    const r = await prepDeno(["try", `${dir}/hook.ts`]);
    assert.equal(tryStatus(r), 0, r.stderr);
    assert.ok(!r.stdout.includes(SECRET), "the secret leaked through /proc/1/root");
    assert.match(r.stdout, /\/proc\/1\/root\S+ 1 /);
    assert.match(r.stdout, /\/proc\/1\/environ 1 /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("escape: with the node's processes, no process's /proc/PID/root opens the host (bwrap's own waiting process included)", async () => {
  // bwrap's waiting process is root with no capabilities in the host's
  // mount namespace: a hook of the same user and group could walk its root.
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
  const proof = `/var/tmp/prep-deno-escape-proof-${crypto.randomUUID().slice(0, 8)}`;
  try {
    Deno.writeTextFileSync(
      `${dir}/hook.ts`,
      `export async function prolog() {
        let pids = 0;
        const reached = [];
        for (const e of Deno.readDirSync("/proc")) {
          if (!/^\\d+$/.test(e.name)) continue;
          pids++;
          const root = "/proc/" + e.name + "/root";
          try { reached.push(e.name + " read " + Deno.readTextFileSync(root + "${SECRET_DIR}/secret.txt")); } catch { /* refused */ }
          try { Deno.writeTextFileSync(root + "${proof}", "x"); reached.push(e.name + " wrote"); } catch { /* refused */ }
        }
        console.log("pids", pids, "reached", JSON.stringify(reached));
      }`,
    );
    Deno.writeTextFileSync(
      `${dir}/deno.json`,
      JSON.stringify({
        // "all": bounded by the kernel view alone, which must hold.
        permissions: { prolog: { all: true } },
        sandbox: { prolog: { processes: "host", capabilities: ["CAP_KILL", "CAP_SETUID"] } },
      }),
    );
    const { prepDeno } = await import("../helpers.ts");
    const r = await prepDeno(["try", `${dir}/hook.ts`]);
    assert.equal(tryStatus(r), 0, r.stderr);
    assert.match(r.stdout, /pids \d+ reached \[\]/, r.stdout);
    assert.ok(!r.stdout.includes(SECRET), "the secret leaked through /proc/PID/root");
    assert.throws(() => Deno.statSync(proof), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(dir, { recursive: true });
    try {
      Deno.removeSync(proof);
    } catch { /* never written */ }
  }
});

Deno.test("escape: a hook with the node's processes does not reach another such hook's wider view", async () => {
  const { prepDeno } = await import("../helpers.ts");
  const wide = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
  const narrow = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
  const done = `${SECRET_DIR}/done-${crypto.randomUUID().slice(0, 8)}`;
  try {
    // The wide hook sees the secret's folder and waits while the other looks.
    Deno.writeTextFileSync(
      `${wide}/hook.ts`,
      `export async function prolog() {
        for (let i = 0; i < 100; i++) {
          try { Deno.statSync("${done}"); return; } catch { await new Promise((r) => setTimeout(r, 100)); }
        }
      }`,
    );
    Deno.writeTextFileSync(
      `${wide}/deno.json`,
      JSON.stringify({
        permissions: { prolog: { read: [SECRET_DIR] } },
        sandbox: { prolog: { processes: "host", read: [SECRET_DIR] } },
      }),
    );
    Deno.writeTextFileSync(
      `${narrow}/hook.ts`,
      `export async function prolog() {
        await new Promise((r) => setTimeout(r, 1000));
        const reached = [];
        for (const e of Deno.readDirSync("/proc")) {
          if (!/^\\d+$/.test(e.name)) continue;
          try { reached.push(Deno.readTextFileSync("/proc/" + e.name + "/root${SECRET_DIR}/secret.txt")); } catch { /* refused */ }
        }
        console.log("reached", JSON.stringify(reached));
      }`,
    );
    Deno.writeTextFileSync(
      `${narrow}/deno.json`,
      JSON.stringify({
        permissions: { prolog: { all: true } },
        sandbox: { prolog: { processes: "host" } },
      }),
    );
    const waiting = prepDeno(["try", `${wide}/hook.ts`]);
    const r = await prepDeno(["try", `${narrow}/hook.ts`]);
    Deno.writeTextFileSync(done, "");
    const w = await waiting;
    assert.equal(tryStatus(w), 0, w.stderr);
    assert.equal(tryStatus(r), 0, r.stderr);
    assert.match(r.stdout, /reached \[\]/);
    assert.ok(!r.stdout.includes(SECRET), "the secret leaked through the other hook's root");
  } finally {
    for (const d of [wide, narrow]) Deno.removeSync(d, { recursive: true });
    try {
      Deno.removeSync(done);
    } catch { /* not made */ }
  }
});

Deno.test("escape: the host's /proc is never a grant (its PID folders open the host); one sysctl named under write is", async () => {
  const { prepDeno } = await import("../helpers.ts");
  const sysctl = "/proc/sys/vm/overcommit_memory";
  for (
    const [grant, ok] of [
      [{ read: ["/proc"] }, false],
      [{ write: ["/proc/self"] }, false],
      [{ read: ["/proc/1"] }, false],
      [{ write: [sysctl] }, true],
    ] as const
  ) {
    const dir = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
    try {
      Deno.writeTextFileSync(
        `${dir}/hook.ts`,
        `export async function prolog() {
          const o = await new Deno.Command("/bin/sh", { args: ["-c", "cat ${sysctl} > /tmp/v && cat /tmp/v > ${sysctl} && echo WROTE"] }).output();
          console.log(new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr));
        }`,
      );
      Deno.writeTextFileSync(
        `${dir}/deno.json`,
        JSON.stringify({
          permissions: { prolog: { run: ["/bin/sh"] } },
          sandbox: { prolog: grant },
        }),
      );
      const r = await prepDeno(["try", `${dir}/hook.ts`]);
      if (ok) {
        assert.equal(tryStatus(r), 0, r.stderr);
        assert.match(r.stdout, /WROTE/);
      } else {
        assert.equal(tryStatus(r), 126, r.stderr);
        assert.match(
          r.stdout + r.stderr,
          /is refused under "(read|write)": the host's \/proc shows/,
        );
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("escape: CAP_SETGID is refused with the node's processes (it would take root's group back)", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
  try {
    Deno.writeTextFileSync(`${dir}/hook.ts`, `export function prolog() {}`);
    Deno.writeTextFileSync(
      `${dir}/deno.json`,
      JSON.stringify({ sandbox: { prolog: { processes: "host", capabilities: ["CAP_SETGID"] } } }),
    );
    const { prepDeno } = await import("../helpers.ts");
    const r = await prepDeno(["try", `${dir}/hook.ts`]);
    assert.equal(tryStatus(r), 126, r.stderr);
    assert.match(r.stderr, /"CAP_SETGID" cannot be kept with "processes": "host"/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("escape: no hook writes the host's sysctls (kernel.core_pattern runs a command as root outside every namespace)", async () => {
  // Each write puts back the value it read: harmless if it goes through.
  const writes = ["kernel/core_pattern", "vm/overcommit_memory", "net/ipv4/ip_forward"]
    .map((k) => `cat /proc/sys/${k} > /tmp/v && cat /tmp/v > /proc/sys/${k} && echo WROTE ${k}`)
    .join("; ");
  const { prepDeno } = await import("../helpers.ts");
  for (
    const sandbox of [
      undefined,
      { prolog: { processes: "host", capabilities: ["CAP_DAC_OVERRIDE"] } },
      { prolog: { write: true } },
    ]
  ) {
    const dir = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
    try {
      Deno.writeTextFileSync(
        `${dir}/hook.ts`,
        `export async function prolog() {
          const o = await new Deno.Command("/bin/sh", { args: ["-c", ${
          JSON.stringify(writes)
        }] }).output();
          console.log(new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr));
        }`,
      );
      Deno.writeTextFileSync(
        `${dir}/deno.json`,
        JSON.stringify({ permissions: { prolog: { run: ["/bin/sh"], net: true } }, sandbox }),
      );
      const r = await prepDeno(["try", `${dir}/hook.ts`]);
      assert.equal(tryStatus(r), 0, r.stderr);
      assert.doesNotMatch(r.stdout, /WROTE/, JSON.stringify(sandbox));
      assert.match(r.stdout, /core_pattern: Read-only file system/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});

Deno.test("escape: a sandbox set cannot keep the capabilities that undo the sandbox", async () => {
  for (
    const cap of [
      "CAP_SYS_ADMIN",
      "CAP_SYS_PTRACE",
      "CAP_DAC_READ_SEARCH",
      "CAP_MKNOD",
      "CAP_NET_ADMIN",
      "CAP_SYS_MODULE",
    ]
  ) {
    const dir = Deno.makeTempDirSync({ prefix: "prep-deno-escape-" });
    try {
      Deno.writeTextFileSync(`${dir}/hook.ts`, `export function prolog() {}`);
      Deno.writeTextFileSync(
        `${dir}/deno.json`,
        JSON.stringify({ sandbox: { prolog: { capabilities: [cap] } } }),
      );
      const { hookOutput, prepDenoRaw } = await import("../helpers.ts");
      const ran = await prepDenoRaw(["try", `${dir}/hook.ts`]);
      const r = { ...ran, stderr: hookOutput(ran) + ran.stderr };
      assert.equal(tryStatus(r), 126, cap);
      assert.match(r.stderr, new RegExp(`unknown or refused capability "${cap}"`));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  }
});
