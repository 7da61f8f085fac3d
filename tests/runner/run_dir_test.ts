// SPDX-License-Identifier: GPL-2.0-or-later
// The launcher keeps its state (plans, status files) under /run/prep-deno
// only when every folder from / down to it is root's and writable by no one
// else. Here a local user can write /run/prep-deno (a tmpfs mounted so, in a
// mount namespace of the test's own: the host's is never touched) and
// plants links there: the hooks still run and end as they should, nothing
// is made in or through that folder, and the user's target stays empty.
import assert from "node:assert/strict";
import { fakeJobEnv } from "../../src/job/slurm_vars.ts";
import { LAUNCHER } from "../../src/contract.ts";
import { PREP_DENO, TOP } from "../helpers.ts";

const NOBODY = 65534;

/**
 * Runs `script` as root in a mount namespace of its own (the host's mounts
 * are never touched), with "$@" = `prep-deno run HOOK` for a job `id`.
 */
async function inOwnMounts(script: string, hook: string, id: number) {
  const out = await new Deno.Command("/usr/bin/unshare", {
    args: [
      "--mount",
      "--propagation",
      "private",
      "/bin/sh",
      "-c",
      script,
      "sh",
      PREP_DENO,
      "run",
      hook,
    ],
    clearEnv: true,
    env: { ...fakeJobEnv("prolog_slurmd", { id }), PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout), err: d.decode(out.stderr) };
}

/**
 * A root folder for the test's hook, and in it `users`: a folder of the
 * job user's (nobody), the target of the links they plant.
 */
function hookAndUserFolder(): { dir: string; target: string } {
  const dir = `/var/tmp/prep-deno-rundir-${crypto.randomUUID().slice(0, 8)}`;
  Deno.mkdirSync(dir, { mode: 0o755 });
  const target = `${dir}/users`;
  Deno.mkdirSync(target, { mode: 0o777 });
  Deno.chmodSync(target, 0o777);
  Deno.chownSync(target, NOBODY, NOBODY);
  return { dir, target };
}

Deno.test(
  "launch: a run dir others can write is never used: no plan or status file is made in it or through a link planted there",
  {
    ignore: Deno.uid() !== 0,
  },
  async () => {
    const { dir, target } = hookAndUserFolder();
    try {
      Deno.writeTextFileSync(
        `${dir}/hook.ts`,
        `export function prolog() { console.log("ran"); return 3; }`,
      );
      const run = LAUNCHER.RUN_DIR;
      // 1. /run itself writable by others (a user could rename what root
      //    makes in it): the launcher makes nothing there.
      // 2. /run/prep-deno writable by others, with the user's links for its
      //    folders: never followed.
      const script = `
set -u
cd ${JSON.stringify(TOP)}
mount --make-rprivate /
mount -t tmpfs -o mode=0777 prep-deno-test /run
for i in 1 2; do "$@"; echo "status $?"; done
echo "in /run: $(ls -A /run)"
chmod 0755 /run
mkdir -m 0755 ${run}
mount -t tmpfs -o mode=1777 prep-deno-test ${run}
setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups \\
  sh -c 'ln -s ${target} ${run}/plans; ln -s ${target} ${run}/status'
for i in 1 2; do "$@"; echo "status $?"; done
echo "in ${run}: $(ls -A ${run} | tr '\\n' ' ')"
`;
      const { code, text, err } = await inOwnMounts(script, `${dir}/hook.ts`, 21);
      assert.equal(code, 0, text + err);
      assert.equal(
        text,
        `${"ran\nstatus 3\n".repeat(2)}in /run: \n${
          "ran\nstatus 3\n".repeat(2)
        }in ${run}: plans status \n`,
        text + err,
      );
      assert.deepEqual(
        [...Deno.readDirSync(target)],
        [],
        "the launcher wrote through the user's link",
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test(
  "launch: with a run dir others can write, a hook's privileged commands get no broker, and none is made through a user's link",
  {
    ignore: Deno.uid() !== 0,
  },
  async () => {
    const { dir, target } = hookAndUserFolder();
    try {
      Deno.writeTextFileSync(`${dir}/hook.ts`, `export function prolog() { console.log("ran"); }`);
      Deno.writeTextFileSync(
        `${dir}/deno.json`,
        JSON.stringify({
          sandbox: {
            prolog: {
              privileged: {
                nothing: { command: "/usr/bin/true", capabilities: ["CAP_SYS_ADMIN"], args: [[]] },
              },
            },
          },
        }),
      );
      const run = LAUNCHER.RUN_DIR;
      const script = `
set -u
mount --make-rprivate /
mkdir -p -m 0755 ${run}
mount -t tmpfs -o mode=1777 prep-deno-test ${run}
setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups sh -c 'ln -s ${target} ${run}/broker'
"$@"; echo "status $?"
echo "in the user's folder: $(ls -A ${target} | tr '\\n' ' ')"
`;
      const { text, err } = await inOwnMounts(script, `${dir}/hook.ts`, 22);
      assert.match(err, /cannot start the privileged-command broker/, text + err);
      assert.match(text, /^status 126$/m, text + err);
      assert.doesNotMatch(text, /^ran$/m, "the hook ran without its broker");
      assert.match(text, /^in the user's folder: $/m, text + err);
      assert.deepEqual(
        [...Deno.readDirSync(target)],
        [],
        "the launcher made its broker through the link",
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
