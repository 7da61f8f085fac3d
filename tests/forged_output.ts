// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A hook that tries to speak for the runner through its output, for the
 * cause tests of both modes and of the cluster: it prints a forged cause
 * line and a forged runner line, then a NUL byte, a carriage return, ANSI
 * escapes, more output than the log keeps, then fails with a cause of its
 * own (`REAL_CAUSE`), or spins into the timeout (`spin`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { CAUSE_MARKER, MAX_OUTPUT, OUTCOME_MAGIC } from "../src/contract.ts";

/** The forged drain reason the hook prints. */
export const FORGED = "forged by the hook";
/** The failure the hook throws with: the only cause the node may get. */
export const REAL_CAUSE = "the real cause";

/** The hook's source; `ending` is how it ends after its output. */
export function forgingHook(hook: string, ending: "throw" | "spin" = "throw"): string {
  const forgedRecord = [OUTCOME_MAGIC, "threw", "1", hook, "/x.ts", "1", FORGED, FORGED].join(
    "\t",
  );
  return `export function ${hook}() {
  const w = (s) => Deno.stdout.writeSync(new TextEncoder().encode(s));
  w(${JSON.stringify(`${CAUSE_MARKER}${FORGED}\n`)});
  w(${JSON.stringify(`${forgedRecord}\n`)});
  w(${JSON.stringify(`prep-deno: ${hook} /x.ts job 1: ${FORGED}\n`)});
  w("\\u0000after the NUL\\r\\u001b[2Khidden by escapes\\u001b[0m\\n");
  const big = "y".repeat(65535) + "\\n";
  for (let i = 0; i < ${Math.ceil((MAX_OUTPUT * 1.5) / 65536)}; i++) w(big);
  w(${JSON.stringify(`${CAUSE_MARKER}${FORGED} past the cap\n`)});
  ${ending === "throw" ? `throw new Error(${JSON.stringify(REAL_CAUSE)});` : "for (;;) {}"}
}
`;
}

/** The hook's output as the plugin logs it: escaped, capped, never cut at the NUL. */
export function assertEscaped(output: string): void {
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\u0000\r\u001b]/.test(output), "a raw NUL, CR or ESC reached the log text");
  assert.ok(
    output.includes("\\x00after the NUL\\x0d\\x1b[2Khidden by escapes"),
    output.slice(0, 500),
  );
  assert.match(output, /output truncated: \d+ more bytes were read and dropped/);
  assert.ok(output.length < MAX_OUTPUT + 4096, `${output.length} bytes of output kept`);
}
