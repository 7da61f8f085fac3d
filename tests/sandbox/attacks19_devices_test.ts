// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 19, class 10, attacked by someone who did not write the globs: in a
// private mount namespace with a tmpfs /dev of its own (the host's /dev is
// never touched), names a glob matches that are not what they seem: a link
// to raw memory, a link to a world-writable folder, a FIFO, a plain file, a
// socket, and a folder of devices holding a link. Each is refused naming
// it; the plain GPU nodes alone are bound.
import assert from "node:assert/strict";
import { join } from "node:path";
import { PREP_DENO } from "../helpers.ts";
import { grantDir } from "./helpers.ts";

const BASE = `set -eu
mount -t tmpfs -o mode=755 atk19-dev /dev
mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5; mknod -m 666 /dev/urandom c 1 9; mknod -m 666 /dev/full c 1 7
mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/tty c 5 0; mknod -m 600 /dev/mem c 1 1
mkdir -m 1777 /dev/shm; mkdir /dev/pts; ln -s /proc/self/fd /dev/fd
mknod -m 666 /dev/gpux0 c 1 3
mount -t tmpfs -o mode=755 atk19-run /run
`;

const CASES: [name: string, setup: string, refusal: RegExp][] = [
  ["a link to raw memory", "ln -s /dev/mem /dev/gpux-mem", /gpux-mem.*raw memory/],
  [
    "a link to a folder others may write",
    "ln -s /dev/shm /dev/gpux-shm",
    /gpux-shm.*others may write it/,
  ],
  ["a FIFO", "mkfifo -m 666 /dev/gpux-fifo", /gpux-fifo is not a device node/],
  ["a plain file", "echo x > /dev/gpux-file", /gpux-file is not a device node/],
  [
    "a socket",
    "python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('/dev/gpux-sock')\"",
    /gpux-sock is not a device node/,
  ],
  [
    "a folder of devices holding a link",
    "mkdir -m 755 /dev/gpux-caps; mknod -m 444 /dev/gpux-caps/c1 c 1 3; ln -s /etc /dev/gpux-caps/etc",
    /gpux-caps.*not a folder of devices: it holds \/dev\/gpux-caps\/etc, not a device node/,
  ],
];

Deno.test({
  name:
    "attacks19 devices: a glob never binds a link to memory or a writable folder, a FIFO, a file or a socket",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = grantDir("atk19-devices");
    try {
      Deno.writeTextFileSync(join(dir, "hook.ts"), "export default () => {};\n");
      Deno.writeTextFileSync(
        join(dir, "deno.json"),
        JSON.stringify({ sandbox: { default: { devices: ["/dev/gpux*"] } } }),
      );
      const hook = join(dir, "hook.ts");
      const script = BASE + `${PREP_DENO} try ${hook} --job-id 1 | grep -E '^exit status'\n` +
        CASES.map(([name, setup], i) =>
          `echo "=== ${name}"\n(${setup})\n${PREP_DENO} try ${hook} --job-id ${
            i + 2
          } 2>&1 | grep -E '^exit status|gpux' || true\nrm -rf /dev/gpux-*\n`
        ).join("");
      const r = await new Deno.Command("/usr/bin/unshare", {
        args: ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
        stdin: "null",
      }).output();
      const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, out);
      const [plain, ...parts] = out.split(/^=== .*$/m);
      assert.match(plain, /^exit status: 0/m, out);
      CASES.forEach(([name, , refusal], i) => {
        assert.match(parts[i], /^exit status: 126/m, `${name}: ${parts[i]}`);
        assert.match(parts[i], refusal, `${name}: ${parts[i]}`);
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
