// SPDX-License-Identifier: GPL-2.0-or-later
// The recipes of examples/ through `try` (no cluster): what they do, and
// what they refuse to do.
import assert from "node:assert/strict";
import { join } from "node:path";
import { TOP } from "../helpers.ts";
import { recipeCopy, tryRun } from "./helpers.ts";

const EXAMPLES = join(TOP, "examples");

function status(r: { stdout: string }): number {
  return Number(/^exit status: (\d+)/m.exec(r.stdout)?.[1] ?? -1);
}

Deno.test("recipe job-folders through try: made for the user, idempotent, removed; a planted symlink is refused", async () => {
  Deno.mkdirSync("/scratch", { recursive: true });
  const copy = recipeCopy("job-folders");
  const hook = join(copy, "hook.ts");
  const id = String(900000 + Math.floor(Math.random() * 99999));
  const args = ["--user", "nobody", "--job-id", id];
  try {
    for (let i = 0; i < 2; i++) {
      const r = await tryRun([hook, ...args]);
      assert.equal(status(r), 0, r.stdout + r.stderr);
    }
    for (const root of ["/scratch", "/dev/shm", "/tmp"]) {
      const info = Deno.statSync(`${root}/jobs/nobody/${id}`);
      assert.deepEqual([info.uid, info.mode! & 0o777], [65534, 0o700], root);
    }
    const e = await tryRun([hook, "--context", "epilog_slurmd", ...args]);
    assert.equal(status(e), 0, e.stdout + e.stderr);
    for (const root of ["/scratch", "/dev/shm", "/tmp"]) {
      assert.throws(() => Deno.lstatSync(`${root}/jobs/nobody/${id}`), Deno.errors.NotFound);
    }
    // The job user plants a symlink where the next job's folder goes.
    const planted = `/tmp/jobs/nobody/${id}`;
    new Deno.Command("/usr/bin/setpriv", {
      args: [
        "--reuid",
        "65534",
        "--regid",
        "65534",
        "--clear-groups",
        "/usr/bin/ln",
        "-s",
        "/etc",
        planted,
      ],
    }).outputSync();
    assert.ok(Deno.lstatSync(planted).isSymlink);
    const p = await tryRun([hook, ...args]);
    assert.equal(status(p), 1);
    assert.match(
      p.stderr,
      new RegExp(`${planted}: exists and is a symlink; refusing to follow it`),
    );
    assert.equal(Deno.statSync("/etc").uid, 0);
  } finally {
    for (const root of ["/scratch", "/dev/shm", "/tmp"]) {
      try {
        Deno.removeSync(`${root}/jobs/nobody/${id}`, { recursive: true });
      } catch { /* gone */ }
    }
    Deno.removeSync(copy, { recursive: true });
  }
});

Deno.test("recipe job-folders: without CAP_CHOWN the folders would be root's; the policy's grant is needed", async () => {
  // The same recipe with its capabilities removed, in a copy.
  const dir = recipeCopy("job-folders", (policy) => {
    policy.sandbox.prolog.capabilities = ["CAP_DAC_OVERRIDE"];
  });
  try {
    const id = String(800000 + Math.floor(Math.random() * 99999));
    const r = await tryRun([join(dir, "hook.ts"), "--user", "nobody", "--job-id", id]);
    assert.equal(status(r), 1);
    assert.match(r.stderr, /Operation not permitted/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("recipe rest-call: PrologSlurmctld posts the job; a 403 fails the job's start", async () => {
  const seen: unknown[] = [];
  let answer = 200;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 17019, onListen() {} }, async (req) => {
    seen.push(await req.json());
    return new Response(answer === 200 ? "ok" : "over quota", { status: answer });
  });
  try {
    const hook = join(EXAMPLES, "rest-call", "hook.ts");
    const args = ["--context", "prolog_slurmctld", "--job-id", "77"];
    const ok = await tryRun([hook, ...args]);
    assert.equal(status(ok), 0, ok.stdout + ok.stderr);
    assert.deepEqual((seen[0] as { id: number }).id, 77);
    answer = 403;
    const refused = await tryRun([hook, ...args]);
    assert.equal(status(refused), 1);
    assert.match(refused.stderr, /job 77 refused by http:\/\/127\.0\.0\.1:17019\/jobs: over quota/);
  } finally {
    await server.shutdown();
  }
});
