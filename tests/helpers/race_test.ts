// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 19 class 2: a real job user (uid 61001, not root) flips a folder
// for a link to root's files, another user's or her own elsewhere, as fast
// as the kernel lets her, while root's helpers work in her folder, for
// thousands of rounds and in every spelling of the path. Nothing outside
// may be chowned, chmodded, written or removed; each call either works on
// her real folder or fails with an error naming the path.
import assert from "node:assert/strict";
import {
  appendToJobOutput,
  makeJobFolder,
  removeTree,
  removeUserFiles,
} from "../../src/helpers/mod.ts";
import { fakeJob } from "../../src/testing.ts";
import { arena, HER } from "./arena.ts";

const ROUNDS = 1000;

/** The spellings of `dir/name/rest` a helper must take alike. */
function spellings(dir: string, name: string, rest: string): string[] {
  const r = rest ? `/${rest}` : "";
  return [
    `${dir}/${name}${r}`,
    `${dir}//${name}/.${r}/`,
    `${dir}/nothing/../${name}${r}`,
    `/.${dir}/./${name}${r}//`,
  ];
}

/**
 * Runs `call` ROUNDS times across the spellings while her NAME flips to
 * each target; returns how many calls worked. A failure must name `named`.
 */
async function race(
  name: string,
  rest: string,
  named: (a: ReturnType<typeof arena>, spelled: string) => string,
  call: (path: string, a: ReturnType<typeof arena>) => Promise<unknown>,
  targets: (a: ReturnType<typeof arena>) => string[] = (a) => [a.root, a.other],
  opts: { base?: string; rounds?: number } = {},
): Promise<{ worked: number; refused: number }> {
  const a = arena(opts.base);
  const rounds = opts.rounds ?? ROUNDS;
  let worked = 0, refused = 0;
  try {
    const before = a.snapshot();
    for (const target of targets(a)) {
      const racer = a.race(name, target);
      const paths = spellings(a.her, name, rest);
      for (let i = 0; i < rounds / targets(a).length; i++) {
        try {
          await call(paths[i % paths.length], a);
          worked++;
        } catch (e) {
          refused++;
          assert.ok(
            (e as Error).message.includes(named(a, paths[i % paths.length])),
            `the error names ${named(a, paths[i % paths.length])}: ${(e as Error).message}`,
          );
        }
      }
      await racer.stop();
      assert.deepEqual(a.snapshot(), before, `nothing outside changed (link to ${target})`);
    }
  } finally {
    a.remove();
  }
  console.log(`${name}/${rest}: ${worked} worked, ${refused} refused`);
  return { worked, refused };
}

Deno.test("race makeJobFolder: a folder above the job folder flips for a link", async () => {
  const r = await race(
    "sub",
    "new",
    (a) => `${a.her}/sub/new`,
    (p) => makeJobFolder(p, { uid: HER, gid: HER, mode: 0o700 }),
  );
  assert.ok(r.worked > 0, "made in her real folder at least once");
});

Deno.test("race makeJobFolder: the job folder itself flips for a link", async () => {
  const r = await race(
    "job",
    "",
    (a) => `${a.her}/job`,
    (p) => makeJobFolder(p, { uid: HER, gid: HER, mode: 0o700 }),
  );
  // Her own folder, already hers with mode 700, is right as it is.
  assert.ok(r.worked > 0, "her real folder taken as it is at least once");
});

Deno.test("race removeTree: the tree, or a folder above it, flips for a link", async () => {
  for (const [name, rest] of [["sub", "job"], ["sub", ""]]) {
    const r = await race(name, rest, (a) => `${a.her}/${name}`, (p) => removeTree(p));
    assert.ok(r.worked > 0, "her real tree was removed at least once");
  }
});

Deno.test("race removeUserFiles: her folder, or one inside it, flips for a link to her files elsewhere", async () => {
  const targets = (a: ReturnType<typeof arena>) => [a.hers, a.root, a.other];
  for (const rest of ["", "job"]) {
    const r = await race(
      "sub",
      rest,
      (a) => `${a.her}/sub`,
      (p) => removeUserFiles(p, HER),
      targets,
    );
    assert.ok(r.worked > 0, "her real files were removed at least once");
  }
  // From above: the walk meets the flipping name inside and removes her link, never follows it.
  const r = await race(
    "sub",
    "",
    (a) => a.her,
    (_p, a) => removeUserFiles(a.her, HER),
    targets,
    { rounds: 600 },
  );
  assert.ok(r.worked > 0);
});

Deno.test("race appendToJobOutput: her output path flips for a link to root's or another user's file", async () => {
  const r = await race(
    "sub",
    "out",
    // Opened by the kernel as her, as spelled.
    (_a, spelled) => spelled,
    (p) =>
      appendToJobOutput(
        fakeJob("epilog", {
          id: 7,
          user: "her",
          uid: HER,
          gid: HER,
          env: { SLURM_JOB_STDOUT: p },
        }),
        "x",
      ),
  );
  assert.ok(r.worked > 0, "her real file was appended to at least once");
});

Deno.test("race in /dev/shm and on a scratch disk: makeJobFolder and removeTree alike", async () => {
  // /var/tmp stands for scratch: a folder users can write on the node's disk, not a tmpfs.
  for (const base of ["/dev/shm", "/var/tmp"]) {
    const made = await race(
      "sub",
      "new",
      (a) => `${a.her}/sub/new`,
      (p) => makeJobFolder(p, { uid: HER, gid: HER, mode: 0o700 }),
      undefined,
      { base, rounds: 600 },
    );
    assert.ok(made.worked > 0, `made in her real folder in ${base}`);
    const removed = await race(
      "sub",
      "job",
      (a) => `${a.her}/sub`,
      (p) => removeTree(p),
      undefined,
      { base, rounds: 600 },
    );
    assert.ok(removed.worked > 0, `removed her real tree in ${base}`);
  }
});
