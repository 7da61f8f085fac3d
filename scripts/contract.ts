// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The C headers of the contract (src/contract_c.ts): `deno run -A
 * scripts/contract.ts` writes the stale ones; with `--check` it writes
 * nothing and fails when one is stale (scripts/build-plugin.sh).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { staleContractHeaders, writeContractHeaders } from "../src/contract_c.ts";

const top = join(dirname(fileURLToPath(import.meta.url)), "..");
if (Deno.args.includes("--check")) {
  const stale = staleContractHeaders(top);
  if (stale.length) {
    console.error(
      `${
        stale.join(", ")
      }: not what src/contract.ts generates; run deno task build (it writes them)`,
    );
    Deno.exit(1);
  }
} else {
  for (const path of writeContractHeaders(top)) {
    console.log(`${path}: generated from src/contract.ts`);
  }
}
