// SPDX-License-Identifier: GPL-2.0-or-later
// The README is for admins: short, its two set-up commands first, and every
// link in it, CONTRIBUTING.md and docs/ leads to a file that exists.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { TOP } from "./helpers.ts";

/** Every Markdown file the docs are made of. */
function markdownFiles(): string[] {
  const docs = [...Deno.readDirSync(join(TOP, "docs"))]
    .filter((e) => e.isFile && e.name.endsWith(".md"))
    .map((e) => join(TOP, "docs", e.name));
  return [join(TOP, "README.md"), join(TOP, "CONTRIBUTING.md"), ...docs];
}

Deno.test("README: at most 200 lines, and its first commands are the two of a fresh machine", () => {
  const readme = Deno.readTextFileSync(join(TOP, "README.md"));
  assert.ok(readme.split("\n").length <= 200, `README.md has ${readme.split("\n").length} lines`);
  const first = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
  const commands = first.split("\n").filter((l) => l.trim()).map((l) => l.replace(/\s+#.*/, ""));
  assert.deepEqual(commands, ["scripts/dev.sh demo", "scripts/dev.sh test"]);
});

Deno.test("docs: every relative link of README.md, CONTRIBUTING.md and docs/*.md resolves", () => {
  const broken: string[] = [];
  for (const file of markdownFiles()) {
    const text = Deno.readTextFileSync(file).replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target) || target.startsWith("#")) continue;
      const path = join(dirname(file), target.split("#")[0]);
      try {
        Deno.statSync(path);
      } catch {
        broken.push(`${file.slice(TOP.length + 1)} -> ${target}`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
