// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A place to race the helpers: a sticky folder like /tmp, a job user's
 * folder in it, and what she must never reach through them (root's files,
 * another user's, her own files elsewhere), with a snapshot to prove it.
 */

import { join } from "node:path";
import { TOP } from "../helpers.ts";

/** The racing job user and another user; no passwd entry needed. */
export const HER = 61001;
export const OTHER = 61002;

/** The racer (racer.c) built once, where the racing user can run it. */
let racerBin: string | undefined;
function racer(): string {
  if (racerBin) return racerBin;
  const dir = Deno.makeTempDirSync({ prefix: "prep-deno-racer-" });
  Deno.chmodSync(dir, 0o755);
  const out = join(dir, "racer");
  const r = new Deno.Command("cc", {
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-o", out, join(TOP, "tests/helpers/racer.c")],
  }).outputSync();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return racerBin = out;
}

export interface Arena {
  /** The sticky top (mode 1777, root's), as /tmp is. */
  readonly top: string;
  /** Her folder in it. */
  readonly her: string;
  /** Root's folder (job/precious, f, out inside), a link target. */
  readonly root: string;
  /** Another user's folder, a link target. */
  readonly other: string;
  /** Her own files outside `her`, a link target. */
  readonly hers: string;
  /** Every entry under root, other and hers: owner, group, mode, type, size. */
  snapshot(): Record<string, string>;
  /** Starts the racer: `her/NAME` flips between her folder and a link to `target`. */
  race(name: string, target: string): { stop(): Promise<void> };
  remove(): void;
}

function fill(dir: string, uid: number, mode = 0o755) {
  Deno.mkdirSync(join(dir, "job"), { recursive: true });
  for (const f of ["job/precious", "f", "out"]) Deno.writeTextFileSync(join(dir, f), "");
  for (const p of [dir, join(dir, "job")]) Deno.chmodSync(p, mode);
  for (const p of ["", "job", "job/precious", "f", "out"]) Deno.chownSync(join(dir, p), uid, uid);
}

function walk(dir: string, out: Record<string, string>) {
  const i = Deno.lstatSync(dir);
  out[dir] = `${i.uid}:${i.gid}:${(i.mode! & 0o7777).toString(8)}:${
    i.isDirectory ? "d" : i.isSymlink ? "l" : "f"
  }:${i.isDirectory ? "" : i.size}`;
  if (i.isDirectory) { for (const e of Deno.readDirSync(dir)) walk(join(dir, e.name), out); }
}

/** `base`: the shared folder it is made in (/tmp by default; /dev/shm, a scratch). */
export function arena(base?: string): Arena {
  const top = Deno.makeTempDirSync({ prefix: "prep-deno-race-", dir: base });
  Deno.chmodSync(top, 0o1777);
  const her = join(top, "her");
  const root = join(top, "root");
  const other = join(top, "other");
  const hers = join(top, "hers");
  Deno.mkdirSync(her);
  Deno.chownSync(her, HER, HER);
  Deno.chmodSync(her, 0o755);
  fill(root, 0);
  fill(other, OTHER);
  fill(hers, HER);
  const racers: Deno.ChildProcess[] = [];
  return {
    top,
    her,
    root,
    other,
    hers,
    snapshot() {
      const out: Record<string, string> = {};
      for (const d of [root, other, hers]) walk(d, out);
      return out;
    },
    race(name, target) {
      const child = new Deno.Command("/usr/bin/setpriv", {
        args: [`--reuid=${HER}`, `--regid=${HER}`, "--clear-groups", racer(), her, name, target],
      }).spawn();
      racers.push(child);
      return {
        async stop() {
          child.kill("SIGKILL");
          await child.status;
        },
      };
    },
    remove() {
      for (const c of racers) {
        try {
          c.kill("SIGKILL");
        } catch { /* ended */ }
      }
      Deno.removeSync(top, { recursive: true });
    },
  };
}
