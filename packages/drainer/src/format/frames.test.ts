import type { Envelope } from "@tailrace/envelope";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DrainData } from "../binding/url.js";
import { SyslogFramer } from "./frames.js";
import { octetFrame } from "./octet.js";
import { syslogMessages } from "./rfc5424.js";

const T0 = BigInt(Date.UTC(2026, 10, 23, 10, 0, 0)) * 1_000_000n + 123_456_789n;

/** The reference: a message per envelope (syslogMessages), each framed on its own, joined. */
function reference(batch: Envelope[], opts: { disableMetadata: boolean; drainData: DrainData }): Buffer {
  return Buffer.concat(batch.flatMap((e) => syslogMessages(e, opts)).map(octetFrame));
}

describe("SyslogFramer", () => {
  it("frames - a batch is its messages octet-counted back to back, heads shared or not", () => {
    const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB" };
    const line = (payload: string, over: Partial<Envelope> = {}): Envelope => ({
      timestamp: T0,
      sourceId: "web",
      instanceId: "0",
      tags,
      log: { payload: Buffer.from(payload), type: "OUT" },
      ...over,
    });
    const batch = [
      line("one"),
      line("two", { log: { payload: Buffer.from("é\nü"), type: "ERR" } }),
      line("three", { instanceId: "1" }),
      line("four", { tags: { ...tags, tenant: 'a"b' } }),
      { ...line("x"), log: undefined, counter: { name: "c", delta: 1n, total: 2n } },
      line(""),
      line("five", { sourceId: "other" }),
    ];
    for (const drainData of ["logs", "metrics", "all"] as const) {
      for (const disableMetadata of [false, true]) {
        const opts = { disableMetadata, drainData };
        const f = new SyslogFramer(opts).frames(batch);
        expect(f.bytes).toEqual(reference(batch, opts));
        expect(f.count).toBe(batch.flatMap((e) => syslogMessages(e, opts)).length);
      }
    }
    expect(new SyslogFramer({ disableMetadata: false, drainData: "logs" }).frames([]).count).toBe(0);
  });

  it("frames - any batch, one framer over many batches, gives what framing each message gives", () => {
    const head = fc.record({
      sourceId: fc.string({ maxLength: 20 }),
      instanceId: fc.string({ maxLength: 10 }),
      tags: fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }), { maxKeys: 4 }),
    });
    const envelope = (heads: Array<{ sourceId: string; instanceId: string; tags: Record<string, string> }>) =>
      fc.record({
        head: fc.constantFrom(...heads),
        timestamp: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n),
        payload: fc.uint8Array({ maxLength: 1200 }),
        type: fc.constantFrom<"OUT" | "ERR">("OUT", "ERR"),
        gauge: fc.boolean(),
      });
    const batches = fc
      .array(head, { minLength: 1, maxLength: 3 })
      .chain((heads) => fc.array(fc.array(envelope(heads), { maxLength: 30 }), { maxLength: 4 }));
    fc.assert(
      fc.property(batches, fc.boolean(), fc.constantFrom<DrainData>("logs", "metrics", "all"), (bs, disableMetadata, drainData) => {
        const opts = { disableMetadata, drainData };
        const framer = new SyslogFramer(opts);
        for (const b of bs) {
          // Heads picked from a few objects, as decodeBatch shares one tags object between envelopes of one head.
          const batch: Envelope[] = b.map((x) =>
            x.gauge
              ? { ...x.head, timestamp: x.timestamp, gauge: { metrics: { cpu: { unit: "percentage", value: 1.5 } } } }
              : { ...x.head, timestamp: x.timestamp, log: { payload: x.payload, type: x.type } },
          );
          expect(framer.frames(batch).bytes).toEqual(reference(batch, opts));
        }
      }),
      { numRuns: 300 },
    );
  });
});
