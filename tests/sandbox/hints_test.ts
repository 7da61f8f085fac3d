// SPDX-License-Identifier: GPL-2.0-or-later
// Capability hints through `try`: each failure the GPU and node ports met
// gets a message naming the capability and the policy key (or the
// privileged-commands way), and Deno's "--allow-..." never reaches the log.
import assert from "node:assert/strict";
import { join } from "node:path";
import { TOP } from "../helpers.ts";
import { grantDir, HELPERS, tryPolicy } from "./helpers.ts";

Deno.test("hints: EACCES, EPERM of chmod, a driver's Insufficient Permissions, modprobe and mknod each name the fix; a caught Deno denial never says --allow-", async () => {
  const dir = grantDir("hints");
  const fakes = grantDir("hint-fakes");
  for (const f of ["nvidia-smi", "modprobe", "mknod"]) {
    Deno.copyFileSync(join(TOP, "tests", "fixtures", "fake-gpu", f), join(fakes, f));
    Deno.chmodSync(join(fakes, f), 0o755);
  }
  const log = join(dir, "gpu.log");
  Deno.writeTextFileSync(log, "");
  Deno.chownSync(log, 65534, 65534);
  Deno.chmodSync(log, 0o600);
  const policy = {
    permissions: {
      prolog: {
        read: [dir],
        write: [dir],
        run: [`${fakes}/nvidia-smi`, `${fakes}/modprobe`, `${fakes}/mknod`],
      },
    },
    sandbox: { prolog: { read: [fakes], write: [dir] } },
  };
  const hook = (body: string) =>
    `import { runCommand } from ${JSON.stringify(HELPERS)};
export async function prolog(job) { ${body} }`;
  try {
    const cases: [string, RegExp][] = [
      [
        `Deno.writeTextFileSync(${JSON.stringify(log)}, "x");`,
        /Permission denied.*hint: .*needs CAP_DAC_OVERRIDE, which the hook's view lacks; add "CAP_DAC_OVERRIDE" to "capabilities" of "sandbox" set "prolog" of .*deno\.json/,
      ],
      [
        `Deno.chmodSync(${JSON.stringify(log)}, 0o644);`,
        /hint: .*needs CAP_FOWNER, which the hook's view lacks; add "CAP_FOWNER" to "capabilities"/,
      ],
      [
        `await runCommand([${
          JSON.stringify(`${fakes}/nvidia-smi`)
        }, "-i", "0", "-pl", "300"], { job });`,
        /hint: GPU settings \(nvidia-smi\) needs CAP_SYS_ADMIN, which a hook never holds; name the command under "privileged" in "sandbox" set "prolog"/,
      ],
      [
        `await runCommand([${JSON.stringify(`${fakes}/modprobe`)}, "nvidia"], { job });`,
        /hint: loading a kernel module needs CAP_SYS_MODULE, which a hook never holds; name the command under "privileged"/,
      ],
      [
        `await runCommand([${
          JSON.stringify(`${fakes}/mknod`)
        }, "-m", "666", "/dev/nvidia0", "c", "195", "0"], { job });`,
        /hint: making a device node needs CAP_MKNOD, which a hook never holds; name the command under "privileged"/,
      ],
    ];
    for (const [body, re] of cases) {
      const r = await tryPolicy(hook(body), policy);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, re);
    }
    // Hook code that catches Deno's own denial and prints it.
    const caught = await tryPolicy(
      hook(
        `try { Deno.readTextFileSync("/etc/shadow"); } catch (e) { console.error(e); console.log("msg " + (e as Error).message); }
try { new Deno.Command("/usr/bin/id").outputSync(); } catch (e) { console.error(String(e)); }`,
      ),
      policy,
    );
    assert.equal(caught.status, 0, caught.stderr);
    assert.doesNotMatch(caught.stderr, /--allow-/);
    assert.match(
      caught.stderr,
      /msg permission denied: read access to "\/etc\/shadow"; to allow it, add it to the "read" list of permission set "prolog"/,
    );
    assert.match(
      caught.stderr,
      /run access to "\/usr\/bin\/id"; to allow it, add it to the "run" list/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
    Deno.removeSync(fakes, { recursive: true });
  }
});
