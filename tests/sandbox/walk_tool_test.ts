// SPDX-License-Identifier: GPL-2.0-or-later
// The helpers' walk tool inside a hook's sandbox: there without a grant
// when it can reach no write Deno's own wall refuses, refused (with the
// fix) when the view is wider, never more than the hook's own view; and
// the node helpers answering for the node from inside.
import assert from "node:assert/strict";
import { grantDir, HELPERS, tryPolicy } from "./helpers.ts";

const NOBODY = 65534;

Deno.test("walk tool: allowed by itself when Deno's write covers the view; the view still bounds it", async () => {
  const g = grantDir("walk");
  try {
    const code = `import { makeJobFolder, removeUserFiles, WALK_TOOL, runCommand } from ${
      JSON.stringify(HELPERS)
    };
      export async function prolog() {
        await makeJobFolder("${g}//jobs/./nobody/42/", { uid: ${NOBODY}, gid: ${NOBODY}, recursive: true });
        await removeUserFiles("${g}/jobs", 4242);
        const r = await runCommand([WALK_TOOL, "rmtree", "/usr/bin/true"], { allowFailure: true });
        console.log("outside the view:", r.stderr.trim());
        try { new Deno.Command("/usr/bin/true").outputSync(); } catch (e) { console.log("other programs:", (e as Error).constructor.name); }
      }`;
    const r = await tryPolicy(code, {
      permissions: { prolog: { write: [g] } },
      sandbox: { prolog: { capabilities: ["CAP_CHOWN", "CAP_DAC_OVERRIDE"] } },
    });
    assert.equal(r.status, 0, r.stderr);
    const info = Deno.statSync(`${g}/jobs/nobody/42`);
    assert.deepEqual([info.uid, info.mode! & 0o777], [NOBODY, 0o700]);
    assert.equal(Deno.statSync(`${g}/jobs`).uid, 0);
    assert.match(
      r.stderr,
      /outside the view: prep-deno-walk: \/usr\/bin\/true: cannot remove: Read-only file system/,
    );
    assert.match(r.stderr, /other programs: NotCapable/);
    assert.ok(Deno.statSync("/usr/bin/true").isFile);
  } finally {
    Deno.removeSync(g, { recursive: true });
  }
});

Deno.test("walk tool: a view wider than Deno's write needs it named under run, and the error says so", async () => {
  const g = grantDir("walkwide");
  Deno.mkdirSync(`${g}/jobs`);
  try {
    const code = `import { makeJobFolder } from ${JSON.stringify(HELPERS)};
      export async function prolog() { await makeJobFolder("${g}/jobs/7", { uid: 0, gid: 0 }); }`;
    const wide = { prolog: { write: [g] } };
    const refused = await tryPolicy(code, {
      permissions: { prolog: { write: [`${g}/jobs`] } },
      sandbox: wide,
    });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /the helpers' walk tool .*prep-deno-walk is not allowed to this hook: the runner allows it when the permission set's "write" covers every "write" folder of the sandbox set \(or list it under "run"\)/,
    );
    const named = await tryPolicy(code, {
      permissions: { prolog: { write: [`${g}/jobs`], run: ["prep-deno-walk"] } },
      sandbox: wide,
    });
    assert.equal(named.status, 0, named.stderr);
    assert.ok(Deno.statSync(`${g}/jobs/7`).isDirectory);
  } finally {
    Deno.removeSync(g, { recursive: true });
  }
});

Deno.test("isMountPoint in the sandbox answers for the node, where stat's device test says every grant is mounted", async () => {
  const g = grantDir("mnt");
  Deno.mkdirSync(`${g}/disk`);
  Deno.mkdirSync(`${g}/plain`);
  const mount = new Deno.Command("/usr/bin/mount", { args: ["-t", "tmpfs", "none", `${g}/disk`] })
    .outputSync();
  try {
    assert.ok(mount.success);
    const code = `import { isMountPoint, runCommand } from ${JSON.stringify(HELPERS)};
      export async function prolog() {
        const dev = async (p) => (await runCommand(["/usr/bin/stat", "-c", "%d", p, p + "/.."])).stdout.split("\\n");
        const [a, b] = await dev("${g}/plain");
        console.log("stat says mounted:", a !== b);
        console.log("disk:", await isMountPoint("${g}/disk"), "plain:", await isMountPoint("${g}/plain/"));
      }`;
    const r = await tryPolicy(code, {
      permissions: { prolog: { read: [`${g}/disk`, `${g}/plain`], run: ["/usr/bin/stat"] } },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /stat says mounted: true/);
    assert.match(r.stderr, /disk: true plain: false/);
  } finally {
    new Deno.Command("/usr/bin/umount", { args: [`${g}/disk`] }).outputSync();
    Deno.removeSync(g, { recursive: true });
  }
});

Deno.test("dropCaches in the sandbox: with its one file granted; without, the error names it", async () => {
  const code = `import { dropCaches } from ${JSON.stringify(HELPERS)};
    export async function prolog() { await dropCaches(); }`;
  const file = "/proc/sys/vm/drop_caches";
  const ok = await tryPolicy(code, { permissions: { prolog: { write: [file] } } });
  assert.equal(ok.status, 0, ok.stderr);
  const no = await tryPolicy(code, { permissions: { prolog: {} } });
  assert.equal(no.status, 1);
  assert.match(
    no.stderr,
    /\/proc\/sys\/vm\/drop_caches: cannot open for writing: .*\(grant it under write\)/,
  );
});

Deno.test("appendToJobOutput in the sandbox: as the job user, with CAP_SETUID and CAP_SETGID", async () => {
  const g = grantDir("out");
  try {
    Deno.writeTextFileSync(`${g}/slurm-5.out`, "job\n");
    Deno.chownSync(`${g}/slurm-5.out`, NOBODY, NOBODY);
    Deno.writeTextFileSync(`${g}/root.out`, "");
    const code = `import { appendToJobOutput } from ${JSON.stringify(HELPERS)};
      export async function epilog(job) { await appendToJobOutput(job, "scratch: 1 GiB\\n"); }`;
    const policy = (caps: string[]) => ({
      permissions: { epilog: { write: [g] } },
      sandbox: { epilog: { capabilities: caps } },
    });
    const args = (out: string) => ({
      args: [
        "--context",
        "epilog_slurmd",
        "--user",
        "nobody",
        "--job-id",
        "5",
        "--env",
        `SLURM_JOB_STDOUT=${out}`,
      ],
    });
    const ok = await tryPolicy(
      code,
      policy(["CAP_SETUID", "CAP_SETGID"]),
      args(`${g}/slurm-%j.out`),
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(Deno.readTextFileSync(`${g}/slurm-5.out`), "job\nscratch: 1 GiB\n");
    const root = await tryPolicy(code, policy(["CAP_SETUID", "CAP_SETGID"]), args(`${g}/root.out`));
    assert.equal(root.status, 1);
    assert.match(root.stderr, /root\.out: cannot open as uid 65534: Permission denied/);
    assert.equal(Deno.readTextFileSync(`${g}/root.out`), "");
    // The view's own folders above the grant are walked for her; the grant itself is not.
    Deno.chmodSync(g, 0o700);
    const closed = await tryPolicy(
      code,
      policy(["CAP_SETUID", "CAP_SETGID"]),
      args(`${g}/slurm-%j.out`),
    );
    assert.equal(closed.status, 1);
    assert.match(closed.stderr, /slurm-5\.out: cannot open as uid 65534: Permission denied/);
    Deno.chmodSync(g, 0o755);
    const noCaps = await tryPolicy(code, policy([]), args(`${g}/slurm-%j.out`));
    assert.equal(noCaps.status, 1);
    assert.match(
      noCaps.stderr,
      /cannot become uid 65534 gid 65534: Operation not permitted \(the hook needs CAP_SETUID and CAP_SETGID\)/,
    );
  } finally {
    Deno.removeSync(g, { recursive: true });
  }
});
