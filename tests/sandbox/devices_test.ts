// SPDX-License-Identifier: GPL-2.0-or-later
// Device globs on a MIG node: `/dev/nvidia*` matches the folder
// /dev/nvidia-caps beside the device nodes. The gpu-check recipe runs, with
// the folder of MIG capability devices bound whole and usable, in a private
// mount namespace whose /dev is a fake MIG-like tree (real character devices
// made with mknod: they read like /dev/null), so the host's /dev is never
// touched. A matched folder that is not a folder of devices (a disk in it,
// others may write it) is refused, naming it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO, TOP } from "../helpers.ts";
import { grantDir } from "./helpers.ts";

/** Runs `script` as root in a private mount namespace (nothing reaches the host's mounts). */
async function inPrivateMounts(script: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("/usr/bin/unshare", {
    args: ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
    stdin: "null",
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout) + d.decode(r.stderr) };
}

/** A MIG-like /dev: GPUs, their control nodes, and nvidia-caps/ with capability nodes. */
const FAKE_DEV = `
set -eu
mount -t tmpfs -o mode=755 prep-deno-fake-dev /dev
cd /dev
mknod -m 666 null c 1 3; mknod -m 666 zero c 1 5; mknod -m 666 full c 1 7
mknod -m 666 random c 1 8; mknod -m 666 urandom c 1 9; mknod -m 666 tty c 5 0
mkdir -m 1777 shm; mkdir pts
ln -s /proc/self/fd fd; ln -s fd/0 stdin; ln -s fd/1 stdout; ln -s fd/2 stderr
for n in nvidia0 nvidia1 nvidiactl nvidia-uvm nvidia-uvm-tools; do mknod -m 666 $n c 1 3; done
mkdir -m 755 nvidia-caps
mknod -m 444 nvidia-caps/nvidia-cap1 c 1 3; mknod -m 444 nvidia-caps/nvidia-cap2 c 1 3
cd /
`;

/** An nvidia-smi that needs its GPU's node and a MIG capability node, as MIG's does. */
const FAKE_SMI = `#!/bin/sh
i="$2"
dd if=/dev/nvidia$i of=/dev/null count=1 status=none 2>/dev/null || { echo "No devices were found" >&2; exit 6; }
dd if=/dev/nvidia-caps/nvidia-cap1 of=/dev/null count=1 status=none 2>/dev/null || { echo "Insufficient Permissions (MIG capability)" >&2; exit 4; }
echo "NVIDIA Fake MIG, 00000000:0$((i+1)):00.0"
`;

Deno.test({
  name: "devices: the gpu-check recipe runs on a MIG-like /dev, nvidia-caps/ bound whole",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const conf = grantDir("devices-conf");
    try {
      Deno.writeTextFileSync(join(conf, "slurm.conf"), "ClusterName=fake\n");
      const hook = join(TOP, "examples", "gpu-check", "hook.ts");
      const r = await inPrivateMounts(`${FAKE_DEV}
mount -t tmpfs -o mode=755 prep-deno-fake-bin /usr/local/bin
cat > /usr/local/bin/nvidia-smi <<'SMI'
${FAKE_SMI}SMI
chmod 755 /usr/local/bin/nvidia-smi
mount -t tmpfs -o mode=755 prep-deno-fake-run /run
mkdir /run/prep-deno-gpu-jobs
${PREP_DENO} try ${hook} --job-id 601 --env SLURM_JOB_GPUS=0,1 --env SLURM_CONF=${conf}/slurm.conf
echo "=== recorded: $(cat /run/prep-deno-gpu-jobs/0) $(cat /run/prep-deno-gpu-jobs/1)"
`);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /^exit status: 0/m, r.out);
      assert.match(r.out, /^=== recorded: 601 601$/m, r.out);
    } finally {
      Deno.removeSync(conf, { recursive: true });
    }
  },
});

Deno.test({
  name: "devices: a folder a glob matches that is not a folder of devices is refused, naming it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = grantDir("devices-hook");
    try {
      Deno.writeTextFileSync(join(dir, "hook.ts"), "export default () => {};\n");
      Deno.writeTextFileSync(
        join(dir, "deno.json"),
        JSON.stringify({ sandbox: { default: { devices: ["/dev/nvidia*"] } } }),
      );
      const hook = join(dir, "hook.ts");
      const r = await inPrivateMounts(`${FAKE_DEV}
mount -t tmpfs -o mode=755 prep-deno-fake-run /run
${PREP_DENO} try ${hook} --job-id 1 | grep -E '^exit status|refused|folder'
echo "=== a disk made later in the bound folder of devices"
mknod -m 600 /dev/nvidia-caps/loop8 b 7 8
${PREP_DENO} try ${hook} --job-id 4 | grep -E '^exit status|folder' || true
rm /dev/nvidia-caps/loop8
echo "=== a disk in a matched folder"
mkdir -m 755 /dev/nvidia-disk; mknod -m 600 /dev/nvidia-disk/loop9 b 7 9
${PREP_DENO} try ${hook} --job-id 2 | grep -E '^exit status|folder' || true
rm -r /dev/nvidia-disk
echo "=== a matched folder others may write"
mkdir -m 1777 /dev/nvidia-drop
${PREP_DENO} try ${hook} --job-id 3 | grep -E '^exit status|folder' || true
`);
      const [ok, later, disk, open] = r.out.split(/^=== .*$/m);
      assert.match(ok, /^exit status: 0/m, r.out);
      // The plan cached by the first run is remade: the folder's entries count.
      assert.match(later, /^exit status: 126/m, r.out);
      assert.match(
        later,
        /\/dev\/nvidia-caps \(matched by \/dev\/nvidia\*\) is a folder that is not a folder of devices: it holds \/dev\/nvidia-caps\/loop8, a disk \(block device\)/,
      );
      assert.match(disk, /^exit status: 126/m, r.out);
      assert.match(
        disk,
        /\/dev\/nvidia-disk \(matched by \/dev\/nvidia\*\) is a folder that is not a folder of devices: it holds \/dev\/nvidia-disk\/loop9, a disk \(block device\)/,
      );
      assert.match(open, /^exit status: 126/m, r.out);
      assert.match(
        open,
        /\/dev\/nvidia-drop \(matched by \/dev\/nvidia\*\) is a folder that is not a folder of devices: others may write it/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
