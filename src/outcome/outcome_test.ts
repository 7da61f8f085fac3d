// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import { EXIT } from "../contract.ts";
import { denial, describeThrown, isExitStatus, showValue } from "./outcome.ts";

Deno.test("outcome: exit statuses are integers 0-255 only", () => {
  for (const ok of [0, 1, 124, 255]) assert.ok(isExitStatus(ok), String(ok));
  for (const bad of [-1, 256, 1.5, NaN, "0", null, undefined, 2n]) {
    assert.ok(!isExitStatus(bad), String(bad));
  }
});

Deno.test("outcome: the runner's own statuses are distinct and below 128", () => {
  const values = Object.values(EXIT);
  assert.equal(new Set(values).size, values.length);
  for (const v of values) assert.ok(v > 0 && v < 128);
});

Deno.test("outcome: a denial names the kind, the resource, the set and the file", () => {
  const m = denial('Requires read access to "/scratch", run again with the --allow-read flag', {
    hook: "prolog",
    configPath: "/etc/slurm/hooks/deno.json",
    setName: "default",
  });
  assert.equal(
    m,
    'permission denied: read access to "/scratch"; to allow it, add it to the "read" list of permission set "default" in /etc/slurm/hooks/deno.json',
  );
});

Deno.test("outcome: a denial without a resource never reads 'a access to ;'", () => {
  const m = denial("Requires sys access, run again with the --allow-sys flag", { hook: "epilog" });
  assert.match(m, /^permission denied: all of sys access; to allow it, set "sys": true/);
  const odd = denial("something Deno said", { hook: "epilog" });
  assert.match(odd, /^permission denied: something Deno said; grant it in permission set "epilog"/);
  assert.doesNotMatch(odd, /a access to/);
});

Deno.test("outcome: thrown values and returned values are shown in one line", () => {
  assert.deepEqual(describeThrown({ code: 42 }), {
    errorName: "non-Error value",
    message: '{"code":42}',
  });
  assert.equal(describeThrown(new RangeError("x")).errorName, "RangeError");
  assert.equal(showValue("0"), '"0"');
  assert.equal(showValue(3n), "3n");
  assert.equal(showValue({}), "a value of type object");
});
