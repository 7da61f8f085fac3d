// SPDX-License-Identifier: GPL-2.0-or-later
// Attacks on privileged commands by someone who did not write them: the
// hook's own code speaking to the broker, raw and in bursts, and what comes
// back. (The rest of the hook's side: privileged_attacks_test.ts; the
// program's: privileged_program_attacks_test.ts.)
import assert from "node:assert/strict";
import { HELPERS, tryPolicy } from "./helpers.ts";
import { calls, fakes } from "./fake_gpu.ts";

Deno.test("privileged attacks: the hook's raw requests (too long, too many arguments, unanswered, lookalike digits, options, --, newlines) run nothing and speak for no one", async () => {
  const fake = fakes();
  const code = `import { privileged } from ${JSON.stringify(HELPERS)};
const SOCK = "/run/prep-deno/privileged.sock";
async function raw(bytes, shut = true) {
  const conn = await Deno.connect({ transport: "unix", path: SOCK });
  let text = "";
  try {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    if (!shut) return conn;
    await conn.closeWrite();
  } catch (e) {
    // The broker hung up on a request it refused before reading it all.
    text = "hung up (" + (e as Error).name + ") ";
  }
  try {
    for (const buf = new Uint8Array(4096);;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (e) {
    text += "read " + (e as Error).name;
  }
  conn.close();
  return text.trim().replaceAll("\\n", " | ");
}
export async function prolog() {
  const enc = (s) => new TextEncoder().encode(s);
  console.log("long " + await raw(enc("gpu-power\\x00" + "0".repeat(70000) + "\\x00")));
  console.log("many " + await raw(enc("gpu-power\\x00" + "0\\x00".repeat(300))));
  console.log("nul " + await raw(enc("gpu-power\\x00-i\\x00" + "0\\x00-pl\\x00" + "300\\x00" + "\\x00")));
  console.log("unended " + await raw(enc("gpu-power\\x00-i\\x00" + "0\\x00-pl\\x00300")));
  // One left open without a word: the hook's next request waits for it, and nothing runs for it.
  const idle = await raw(enc("gpu-power\\x00-i\\x00"), false);
  (idle as Deno.UnixConn).close();
  for (const [i, w] of [["٣", "300"], ["０", "300"], ["0", "3e2"], ["0", "+300"], ["0", "-300"], ["0", "300\\nprep-deno: forged"], ["--", "300"], ["0", "--"], ["0 ", "300"], ["0", "0x12C"]]) {
    const r = await privileged("gpu-power", ["-i", i, "-pl", w], { allowFailure: true });
    console.log("shape " + JSON.stringify([i, w]) + " " + r.status + " " + r.stderr.trim());
  }
  for (const w of ["..", ".", "a/b", "-rf", "x y", "é", "../x", ""]) {
    const r = await privileged("node", [w], { allowFailure: true });
    console.log("word " + JSON.stringify(w) + " " + r.status + " " + r.stderr.trim());
  }
  console.log("word-ok " + (await privileged("node", ["nvidia-uvm"], { allowFailure: true })).status);
  const argv0 = await privileged("gpu-power", ["-i", "007", "-pl", "300"], { allowFailure: true });
  console.log("zeros " + argv0.status);
}`;
  try {
    const r = await tryPolicy(code, {
      sandbox: {
        prolog: {
          privileged: {
            "gpu-power": {
              command: `${fake}/nvidia-smi`,
              capabilities: ["CAP_SYS_ADMIN"],
              args: [["-i", "{int}", "-pl", "{num}"]],
            },
            node: { command: `${fake}/probe`, capabilities: [], args: [["{word}"]] },
          },
        },
      },
    });
    assert.equal(r.status, 0, r.stderr);
    const line = (label: string) =>
      r.stderr.split("\n").find((l) => l.startsWith(label + " ")) ?? "";
    // Refused after its first 64 KiB: the answer, or a hang-up if the hook was still writing.
    assert.match(line("long"), /^long (126 .*privileged request too long|hung up)/);
    assert.match(line("many"), /^many 126 .*too many arguments/);
    assert.match(line("nul"), /^nul 126 .*match none of its "args" patterns/);
    assert.match(line("unended"), /^unended 126 .*malformed privileged request/);
    const shapes = r.stderr.split("\n").filter((l) => l.startsWith("shape "));
    assert.equal(shapes.length, 10, r.stderr);
    for (const l of shapes) assert.match(l, /\] 126 .*match none of its "args" patterns/);
    // An argument's newline is shown escaped: it cannot start a line of the broker's message.
    assert.ok(r.stderr.includes("-pl 300\\x0aprep-deno: forged match none"), r.stderr);
    assert.doesNotMatch(r.stderr, /^prep-deno: forged/m);
    // {word}: a name, never a path, a folder's dots, an option or a space.
    const words = r.stderr.split("\n").filter((l) => l.startsWith("word "));
    assert.equal(words.length, 8, r.stderr);
    for (const l of words) assert.match(l, /^word ".*" 126 .*match none of its "args" patterns/);
    assert.match(line("word-ok"), /^word-ok 0/);
    // Leading zeros are digits: {int} takes them, and the program reads the number.
    assert.match(line("zeros"), /^zeros 0/);
    assert.deepEqual(calls(fake), ["nvidia-smi -i 007 -pl 300"]);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged attacks: many requests at once are served one at a time, each checked, none mixed with another", async () => {
  const fake = fakes();
  try {
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  const asks = [];
  for (let i = 0; i < 40; i++) {
    asks.push(privileged("gpu-power", ["-i", String(i % 2), "-pl", i % 4 === 3 ? "-1" : String(100 + i)], { allowFailure: true }));
  }
  const done = await Promise.all(asks);
  console.log("statuses " + done.map((d) => d.status).join(","));
  console.log("outs " + done.map((d, i) => d.stdout.includes("0" + (i % 2) + ":00.0") || d.status === 126).every(Boolean));
}`,
      {
        sandbox: {
          prolog: {
            privileged: {
              "gpu-power": {
                command: `${fake}/nvidia-smi`,
                capabilities: ["CAP_SYS_ADMIN"],
                args: [["-i", "{int}", "-pl", "{num}"]],
              },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const statuses = /^statuses (.*)$/m.exec(r.stderr)?.[1].split(",") ?? [];
    assert.equal(statuses.length, 40, r.stderr);
    statuses.forEach((s, i) => assert.equal(s, i % 4 === 3 ? "126" : "0", `request ${i}`));
    assert.match(r.stderr, /^outs true$/m);
    assert.equal(calls(fake).length, 30);
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});

Deno.test("privileged attacks: a privileged command's output past 1 MiB is never a quiet success (a list that stops short fails, naming what was cut)", async () => {
  const fake = fakes();
  try {
    Deno.writeTextFileSync(
      `${fake}/lister`,
      `#!/bin/bash\nfor i in $(seq 1 "$1"); do printf 'process %07d\\n' "$i"; done\n`,
      { mode: 0o755 },
    );
    Deno.chmodSync(`${fake}/lister`, 0o755);
    const r = await tryPolicy(
      `import { privileged } from ${JSON.stringify(HELPERS)};
export async function prolog() {
  for (const n of ["10", "100000"]) {
    const r = await privileged("list", [n], { allowFailure: true });
    console.log("list " + n + " " + r.status + " " + r.stdout.length + " " + r.stderr.trim());
  }
}`,
      {
        sandbox: {
          prolog: {
            privileged: {
              list: { command: `${fake}/lister`, capabilities: [], args: [["{int}"]] },
            },
          },
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^list 10 0 160 $/m, r.stderr);
    // 100000 lines of 16 bytes: 1600000 bytes, 1048576 kept.
    assert.match(
      r.stderr,
      /^list 100000 126 1048576 prep-deno: privileged command "list": its output past 1 MiB was cut \(551424 bytes of stdout, 0 of stderr\)$/m,
      r.stderr,
    );
  } finally {
    Deno.removeSync(fake, { recursive: true });
  }
});
