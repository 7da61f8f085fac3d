// SPDX-License-Identifier: GPL-2.0-or-later
import assert from "node:assert/strict";
import {
  decodeReply,
  decodeRequest,
  encodeFrame,
  encodeReply,
  MAGIC,
  MAX_FRAME,
  readFrame,
  replyPayload,
} from "./protocol.ts";

const enc = new TextEncoder();
/** A reader over fixed bytes, handing them out in `step`-sized reads. */
function reader(bytes: Uint8Array, step = 3) {
  let off = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (off >= bytes.length) return Promise.resolve(null);
      const n = Math.min(step, p.length, bytes.length - off);
      p.set(bytes.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
}

Deno.test("protocol: a request as the C client builds it decodes, bad UTF-8 and all", () => {
  const payload = new Uint8Array([
    ...enc.encode(
      `${MAGIC}\0/etc/slurm/p.ts\0prolog_slurmd\x0030\0/opt/s/slurm.conf\0A=1\0B=x=y\0`,
    ),
    ...enc.encode("C="),
    0xff,
    0,
  ]);
  const r = decodeRequest(payload);
  assert.equal(r.modulePath, "/etc/slurm/p.ts");
  assert.equal(r.context, "prolog_slurmd");
  assert.equal(r.timeoutSeconds, 30);
  assert.equal(r.slurmConf, "/opt/s/slurm.conf");
  assert.deepEqual(r.env, { A: "1", B: "x=y", C: "\ufffd" });
});

Deno.test("protocol: empty timeout and slurm.conf fields mean none; a wrong magic is refused", () => {
  const r = decodeRequest(enc.encode(`${MAGIC}\0/m.ts\0epilog_slurmd\0\0\0`));
  assert.equal(r.timeoutSeconds, undefined);
  assert.equal(r.slurmConf, undefined);
  // A relative path is no daemon's (the plugin sends absolute ones only).
  assert.equal(
    decodeRequest(enc.encode(`${MAGIC}\0/m.ts\0epilog_slurmd\0\0slurm.conf\0`)).slurmConf,
    undefined,
  );
  // A request of the previous format (one header field fewer) is refused whole.
  assert.throws(
    () => decodeRequest(enc.encode(`prep-deno-warm/3\0/m.ts\0epilog_slurmd\0\0`)),
    /not a prep-deno-warm\/4/,
  );
  assert.throws(() => decodeRequest(enc.encode(`other/1\0/m.ts\0x\0\0`)), /not a prep-deno-warm/);
  assert.throws(() => decodeRequest(enc.encode(`${MAGIC}\0/m.ts`)), /not a prep-deno-warm/);
});

Deno.test("protocol: frames survive short reads; a clean end is undefined, a cut one throws", async () => {
  const record = {
    kind: "timeout" as const,
    status: 124,
    cause: "timed out",
    place: { hook: "prolog", module: "/m.ts", job: "1" },
  };
  const reply = encodeReply({ status: 124, record, output: enc.encode("late\n") });
  const body = await readFrame(reader(reply));
  assert.deepEqual(body, replyPayload({ status: 124, record, output: enc.encode("late\n") }));
  assert.equal(
    new TextDecoder().decode(body),
    "124\0prep-deno-outcome/1\ttimeout\t124\tprolog\t/m.ts\t1\ttimed out\t\0late\n",
  );
  assert.deepEqual(decodeReply(body!)?.record, record);
  assert.equal(await readFrame(reader(new Uint8Array())), undefined);
  await assert.rejects(() => readFrame(reader(reply.subarray(0, 6))), /middle of a frame/);
});

Deno.test("protocol: a frame past the limit is refused before it is read", async () => {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, MAX_FRAME + 1, true);
  await assert.rejects(() => readFrame(reader(head)), /too large/);
  assert.equal(encodeFrame(new Uint8Array(2)).length, 6);
});
