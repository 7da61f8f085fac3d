// SPDX-License-Identifier: GPL-2.0-or-later
// Each permission kind, granted and denied, through the real sandbox.
import assert from "node:assert/strict";
import { tryHook, tryStatus } from "../helpers.ts";

// Outside /tmp (a hook's /tmp is its own) and this run's own.
const OUTSIDE = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "prep-deno-permtest-" });
Deno.chmodSync(OUTSIDE, 0o755);
globalThis.addEventListener("unload", () => Deno.removeSync(OUTSIDE, { recursive: true }));
Deno.writeTextFileSync(`${OUTSIDE}/data.txt`, "granted data");

/** A hook that does `body` and prints "did it" when it succeeded. */
const hook = (body: string) => `export async function prolog() { ${body}; console.log("did it"); }`;

interface Case {
  kind: string;
  body: string;
  grant: unknown;
  resource: RegExp;
}

const CASES: Case[] = [
  {
    kind: "read",
    body: `await Deno.readTextFile("${OUTSIDE}/data.txt")`,
    grant: [OUTSIDE],
    resource: /data\.txt/,
  },
  {
    kind: "write",
    body: `await Deno.writeTextFile("${OUTSIDE}/out.txt", "x")`,
    grant: [OUTSIDE],
    resource: /out\.txt/,
  },
  {
    kind: "env",
    body: `if (Deno.env.get("SLURM_JOB_ID") !== "1") throw new Error("wrong")`,
    grant: ["SLURM_JOB_ID"],
    resource: /SLURM_JOB_ID/,
  },
  {
    kind: "run",
    body:
      `const o = await new Deno.Command("/usr/bin/true").output(); if (!o.success) throw new Error("true failed")`,
    grant: ["/usr/bin/true"],
    resource: /true/,
  },
  { kind: "sys", body: `Deno.hostname()`, grant: ["hostname"], resource: /hostname/ },
  {
    kind: "ffi",
    body: `Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } }).close()`,
    grant: true,
    resource: /libc/,
  },
];

for (const c of CASES) {
  Deno.test(`permission ${c.kind}: granted by the hook's set, it works`, async () => {
    const r = await tryHook(hook(c.body), { policy: { prolog: { [c.kind]: c.grant } } });
    assert.equal(tryStatus(r), 0, r.stderr);
    assert.match(r.stdout, /did it/);
  });
  Deno.test(`permission ${c.kind}: not granted, it fails naming the permission, the resource and the set`, async () => {
    const r = await tryHook(hook(c.body), { policy: { prolog: {} } });
    assert.equal(tryStatus(r), 1);
    assert.doesNotMatch(r.stdout, /did it/);
    assert.match(r.stderr, new RegExp(`permission denied: ${c.kind} access to `));
    assert.match(r.stderr, c.resource);
    assert.match(r.stderr, /add it to the "\w+" list of permission set "prolog" in \S+deno\.json/);
  });
}

Deno.test("permission net and import: granted they reach a local server, denied they fail", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/mod.js"
        ? new Response("export const v = 41;", {
          headers: { "content-type": "application/javascript" },
        })
        : new Response("pong"),
  );
  const host = `127.0.0.1:${server.addr.port}`;
  try {
    const fetchHook = hook(
      `const t = await (await fetch("http://${host}/")).text(); if (t !== "pong") throw new Error(t)`,
    );
    assert.equal(tryStatus(await tryHook(fetchHook, { policy: { default: { net: [host] } } })), 0);
    const deniedNet = await tryHook(fetchHook, { policy: { default: {} } });
    assert.equal(tryStatus(deniedNet), 1);
    assert.match(
      deniedNet.stderr,
      /permission denied: net access to .*127\.0\.0\.1.*permission set "default"/,
    );

    const importHook = hook(
      `const m = await import("http://${host}/mod.js"); if (m.v !== 41) throw new Error("bad")`,
    );
    assert.equal(
      tryStatus(await tryHook(importHook, { policy: { default: { import: [host] } } })),
      0,
    );
    const deniedImport = await tryHook(importHook, { policy: { default: {} } });
    assert.equal(tryStatus(deniedImport), 1);
    assert.match(deniedImport.stderr, /import access to .*127\.0\.0\.1/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("policy lookup: named set, then default, then nothing at all", async () => {
  const body = hook(`await Deno.readTextFile("${OUTSIDE}/data.txt")`);
  const named = await tryHook(body, { policy: { prolog: { read: [OUTSIDE] }, default: {} } });
  assert.equal(tryStatus(named), 0);
  const byDefault = await tryHook(body, { policy: { epilog: {}, default: { read: [OUTSIDE] } } });
  assert.equal(tryStatus(byDefault), 0);
  const none = await tryHook(body, { policy: { epilog: { read: [OUTSIDE] } } });
  assert.equal(tryStatus(none), 1);
  const noConfig = await tryHook(body);
  assert.equal(tryStatus(noConfig), 1);
  assert.match(noConfig.stderr, /in a deno\.json next to the module/);
});

Deno.test("policy errors stop the hook with the file and the fix, status 126", async () => {
  const r = await tryHook(hook(""), { policy: { default: { bogus: true } } });
  assert.equal(tryStatus(r), 126);
  assert.match(
    r.stderr,
    /deno\.json: "permissions\.default\.bogus" is unknown; use all, read, write/,
  );
});

Deno.test("the hook always gets its job context, even with no permissions", async () => {
  const r = await tryHook(
    `export const prolog = (job) => { console.log(JSON.stringify([job.id, job.user, job.env.SLURM_JOB_ID])); };`,
    {
      args: ["--job-id", "77"],
    },
  );
  assert.equal(tryStatus(r), 0);
  assert.match(r.stdout, /\[77,"root","77"\]/);
});
