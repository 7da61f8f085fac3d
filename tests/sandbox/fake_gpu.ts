// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The GPU recipes beside fakes of nvidia-smi, modprobe and mknod
 * (tests/fixtures/fake-gpu) that refuse what the real driver and kernel
 * refuse without the capability, for try and cluster tests alike.
 */

import { join } from "node:path";
import { TOP } from "../helpers.ts";
import { grantDir } from "./helpers.ts";

const FAKES = join(TOP, "tests", "fixtures", "fake-gpu");
const EXAMPLES = join(TOP, "examples");

export const PROBE = `#!/bin/bash
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/$$/status
echo "cwd=$(pwd)"
ls -l /proc/self/fd | while read -r _ _ _ _ _ _ _ _ fd _ target; do echo "fd $fd $target"; done
for d in /run/prep-deno/broker/*/; do echo "broker $(stat -c '%a %U' "$d") $d $(stat -c %i "$d/sock")"; done
env | sort
`;

/**
 * A character-device driver this host's kernel lists (/proc/devices), as
 * the fake nvidia-uvm: the broker's `{major:NAME}` reads the real list, so
 * the recipes' `{major:nvidia-uvm}` is tried as `{major:NAME}` of this one.
 */
export const HOST_DRIVER: { name: string; major: string } = (() => {
  const text = Deno.readTextFileSync("/proc/devices").split("Block devices:")[0];
  const m = /^\s*(\d+) ([A-Za-z0-9_.-]+)$/m.exec(text);
  if (!m) throw new Error("no character device in /proc/devices");
  return { name: m[2], major: m[1] };
})();

/** The fakes, in a fresh root-only folder (a privileged program must be root's). */
export function fakes(): string {
  const dir = grantDir("fakes");
  for (const f of ["nvidia-smi", "modprobe", "mknod"]) {
    Deno.copyFileSync(join(FAKES, f), join(dir, f));
    Deno.chmodSync(join(dir, f), 0o755);
  }
  Deno.writeTextFileSync(join(dir, "probe"), PROBE, { mode: 0o755 });
  Deno.chmodSync(join(dir, "probe"), 0o755);
  return dir;
}

/** A recipe copied beside the fakes, its real paths replaced by theirs. */
export function recipe(name: string, fake: string, swap: Record<string, string> = {}): string {
  const dir = grantDir(name);
  const paths: Record<string, string> = {
    "/usr/bin/nvidia-smi": `${fake}/nvidia-smi`,
    "/usr/sbin/modprobe": `${fake}/modprobe`,
    "/usr/bin/mknod": `${fake}/mknod`,
    "{major:nvidia-uvm}": `{major:${HOST_DRIVER.name}}`,
    ...swap,
  };
  for (const f of ["hook.ts", "deno.json"]) {
    let text = Deno.readTextFileSync(join(EXAMPLES, name, f));
    for (const [from, to] of Object.entries(paths)) text = text.replaceAll(from, to);
    Deno.writeTextFileSync(join(dir, f), text);
  }
  // The fakes in the view, so the hook's own queries can run them.
  const policy = JSON.parse(Deno.readTextFileSync(join(dir, "deno.json")));
  for (const set of Object.values(policy.sandbox) as { read?: string[] }[]) {
    set.read = [...(set.read ?? []), fake];
  }
  Deno.writeTextFileSync(join(dir, "deno.json"), JSON.stringify(policy));
  return dir;
}

export function calls(fake: string): string[] {
  try {
    return Deno.readTextFileSync(join(fake, "calls.log")).trim().split("\n");
  } catch {
    return [];
  }
}
