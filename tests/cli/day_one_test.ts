// SPDX-License-Identifier: GPL-2.0-or-later
// Day one for an admin: `init` makes a folder where `deno test`, `try` and
// `check` work at once; `try` reports the hook's output in order and
// refuses a user or job id that is not one; `--version`.
import assert from "node:assert/strict";
import { join } from "node:path";
import { hookOutput, prepDeno, prepDenoRaw, TOP, tryStatus, writeFiles } from "../helpers.ts";

function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "prep-deno-dayone-" });
}

async function denoIn(dir: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: dir,
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("init: a hooks folder where deno test, try and check work out of the box", async () => {
  const dir = join(tempDir(), "hooks");
  try {
    const r = await prepDeno(["init", dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["deno.json", "site.ts", "site_test.ts"],
    );
    const policy = Deno.readTextFileSync(join(dir, "deno.json"));
    // Each key of the kernel view is explained where it is set.
    for (const key of ["read", "write", "devices", "capabilities", "processes", "slurm"]) {
      assert.match(
        policy,
        new RegExp(`// "${key}": [^\\n]*  +[A-Za-z']+ [a-z]`),
        `sandbox key ${key}`,
      );
    }
    assert.match(policy, new RegExp(`"prep-deno": "file://${TOP}/src/mod\\.ts"`));
    assert.match(policy, new RegExp(`"prep-deno/testing": "file://${TOP}/src/testing\\.ts"`));

    // With the runner's helpers (src/helpers/), the Epilog uses one at run time.
    let helpers = true;
    try {
      Deno.statSync(join(TOP, "src/helpers/mod.ts"));
    } catch {
      helpers = false;
    }
    // The next steps are the complete slurm.conf lines, PrEpPlugins first.
    assert.match(
      r.stdout,
      new RegExp(
        `^ {2}PrEpPlugins=prep/deno\\n {2}Prolog=${dir}/site\\.ts\\n {2}Epilog=${dir}/site\\.ts$`,
        "m",
      ),
    );
    // The scaffold is clean by Deno's own tools, with the folder's own config.
    for (const tool of [["fmt", "--check"], ["lint"]]) {
      const t = await denoIn(dir, tool);
      assert.equal(t.code, 0, `deno ${tool.join(" ")}: ${t.stdout}${t.stderr}`);
    }
    const test = await denoIn(dir, ["test"]);
    assert.equal(test.code, 0, test.stdout + test.stderr);
    assert.match(test.stdout, new RegExp(`ok \\| ${helpers ? 5 : 4} passed \\| 0 failed`));
    if (helpers) {
      const epilog = await prepDeno(["try", join(dir, "site.ts"), "--context", "epilog_slurmd"]);
      assert.equal(tryStatus(epilog), 0, epilog.stdout + epilog.stderr);
      assert.match(hookOutput(epilog), /^epilog: job 1 wrote its output to \/tmp\/slurm-1\.out$/m);
    }

    const tried = await prepDeno(["try", join(dir, "site.ts"), "--job-id", "5"]);
    assert.equal(tryStatus(tried), 0, tried.stdout + tried.stderr);
    assert.match(hookOutput(tried), /^prolog: job 5 of root on \S+ \(1 nodes\)$/m);
    const gpu = await prepDeno(["try", join(dir, "site.ts"), "--env", "SLURM_JOB_PARTITION=gpu"]);
    assert.equal(tryStatus(gpu), 1);
    assert.match(hookOutput(gpu), /job 1: no GPU was given/);

    const checked = await prepDeno(["check", join(dir, "site.ts")]);
    assert.equal(checked.code, 0, checked.stdout + checked.stderr);
    assert.match(checked.stdout, /^types: ok$/m);
    assert.match(checked.stdout, /^prolog +export "prolog"; permissions: set "prolog"/m);

    const again = await prepDeno(["init", dir]);
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /already has deno\.json, site\.ts, site_test\.ts; nothing was written/,
    );
  } finally {
    Deno.removeSync(join(dir, ".."), { recursive: true });
  }
});

Deno.test("try: the hook's stdout and stderr are inside the report, in the order written", async () => {
  const dir = tempDir();
  try {
    const path = writeFiles(dir, {
      "hook.ts": `export function prolog() {
          const enc = new TextEncoder();
          for (let i = 0; i < 50; i++) {
            console.log("out " + i);
            console.error("err " + i);
            Deno.stdout.writeSync(enc.encode("raw-out " + i + "\\n"));
            Deno.stderr.writeSync(enc.encode("raw-err " + i + "\\n"));
          }
          return 4;
        }`,
    });
    const r = await prepDenoRaw(["try", path]);
    assert.equal(r.code, 4);
    assert.equal(r.stderr, "", "nothing outside the report");
    const lines = [];
    for (let i = 0; i < 50; i++) lines.push(`out ${i}`, `err ${i}`, `raw-out ${i}`, `raw-err ${i}`);
    assert.equal(hookOutput(r), lines.join("\n") + "\n");
    assert.match(r.stdout, /--- end of hook output ---\nhook: prolog\nexit status: 4 /);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("try: an unknown --user and a bad --job-id are errors naming them", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--user", "no-such-user-x"],
      /--user no-such-user-x: no such user \(getent passwd no-such-user-x\)/,
    ],
    [["--user", "999999"], /--user 999999: no such user/],
    [
      ["--job-id", "1e23"],
      /--job-id takes a whole number from 1 to 4294967294, not "1e23"/,
    ],
    [["--job-id=-5"], /--job-id .* not "-5"/],
    [["--job-id", "1.5"], /--job-id .* not "1\.5"/],
    [["--job-id", "0"], /--job-id .* not "0"/],
    [["--job-id", "4294967295"], /--job-id .* not "4294967295"/],
  ];
  for (const [args, re] of cases) {
    const r = await prepDeno(["try", "/nonexistent.ts", ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stdout, /exit status/, "the hook must not run");
  }
});

/** The group name of a gid as /etc/group has it. */
function groupName(gid: number): string {
  const line = Deno.readTextFileSync("/etc/group").split("\n").find((l) =>
    l.split(":")[2] === `${gid}`
  );
  return line?.split(":")[0] ?? `${gid}`;
}

/** A user of /etc/passwd whose primary group is not named after it (nobody: nogroup on Debian). */
function userWithOtherGroup(): { user: string; uid: number; gid: number } {
  for (const l of Deno.readTextFileSync("/etc/passwd").split("\n")) {
    const [user, , uid, gid] = l.split(":");
    if (user && gid && groupName(Number(gid)) !== user) {
      return { user, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error("no such user here");
}

Deno.test("try: the slurmctld context's user and group fields agree as prep/script's do", async () => {
  const dir = tempDir();
  try {
    const path = writeFiles(dir, {
      "hook.ts": `export default (job: { env: Record<string, string> }) => {
        const e = job.env;
        console.log(JSON.stringify([e.SLURM_JOB_USER, e.SLURM_JOB_UID, e.SLURM_JOB_GID, e.SLURM_JOB_GROUP]));
      };`,
    });
    // prep/script on 22.05.8, job of root: the fixture has the pair.
    const fixture = Deno.readTextFileSync(
      join(TOP, "tests/fixtures/prep-script-22.05.8/prologctld.txt"),
    );
    const captured = ["USER", "UID", "GID", "GROUP"].map((k) =>
      new RegExp(`^SLURM_JOB_${k}=(.*)$`, "m").exec(fixture)![1]
    );
    const root = await prepDeno(["try", path, "--context", "prolog_slurmctld", "--user", "root"]);
    assert.deepEqual(JSON.parse(hookOutput(root)), captured);

    const other = userWithOtherGroup();
    for (const context of ["prolog_slurmctld", "epilog_slurmctld"]) {
      for (const user of [other.user, `${other.uid}`]) {
        const r = await prepDeno(["try", path, "--context", context, "--user", user]);
        assert.deepEqual(
          JSON.parse(hookOutput(r)),
          [other.user, `${other.uid}`, `${other.gid}`, groupName(other.gid)],
          `${context} --user ${user}`,
        );
      }
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("try and prep-deno/testing give a hook the same job", async () => {
  const dir = tempDir();
  try {
    const path = writeFiles(dir, {
      "hook.ts": `export default (job: { env: Record<string, string> }) => {
        console.log(JSON.stringify(job));
      };`,
    });
    const { fakeJob } = await import("../../src/testing.ts");
    const node = Deno.hostname();
    const u = userWithOtherGroup();
    for (const context of ["prolog_slurmd", "epilog_slurmd", "prolog_slurmctld"] as const) {
      const r = await prepDeno([
        "try",
        path,
        "--context",
        context,
        "--job-id",
        "31",
        "--user",
        u.user,
        "--env",
        "SLURM_JOB_PARTITION=gpu",
      ]);
      const viaTry = JSON.parse(hookOutput(r));
      const viaTesting = fakeJob(context, {
        id: 31,
        user: u.user,
        uid: u.uid,
        gid: u.gid,
        group: groupName(u.gid),
        node,
        env: { SLURM_JOB_PARTITION: "gpu" },
      });
      // `home` comes from /etc/passwd only where the hook may read it: this
      // test may, the hook (no grant) may not. Everything else is the job.
      const { home: _home, ...expected } = JSON.parse(JSON.stringify(viaTesting));
      assert.equal(viaTry.home, undefined);
      assert.deepEqual(viaTry, expected, context);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("check: plain output (no colours off a terminal, no stack trace) and fast path", async () => {
  const dir = tempDir();
  try {
    const path = writeFiles(dir, {
      "hook.ts":
        `export function prolog(job: { id: string }) { const n: number = job.id; return n; }\n`,
    });
    const r = await prepDeno(["check", path]);
    assert.equal(r.code, 1);
    const all = r.stdout + r.stderr;
    assert.match(all, /TS2322/);
    assert.match(all, /^types: errors \(see above\)$/m);
    assert.doesNotMatch(all, /Stack backtrace|^\s+\d+: <unknown>|Type checking failed/m);
    assert.ok(!all.includes("\x1b["), "no colour codes when stdout is not a terminal");
    assert.doesNotMatch(all, /prep-deno-check-/, "the temporary check file is not named");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("check: a .ts symlink to a secret is never quoted, imported or as the module", async () => {
  const dir = tempDir();
  const secret = "TOPSECRET-" + crypto.randomUUID();
  try {
    writeFiles(dir, {
      "secret/key.txt": `${secret} = 1;\nexport const also = "${secret}";\n`,
      "hooks/deno.json": "{}\n",
      "hooks/hook.ts":
        `import { also } from "./evil.ts";\nexport function prolog() { return also.length; }\n`,
    });
    Deno.chmodSync(join(dir, "secret/key.txt"), 0o600);
    Deno.symlinkSync(join(dir, "secret/key.txt"), join(dir, "hooks/evil.ts"));
    Deno.symlinkSync(join(dir, "secret/key.txt"), join(dir, "hooks/linked.ts"));
    Deno.mkdirSync(join(dir, "nopolicy"));
    Deno.symlinkSync(join(dir, "secret/key.txt"), join(dir, "nopolicy/linked.ts"));

    const imported = await prepDeno(["check", join(dir, "hooks/hook.ts")]);
    assert.notEqual(imported.code, 0);
    assert.ok(!(imported.stdout + imported.stderr).includes(secret), "secret quoted");
    assert.match(imported.stdout + imported.stderr, /evil\.ts/);

    for (const m of ["hooks/linked.ts", "nopolicy/linked.ts"]) {
      const r = await prepDeno(["check", join(dir, m)]);
      assert.equal(r.code, 1);
      assert.ok(!(r.stdout + r.stderr).includes(secret), `secret quoted for ${m}`);
      assert.match(
        r.stderr,
        /is a symbolic link to \S+key\.txt, outside (its own folder|the folder of its policy) .*the target is not read/,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("--version: runner, Deno, and the Slurm the plugin was built for", async () => {
  const r = await prepDeno(["--version"]);
  assert.equal(r.code, 0, r.stderr);
  const version = Deno.readTextFileSync(join(TOP, "VERSION")).trim();
  assert.match(r.stdout, new RegExp(`^prep-deno ${version.replaceAll(".", "\\.")}$`, "m"));
  assert.match(r.stdout, new RegExp(`^deno ${Deno.version.deno} `, "m"));
  // What the plugin says of itself against the Slurm installed here (the
  // one build/prep_deno.so is built for).
  const dpkg = (args: string[]) =>
    new TextDecoder().decode(
      new Deno.Command("dpkg-query", { args, stdout: "piped" }).outputSync().stdout,
    );
  const owner = dpkg(["-S", "/usr/lib/x86_64-linux-gnu/slurm-wlm/libslurmfull.so"]).split(":")[0];
  const slurm = dpkg(["-W", "-f", "${Version}", owner]).replace(/-[^-]*$/, "");
  assert.match(slurm, /^\d+\.\d+\.\d+$/);
  assert.match(
    r.stdout,
    new RegExp(`^plugin: ${TOP}/build/prep_deno\\.so, built for Slurm ${slurm}$`, "m"),
  );
});

Deno.test("check: a refused policy is said once, plainly, with status 126", async () => {
  const dir = tempDir();
  try {
    const policy = JSON.stringify({ sandbox: { epilog: { capabilities: ["CAP_SYS_ADMIN"] } } });
    const path = writeFiles(dir, {
      "hook.ts": `export function prolog() {}\n`,
      "deno.json": policy,
    });
    const r = await prepDeno(["check", path]);
    assert.equal(r.code, 126);
    assert.match(
      r.stderr,
      /^prep-deno check: \S+deno\.json: "sandbox" set "epilog", key "capabilities": unknown or refused capability "CAP_SYS_ADMIN"/,
    );
    assert.equal(r.stderr.split("\n").filter((l) => l.includes("CAP_SYS_ADMIN")).length, 1);
    assert.doesNotMatch(r.stdout + r.stderr, /Stack backtrace|^ {4}at /m);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
