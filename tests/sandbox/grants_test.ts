// SPDX-License-Identifier: GPL-2.0-or-later
// Grants that fit real nodes, through `try`: a write grant the runner makes
// when missing ("create"), and a grant in a folder a service user owns,
// judged as the folder is and bound by descriptor so that user cannot swap
// it for a link (a racing swapper as that user).
import assert from "node:assert/strict";
import { join } from "node:path";
import { grantDir, tryPolicy } from "./helpers.ts";

/** A service user's uid: slurm's when the host has one, else a number of its own. */
const SERVICE = (() => {
  const out = new Deno.Command("getent", { args: ["passwd", "slurm"], stdout: "piped" })
    .outputSync();
  return Number(new TextDecoder().decode(out.stdout).split(":")[2]) || 64999;
})();

function writer(path: string, text = "x\n"): string {
  return `export function prolog() { Deno.writeTextFileSync(${JSON.stringify(path)}, ${
    JSON.stringify(text)
  }, { append: true }); }`;
}

Deno.test('grants: "create" makes a missing write grant with its mode and owner, only in a folder root alone owns', async () => {
  const base = grantDir("create");
  const dir = join(base, "enroot");
  const log = join(base, "gpu.log");
  try {
    const policy = {
      permissions: { prolog: { write: [dir, log] } },
      sandbox: {
        prolog: {
          write: [dir, log],
          // The folder is nobody's: root writes into it as a shell prolog does.
          capabilities: ["CAP_DAC_OVERRIDE"],
          create: {
            [dir]: { mode: "0750", owner: "nobody" },
            [log]: { type: "file", mode: "0640", owner: String(SERVICE), group: "0" },
          },
        },
      },
    };
    const r = await tryPolicy(writer(join(dir, "f")), policy);
    assert.equal(r.status, 0, r.stderr);
    const d = Deno.statSync(dir);
    assert.deepEqual([d.uid, d.mode! & 0o7777, d.isDirectory], [65534, 0o750, true]);
    const f = Deno.statSync(log);
    assert.deepEqual([f.uid, f.gid, f.mode! & 0o7777, f.isFile], [SERVICE, 0, 0o640, true]);
    assert.equal(Deno.readTextFileSync(join(dir, "f")), "x\n");
    // Without "create", a missing grant's message names the key.
    Deno.removeSync(dir, { recursive: true });
    const without = await tryPolicy(writer(join(dir, "f")), {
      permissions: policy.permissions,
      sandbox: { prolog: { write: [dir] } },
    });
    assert.equal(without.status, 126);
    assert.match(
      without.stderr,
      /does not exist on this host; create it first \(a "write" grant may instead be listed under "create"/,
    );
    // Not in a folder others own or can write, and not without a write grant.
    const open = join(base, "open");
    Deno.mkdirSync(open);
    Deno.chownSync(open, SERVICE, SERVICE);
    const inOpen = await tryPolicy(writer(join(open, "x")), {
      permissions: { prolog: { write: [join(open, "x")] } },
      sandbox: { prolog: { write: [join(open, "x")], create: { [join(open, "x")]: {} } } },
    });
    assert.equal(inOpen.status, 126);
    assert.match(
      inOpen.stderr,
      new RegExp(
        `"create" of ${open}/x refused: its folder ${open} is owned by uid ${SERVICE}, not root`,
      ),
    );
    const ungranted = await tryPolicy("export function prolog() {}", {
      sandbox: { prolog: { create: { [join(base, "y")]: {} } } },
    });
    assert.equal(ungranted.status, 126);
    assert.match(
      ungranted.stderr,
      /"create" of .*\/y refused: no write grant covers it; add it to "write" too/,
    );
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("grants: a file in a folder a service user owns is judged as the folder is, with the same reason, and bound by descriptor against a racing swapper", async () => {
  const base = grantDir("service");
  const folder = join(base, "slurm");
  const log = join(folder, "gpu.log");
  const target = join(base, "root-only");
  Deno.mkdirSync(folder, { mode: 0o755 });
  Deno.chownSync(folder, SERVICE, SERVICE);
  Deno.writeTextFileSync(log, "");
  Deno.chownSync(log, SERVICE, SERVICE);
  Deno.writeTextFileSync(target, "root's\n");
  // Root writes into the service user's folder with CAP_DAC_OVERRIDE, as a shell prolog does.
  const policy = (path: string) => ({
    permissions: { prolog: { write: [path] } },
    sandbox: { prolog: { write: [path], capabilities: ["CAP_DAC_OVERRIDE"] } },
  });
  let swapper: Deno.ChildProcess | undefined;
  try {
    const folderRun = await tryPolicy(writer(join(folder, "a.log")), policy(folder));
    assert.equal(folderRun.status, 0, folderRun.stderr);
    const fileRun = await tryPolicy(writer(log), policy(log));
    assert.equal(fileRun.status, 0, fileRun.stderr);
    assert.equal(Deno.readTextFileSync(log), "x\n");
    // The service user swaps the file for a link to a root file, as fast as it can.
    swapper = new Deno.Command("/usr/bin/setpriv", {
      args: [
        "--reuid",
        String(SERVICE),
        "--regid",
        String(SERVICE),
        "--clear-groups",
        "/bin/sh",
        "-c",
        `while :; do ln -sf ${target} ${log}.l && mv -f ${log}.l ${log}; : > ${log}.f && mv -f ${log}.f ${log}; done`,
      ],
      stderr: "null",
    }).spawn();
    let refused = 0;
    for (let i = 0; i < 25; i++) {
      const r = await tryPolicy(writer(log, "swapped\n"), policy(log));
      if (r.status !== 0) {
        refused++;
        assert.match(
          r.stderr,
          // Each way a swap is met: at the plan, at the launcher's open, or
          // at bwrap's mount of the opened file (bwrap checks that what it
          // mounts is the file the descriptor holds).
          /is refused: it goes through the symlink|no longer a file or folder in its folder|does not exist on this host|is refused: a non-root user could redirect|^bwrap: (Can't (find source path|get type of source)|Race condition binding dirfd)/m,
          r.stderr,
        );
      }
    }
    assert.equal(Deno.readTextFileSync(target), "root's\n", `${refused} runs refused`);
  } finally {
    try {
      swapper?.kill("SIGKILL");
      await swapper?.status;
    } catch { /* gone */ }
    Deno.removeSync(base, { recursive: true });
  }
  // A folder others could redirect: the folder and a file in it get the same reason.
  const open = grantDir("open");
  const inner = join(open, "sub");
  try {
    Deno.chmodSync(open, 0o777);
    Deno.mkdirSync(inner);
    Deno.writeTextFileSync(join(inner, "f"), "");
    const a = await tryPolicy("export function prolog() {}", policy(inner));
    const b = await tryPolicy("export function prolog() {}", policy(join(inner, "f")));
    const reason = (s: string) => /could redirect it \((.*?)\)/.exec(s)?.[1];
    assert.equal(a.status, 126, a.stderr);
    assert.equal(b.status, 126, b.stderr);
    assert.ok(reason(a.stderr), a.stderr);
    assert.equal(reason(a.stderr), reason(b.stderr));
  } finally {
    Deno.removeSync(open, { recursive: true });
  }
});
