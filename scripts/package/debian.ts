// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The Debian side of `deno task package`: the control file, the changelog,
 * the maintainer scripts (from packaging/debian/), the md5sums and the
 * lintian overrides of the staged tree, and the `-dbgsym` package that holds
 * the debug symbols stripped from the launcher and the plugin.
 *
 * @module
 */

import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";

/** The package's folder of Debian files (maintainer scripts, copyright, changelog). */
export function debianDir(top: string): string {
  return join(top, "packaging", "debian");
}

/**
 * The Maintainer field: `PREP_DENO_MAINTAINER`, else Debian's own
 * `DEBFULLNAME`/`DEBEMAIL` (what dch reads), else packaging/debian/maintainer.
 *
 * @example
 * ```ts
 * maintainer("/src/prep-deno", { DEBFULLNAME: "Ada", DEBEMAIL: "ada@hpc.example.org" });
 * // "Ada <ada@hpc.example.org>"
 * ```
 */
export function maintainer(top: string, env: Record<string, string | undefined>): string {
  const named = env.PREP_DENO_MAINTAINER?.trim() ||
    (env.DEBEMAIL?.trim()
      ? (env.DEBFULLNAME?.trim()
        ? `${env.DEBFULLNAME.trim()} <${env.DEBEMAIL.trim()}>`
        : env.DEBEMAIL.trim())
      : Deno.readTextFileSync(join(debianDir(top), "maintainer")).trim());
  if (!/^[^<>\n]+ <[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>$/.test(named)) {
    throw new Error(
      `the Maintainer field "${named}" is not "Name <address>": set PREP_DENO_MAINTAINER ` +
        `(or DEBFULLNAME and DEBEMAIL), or edit packaging/debian/maintainer`,
    );
  }
  return named;
}

/**
 * packaging/debian/changelog with its newest entry's version made the
 * package's (`0.2.0` -> `0.2.0+slurm22.05.8`), gzipped as Debian wants it.
 * Throws when the newest entry is not for `version` (VERSION was bumped, the
 * changelog was not).
 */
export function changelog(top: string, version: string, debVersion: string): Uint8Array {
  const text = Deno.readTextFileSync(join(debianDir(top), "changelog"));
  const first = /^prep-deno \(([^)]+)\)/.exec(text);
  if (first?.[1] !== version) {
    throw new Error(
      `packaging/debian/changelog's newest entry is for ${first?.[1] ?? "nothing"}, ` +
        `VERSION says ${version}: add an entry for ${version} at its top`,
    );
  }
  return gzipSync(text.replace(`prep-deno (${version})`, `prep-deno (${debVersion})`), {
    level: 9,
  });
}

/** Slurm's package and upstream release the plugin is pinned to. */
export interface SlurmPin {
  /** Debian's package holding Slurm's plugins (slurm-wlm-basic-plugins). */
  name: string;
  /** e.g. "22.05.8". */
  upstream: string;
}

/** The control file of prep-deno. */
export function control(fields: {
  version: string;
  arch: string;
  slurm: SlurmPin;
  sizeKiB: number;
  maintainer: string;
}): string {
  // Slurm loads a plugin only if it was built for the same release.
  const [maj, min, micro] = fields.slurm.upstream.split(".").map(Number);
  const next = `${maj}.${String(min).padStart(2, "0")}.${micro + 1}~`;
  const s = fields.slurm.name;
  return [
    "Package: prep-deno",
    `Version: ${fields.version}`,
    `Architecture: ${fields.arch}`,
    `Maintainer: ${fields.maintainer}`,
    `Installed-Size: ${fields.sizeKiB}`,
    `Depends: ${s} (>= ${fields.slurm.upstream}), ${s} (<< ${next}), bubblewrap, libc6`,
    "Recommends: slurmd | slurmctld",
    "Section: admin",
    "Priority: optional",
    "Description: Slurm Prolog/Epilog hooks in TypeScript, sandboxed (PrEpPlugins=prep/deno)",
    " prep/deno is a drop-in replacement for Slurm's prep/script plugin: shell",
    " scripts keep working as before, and TypeScript hook modules run under the",
    " prep-deno runner in Deno's permissions inside a bubblewrap sandbox.",
    ` Built for Slurm ${fields.slurm.upstream}.`,
    "",
  ].join("\n");
}

/** The control file of prep-deno-dbgsym, as debhelper's dh_strip writes one. */
export function dbgsymControl(fields: {
  version: string;
  arch: string;
  sizeKiB: number;
  maintainer: string;
  buildIds: string[];
}): string {
  return [
    "Package: prep-deno-dbgsym",
    "Source: prep-deno",
    `Version: ${fields.version}`,
    "Auto-Built-Package: debug-symbols",
    `Architecture: ${fields.arch}`,
    `Maintainer: ${fields.maintainer}`,
    `Installed-Size: ${fields.sizeKiB}`,
    `Depends: prep-deno (= ${fields.version})`,
    "Section: debug",
    "Priority: optional",
    "Description: debug symbols for prep-deno",
    `Build-Ids: ${fields.buildIds.join(" ")}`,
    "",
  ].join("\n");
}

/** The maintainer scripts of packaging/debian/, with `@LIB@` made the runner's folder. */
export function maintainerScripts(top: string, lib: string): Record<string, string> {
  const scripts: Record<string, string> = {};
  for (const name of ["postinst", "prerm", "postrm"]) {
    scripts[name] = Deno.readTextFileSync(join(debianDir(top), name)).replaceAll("@LIB@", lib);
  }
  return scripts;
}

/** DEBIAN/md5sums of every regular file under `root` but DEBIAN/ (dpkg --verify reads it). */
export function md5sums(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const p = join(dir, e.name);
      if (e.isDirectory) {
        if (p !== join(root, "DEBIAN")) walk(p);
      } else if (e.isFile) {
        lines.push(
          `${createHash("md5").update(Deno.readFileSync(p)).digest("hex")}  ${relative(root, p)}`,
        );
      }
    }
  };
  walk(root);
  return lines.join("\n") + "\n";
}

/**
 * packaging/debian/changelog as an RPM `%changelog`, newest first; the
 * newest entry carries the RPM's version-release (`0.2.0-1.slurm22.05.8`).
 *
 * @example
 * ```ts
 * rpmChangelog("/src/prep-deno", "1.slurm22.05.8");
 * // "* Mon Dec 07 2026 prep/deno developers <...> - 0.2.0-1.slurm22.05.8\n- Warm mode: ..."
 * ```
 */
export function rpmChangelog(top: string, release: string): string {
  const text = Deno.readTextFileSync(join(debianDir(top), "changelog"));
  const entries = text.split(/^(?=prep-deno \()/m).filter((e) => e.trim());
  return entries.map((entry, i) => {
    const version = /^prep-deno \(([^)]+)\)/.exec(entry)![1];
    const [, who, date] = /^ -- (.+?) {2}(.+)$/m.exec(entry)!;
    const d = new Date(date);
    const day = d.toUTCString().slice(0, 3);
    const month = d.toUTCString().slice(8, 11);
    const stamp = `${day} ${month} ${
      String(d.getUTCDate()).padStart(2, "0")
    } ${d.getUTCFullYear()}`;
    const items = entry.split("\n").filter((l) => /^ {2}\* /.test(l) || /^ {4}\S/.test(l))
      .map((l) => l.replace(/^ {2}\* /, "- ").replace(/^ {4}/, "  "));
    return `* ${stamp} ${who} - ${version}-${i === 0 ? release : "1"}\n${items.join("\n")}\n`;
  }).join("\n");
}
