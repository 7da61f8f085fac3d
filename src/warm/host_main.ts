// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * A warm host's program, bundled at build time into build/warm_host.js: the
 * service starts it inside the hook's sandbox as `warm_host.js __warmhost
 * SPEC` (the same arguments as `src/main.ts`'s, so `ps` tells hosts alike). Bundled, a host neither transpiles nor holds the
 * runner's CLI modules: it starts faster and takes less memory than
 * `src/main.ts __warmhost`, which stays the fallback when there is no build.
 *
 * @module
 */

import { warmHost } from "./host.ts";

// No top-level await: when the hook's Worker vanishes, the host's unload
// guard must get to report it, not Deno's "never resolved" error.
warmHost(JSON.parse(Deno.args[1])).then((status) => Deno.exit(status));
