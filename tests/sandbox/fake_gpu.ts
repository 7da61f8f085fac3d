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
for d in /run/prep-deno/broker/*/; do echo "broker $(stat -c '%a %U' "$d") $d"; done
env | sort
`;

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
