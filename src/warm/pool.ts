// SPDX-License-Identifier: GPL-2.0-or-later
/**
 * The warm hosts of one (module, hook, policy, mode): up to `hosts` of
 * them, each running one job at a time. A job takes an idle host, or waits
 * in line while one more starts (up to the limit); hosts past the first go
 * after a while idle. A pool whose module or policy changed is drained:
 * idle hosts end now, busy ones after their job.
 *
 * @module
 */

import { type HostLaunch, HostProcess } from "./host_process.ts";

/** How long a host beyond the first may stay idle. */
const IDLE_RETIRE_MS = 30_000;

/** A place in line for a host; `cancel` leaves the line. */
export interface Ticket {
  host: Promise<HostProcess>;
  cancel(): void;
}

interface Waiter {
  resolve(h: HostProcess): void;
  reject(e: Error): void;
}

/** The hosts of one (module, hook, policy, mode). */
export class Pool {
  readonly hosts = new Set<HostProcess>();
  #starting = 0;
  #waiting: Waiter[] = [];
  #draining = false;
  #idleTimers = new Map<HostProcess, ReturnType<typeof setTimeout>>();

  constructor(readonly launch: HostLaunch) {}

  /** Takes an idle host, or a place in line. */
  acquire(): Ticket {
    let waiter: Waiter | undefined;
    const host = new Promise<HostProcess>((resolve, reject) => {
      for (const h of this.hosts) {
        if (!h.busy && !h.dead && !h.retiring) return resolve(this.#take(h));
      }
      waiter = { resolve, reject };
      this.#waiting.push(waiter);
      if (this.hosts.size + this.#starting < this.launch.warm.hosts) this.#startOne();
    });
    return {
      host,
      cancel: () => {
        this.#waiting = this.#waiting.filter((w) => w !== waiter);
      },
    };
  }

  /** Gives a host back after its job (or after killing it). */
  release(h: HostProcess): void {
    h.busy = false;
    if (h.dead) return;
    if (h.retiring) return h.kill();
    const next = this.#waiting.shift();
    if (next) return next.resolve(this.#take(h));
    if (this.#draining) return h.kill();
    if (this.hosts.size > 1) {
      this.#idleTimers.set(
        h,
        setTimeout(() => {
          if (!h.busy && this.hosts.size > 1) h.kill();
        }, IDLE_RETIRE_MS),
      );
    }
  }

  /** Ends the pool: idle hosts now, busy ones after their job; settles when all have ended. */
  drain(): Promise<void> {
    this.#draining = true;
    for (const h of this.hosts) if (!h.busy) h.kill();
    return Promise.all([...this.hosts].map((h) => h.exited)).then(() => {});
  }

  /** Whether nothing is running or waiting. */
  get idle(): boolean {
    return this.#waiting.length === 0 && [...this.hosts].every((h) => !h.busy);
  }

  #take(h: HostProcess): HostProcess {
    clearTimeout(this.#idleTimers.get(h));
    this.#idleTimers.delete(h);
    h.busy = true;
    return h;
  }

  #startOne(): void {
    this.#starting++;
    HostProcess.start(this.launch).then(
      (h) => {
        this.#starting--;
        this.hosts.add(h);
        h.exited.then(() => {
          this.hosts.delete(h);
          clearTimeout(this.#idleTimers.get(h));
          // Jobs still in line get a host of their own.
          if (!this.#draining && this.#waiting.length > this.#starting) this.#startOne();
        });
        this.release(h);
      },
      (e: Error) => {
        this.#starting--;
        // Nobody else will serve the line: tell it why.
        if (this.hosts.size === 0 && this.#starting === 0) {
          for (const w of this.#waiting.splice(0)) w.reject(e);
        }
      },
    );
  }
}
