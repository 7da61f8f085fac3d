// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * Class 1 of issue 19: the runner's own files (Deno's cache, the status
 * file, the seeds) must never sit at a name a local user can prepare in a
 * folder a hook was granted. A real non-root user plants those names in
 * /tmp and /dev/shm and swaps them in a tight loop while a hook with write
 * grants on both runs, round after round.
 *
 * The rounds run in a mount namespace of their own with fresh tmpfs on
 * /tmp and /dev/shm (the racer and the runner share it), so the racer
 * never meets other hooks running on the machine, and the host is left as
 * it was when the namespace goes.
 */

import assert from "node:assert/strict";
import { dirname } from "node:path";
import { LAUNCHER } from "../../src/contract.ts";
import { SANDBOX_RUNTIME_ENV } from "../../src/launch/constants.ts";
import { PREP_DENO, TOP } from "../helpers.ts";
import { grantDir } from "./helpers.ts";

const NOBODY = 65534;
const ROUNDS = 40;
const SHARED = ["/tmp", "/dev/shm"];

/**
 * The names the racer prepares in each shared folder: those the runner used
 * there before (a Deno cache folder, the status file, `check`'s folder), and
 * the runner's present in-sandbox paths wherever they would fall inside a
 * shared folder ("d:" a folder, "f:" a file).
 */
function plantedNames(): string[] {
  const names = new Set<string>();
  const inside = [
    `d:${SANDBOX_RUNTIME_ENV.DENO_DIR}`,
    `f:${LAUNCHER.STATUS_PATH}`,
  ];
  for (const root of SHARED) {
    names.add(`d:${root}/.deno`).add(`f:${root}/.prep-deno-status`).add(
      `d:${root}/prep-deno-check`,
    );
    for (const spec of inside) {
      const [kind, path] = [spec.slice(0, 2), spec.slice(2)];
      // A runner path under a shared folder: the racer plants it and the folders above it.
      if (path.startsWith(`${root}/`)) {
        names.add(`${kind}${path}`);
        for (let d = dirname(path); d !== root; d = dirname(d)) names.add(`d:${d}`);
      }
    }
  }
  return [...names];
}

/**
 * The racer, as user nobody: forever, each planted name is renamed away
 * and made again (a folder 0777, a file 0666, so that a runner that
 * followed a name would write into the user's copy), and what it swapped
 * out is inspected: any content the runner wrote into it is logged.
 */
const RACER = String.raw`
$| = 1;
my ($log, @names) = @ARGV;
open(my $out, ">>", $log) or die "log: $!";
select((select($out), $| = 1)[0]);
sub filled {
  my ($p) = @_;
  return (-s $p) ? "file" : "" if -f $p && !-l $p;
  return "" unless -d $p;
  opendir(my $h, $p) or return "";
  my @e = grep { !/^\.\.?$/ } readdir $h;
  closedir $h;
  return join(",", @e);
}
sub plant {
  my ($kind, $n) = @_;
  if ($kind eq "d") { mkdir($n); chmod(0777, $n); }
  else { if (open(my $f, ">", $n)) { close $f; } chmod(0666, $n); }
}
for my $s (@names) { plant(split(/:/, $s, 2)); }
print $out "planted\n";
my $i = 0;
$SIG{TERM} = sub { print $out "swaps $i\n"; exit 0; };
while (1) {
  for my $s (@names) {
    my ($kind, $n) = split(/:/, $s, 2);
    my $aside = "$n.aside" . ($i++ % 4);
    next unless rename($n, $aside);
    plant($kind, $n);
    my $w = filled($aside);
    if ($w ne "") { print $out "runner wrote into $n: $w\n"; rename($aside, "$n.hit$i"); }
    elsif (-d $aside) { rmdir($aside); }
    else { unlink($aside); }
  }
}
`;

Deno.test(
  "attack: a local user who prepares and swaps names in /tmp and /dev/shm never gets the runner's files, and every hook ends as it should",
  {
    ignore: Deno.uid() !== 0,
  },
  async () => {
    const hooks = grantDir("state");
    const work = grantDir("racer");
    try {
      Deno.chmodSync(work, 0o755);
      Deno.writeTextFileSync(`${work}/racer.pl`, RACER);
      Deno.writeTextFileSync(`${work}/racer.log`, "");
      Deno.chownSync(`${work}/racer.log`, NOBODY, NOBODY);
      const marker = `own-code-${crypto.randomUUID()}`;
      // Odd rounds fail with 3: a hook ending "right" is not only a success.
      Deno.writeTextFileSync(
        `${hooks}/hook.ts`,
        `export function prolog(job: { id: number }) {
  // The grant still works: the runner's own status file revoked none of it
  // (Deno serves /dev/shm to "all" only; the view's bind of it is enough here).
  Deno.writeTextFileSync("/tmp/own-" + job.id, "x");
  Deno.removeSync("/tmp/own-" + job.id);
  console.log("${marker}", job.id);
  return job.id % 2 ? 3 : 0;
}`,
      );
      Deno.writeTextFileSync(
        `${hooks}/deno.json`,
        JSON.stringify({
          permissions: { prolog: { read: SHARED, write: SHARED } },
          sandbox: { prolog: { write: SHARED } },
        }),
      );
      const names = plantedNames();
      const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
      const script = `
set -u
top=${q(TOP)}
cd "$top"
mount --make-rprivate /
mount -t tmpfs -o mode=1777 prep-deno-test /tmp
mount -t tmpfs -o mode=1777 prep-deno-test /dev/shm
# A clone under /tmp or /dev/shm stays visible: the old folder, still our cwd
# (--no-canonicalize: mount would turn /proc/self/cwd into the path, now the tmpfs's).
case "$top" in /tmp/*|/dev/shm/*) mkdir -p "$top"; mount --no-canonicalize --bind /proc/self/cwd "$top";; esac
setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups /usr/bin/perl ${q(`${work}/racer.pl`)} \
  ${q(`${work}/racer.log`)} ${names.map(q).join(" ")} &
racer=$!
until grep -q planted ${q(`${work}/racer.log`)}; do sleep 0.05; done
for i in $(seq 1 ${ROUNDS}); do
  echo "=== round $i"
  ${q(PREP_DENO)} try ${q(`${hooks}/hook.ts`)} --job-id $i 2>&1
done
# check type-checks in the same view, with its own files in it.
echo "=== check"
PATH=${q(dirname(Deno.execPath()))}:$PATH ${q(PREP_DENO)} check ${q(`${hooks}/hook.ts`)} 2>&1
kill $racer; wait $racer 2>/dev/null
echo "=== left in the planted names"
for s in ${names.map(q).join(" ")}; do
  n=\${s#?:}
  for p in "$n" "$n".*; do
    [ -e "$p" ] || continue
    if [ -d "$p" ]; then ls -A "$p" | sed "s|^|$p/|"; elif [ -s "$p" ]; then echo "$p"; fi
  done
done
`;
      const out = await new Deno.Command("/usr/bin/unshare", {
        args: ["--mount", "--propagation", "private", "/bin/sh", "-c", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      const [before, checked] = text.split(/^=== check\n/m);
      assert.match(checked ?? "", /^types: ok$/m, text);
      const rounds = before.split(/^=== round \d+\n/m).slice(1);
      assert.equal(rounds.length, ROUNDS, text);
      rounds.forEach((r, i) => {
        const id = i + 1;
        const want = id % 2 ? 3 : 0;
        assert.match(r, new RegExp(`^exit status: ${want}\\b`, "m"), `round ${id}:\n${r}`);
        assert.match(
          r,
          new RegExp(`${marker} ${id}`),
          `round ${id} did not run its own code:\n${r}`,
        );
      });
      const left = text.split("=== left in the planted names\n")[1] ?? "";
      assert.equal(left.trim(), "", `the runner left files in the user's names:\n${left}`);
      const log = Deno.readTextFileSync(`${work}/racer.log`);
      assert.doesNotMatch(log, /runner wrote/, `the runner wrote into the user's names:\n${log}`);
      // The racer really raced: many swaps of every name in every round.
      const swaps = Number(/swaps (\d+)/.exec(log)?.[1]);
      assert.ok(swaps > ROUNDS * names.length, `only ${swaps} swaps`);
    } finally {
      Deno.removeSync(hooks, { recursive: true });
      Deno.removeSync(work, { recursive: true });
    }
  },
);
