// SPDX-License-Identifier: GPL-2.0-or-later
// Reads of a file outside the policy, through every route we know. Deno
// gates some; imports it does not gate, so the kernel view must hide the file.
import assert from "node:assert/strict";
import { tryHook, tryStatus } from "../helpers.ts";

const SECRET_DIR = "/var/tmp/prep-deno-secret";
const SECRET = "s3cr3t-" + crypto.randomUUID();
Deno.mkdirSync(SECRET_DIR, { recursive: true });
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
  return `export async function prolog() {\n  const got = {};\n${
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
