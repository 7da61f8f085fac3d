// SPDX-License-Identifier: GPL-2.0-or-later
// Attacks on privileged commands by someone who did not write them, on the
// program the policy names: links a local user or the hook could swap,
// second names, spellings, code runners, a cached plan, and what the
// design does not protect against. (The hook's side:
// privileged_attacks_test.ts.)
import assert from "node:assert/strict";
import { grantDir, HELPERS, tryPolicy } from "./helpers.ts";
import { prepDeno, writeFiles } from "../helpers.ts";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { fakes } from "./fake_gpu.ts";
import {
  asUser,
  EVIL,
  raceSwap,
  tryInMountNs,
  UID,
  waitingHook,
} from "./privileged_attack_helpers.ts";

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

Deno.test("privileged attacks: a program the command looks up by name is never found in a folder others can write (a group-writable /usr/local/sbin)", async () => {
  const fake = fakes();
  const shared = grantDir("staff");
  try {
    // /usr/local/sbin as Debian's "staff" group could once write it: her group may.
    Deno.chownSync(shared, 0, Number(UID));
    Deno.chmodSync(shared, 0o775);
    const planted = asUser([
      "/bin/sh",
      "-c",
      `printf '%s' "$0" > ${shared}/gpu-helper && chmod 755 ${shared}/gpu-helper`,
      EVIL,
    ]);
    assert.ok(planted.success, new TextDecoder().decode(planted.stderr));
    Deno.writeTextFileSync(
      `${fake}/caller`,
      `#!/bin/bash\ngpu-helper 2>/dev/null || echo "no gpu-helper"\necho "PATH=$PATH"\n`,
      { mode: 0o755 },
    );
    Deno.chmodSync(`${fake}/caller`, 0o755);
    const out = await tryInMountNs(
      `mount --bind ${shared} /usr/local/sbin || exit 99`,
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() { console.log((await privileged("call", [])).stdout.trim()); }`,
      {
        sandbox: {
          prolog: {
            privileged: {
              call: { command: `${fake}/caller`, capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
            },
          },
        },
      },
    );
    assert.doesNotMatch(out, /evil ran/, out);
    assert.match(out, /no gpu-helper/, out);
    assert.match(out, /PATH=\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin/, out);
  } finally {
    for (const d of [fake, shared]) Deno.removeSync(d, { recursive: true });
  }
});
