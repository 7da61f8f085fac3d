// SPDX-License-Identifier: GPL-2.0-or-later
// The plugin's start-up check looks for bubblewrap where the runner does:
// PD_BWRAP_PATHS (ffi/prep_deno_conf_settings.h) is BWRAP_PATHS (src/sandbox/sandbox.ts).
import assert from "node:assert/strict";
import { join } from "node:path";
import { BWRAP_PATHS } from "../../src/sandbox/sandbox.ts";
import { TOP } from "../helpers.ts";

Deno.test("settings: the plugin's bubblewrap paths are the runner's", () => {
  const header = Deno.readTextFileSync(join(TOP, "ffi", "prep_deno_conf_settings.h"));
  const line = header.match(/^#define PD_BWRAP_PATHS (.*)$/m);
  assert.ok(line, "no PD_BWRAP_PATHS");
  assert.deepEqual(JSON.parse(`[${line[1]}]`), BWRAP_PATHS);
});
