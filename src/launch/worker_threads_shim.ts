// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * `node:worker_threads` as hooks import it at run time (the import map sends
 * the name here; in this module's own scope it is Node's module itself):
 * everything Node's module has, but its `Worker` refuses, as the one the
 * runner's check puts on the module's default export (src/sandbox/child_env.ts):
 * a Node worker starts a realm without that check, whose commands would get
 * whatever variables it gives them. It refuses by itself, not by reading the
 * default export: this module may be evaluated before the check is in.
 *
 * @module
 */

import real from "node:worker_threads";

// Named one by one: with `export *`, Deno hands out Node's own Worker in
// place of this module's.
export {
  BroadcastChannel,
  getEnvironmentData,
  isInternalThread,
  isMainThread,
  isMarkedAsUntransferable,
  locks,
  markAsUncloneable,
  markAsUntransferable,
  MessageChannel,
  MessagePort,
  moveMessagePortToContext,
  parentPort,
  receiveMessageOnPort,
  resourceLimits,
  setEnvironmentData,
  SHARE_ENV,
  threadId,
  workerData,
} from "node:worker_threads";

const untyped = real as unknown as Record<string, unknown>;
/** Node's, as it is (its types do not name it yet). */
export const postMessageToThread: unknown = untyped.postMessageToThread;
/** Node's, as it is (its types do not name it yet). */
export const threadName: unknown = untyped.threadName;

/** Node's `Worker`, refused in a hook. */
export const Worker = function Worker(): never {
  throw new Error(
    "prep-deno: a hook cannot start a node:worker_threads Worker (its commands would pass " +
      "the environment check); use a Worker, which may run no command",
  );
} as unknown as typeof real.Worker;

// Node's module objects get the runner's check (src/child_env.ts): this may
// be the hook's first reach into Node.
(globalThis as unknown as Record<symbol, (() => void) | undefined>)[
  Symbol.for("prep-deno.guardNode")
]?.();

/** The module's default export (the same object `require` returns). */
export default real;
