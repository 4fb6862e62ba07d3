import { CodecError, decodeBatch, type Envelope, encodeBatch } from "@tailrace/envelope";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DrainData } from "../binding/url.js";
import { SyslogFramer } from "./frames.js";
import { octetFrame } from "./octet.js";
import { syslogMessages } from "./rfc5424.js";

const T0 = BigInt(Date.UTC(2026, 10, 23, 10, 0, 0)) * 1_000_000n + 123_456_789n;

type Opts = { disableMetadata: boolean; drainData: DrainData };

/** The reference: the batch decoded, a message per envelope (syslogMessages), each framed on its own, joined. */
function reference(data: Uint8Array, opts: Opts): { bytes: Buffer; count: number } {
  const msgs = decodeBatch(data).flatMap((e) => syslogMessages(e, opts));
  return { bytes: Buffer.concat(msgs.map(octetFrame)), count: msgs.length };
}

function expectSame(framer: SyslogFramer, data: Uint8Array, opts: Opts): void {
  const f = framer.frames(data);
  const r = reference(data, opts);
  expect(f.bytes).toEqual(r.bytes);
  expect(f.count).toBe(r.count);
  expect(f.envelopes).toBe(decodeBatch(data).length);
}

describe("SyslogFramer", () => {
  it("frames - a batch is its messages octet-counted back to back, heads repeated or not", () => {
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
      line("four", { tags: { ...tags, tenant: 'a"b', ["__proto__"]: "x" } }),
      { ...line("x"), log: undefined, counter: { name: "c", delta: 1n, total: 2n } },
      line(""),
      line("before 1970", { timestamp: -1_500_000_123n }),
      line("year 10000", { timestamp: 253_402_300_800n * 1_000_000_000n }),
      line("last second of 9999", { timestamp: 253_402_300_799n * 1_000_000_000n + 999_999_999n }),
      line("five", { sourceId: "other" }),
      line("six", { sourceId: "other" }),
    ];
    const data = encodeBatch(batch);
    for (const drainData of ["logs", "metrics", "all"] as const) {
      for (const disableMetadata of [false, true]) {
        const opts = { disableMetadata, drainData };
        const framer = new SyslogFramer(opts);
        expectSame(framer, data, opts);
        // Again with the same framer: the head it kept from the last batch is reused, not misread.
        expectSame(framer, data, opts);
      }
    }
    expect(new SyslogFramer({ disableMetadata: false, drainData: "logs" }).frames(encodeBatch([])).count).toBe(0);
  });

  it("frames - any batches, through one framer, give what framing each decoded message gives", () => {
    const head = fc.record({
      sourceId: fc.string({ maxLength: 20 }),
      instanceId: fc.string({ maxLength: 10 }),
      tags: fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ unit: "binary", maxLength: 12 }), { maxKeys: 4 }),
    });
    const item = (heads: Array<{ sourceId: string; instanceId: string; tags: Record<string, string> }>) =>
      fc.record({
        head: fc.constantFrom(...heads),
        timestamp: fc.oneof(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.bigInt(T0 - 10n ** 10n, T0 + 10n ** 10n)),
        payload: fc.uint8Array({ maxLength: 1200 }),
        type: fc.constantFrom<"OUT" | "ERR">("OUT", "ERR"),
        gauge: fc.boolean(),
      });
    const batches = fc
      .array(head, { minLength: 1, maxLength: 3 })
      .chain((heads) => fc.array(fc.array(item(heads), { maxLength: 30 }), { maxLength: 4 }));
    fc.assert(
      fc.property(batches, fc.boolean(), fc.constantFrom<DrainData>("logs", "metrics", "all"), (bs, disableMetadata, drainData) => {
        const opts = { disableMetadata, drainData };
        const framer = new SyslogFramer(opts);
        for (const b of bs) {
          const batch: Envelope[] = b.map((x) =>
            x.gauge
              ? { ...x.head, timestamp: x.timestamp, gauge: { metrics: { cpu: { unit: "percentage", value: 1.5 } } } }
              : { ...x.head, timestamp: x.timestamp, log: { payload: x.payload, type: x.type } },
          );
          expectSame(framer, encodeBatch(batch), opts);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("frames - a batch decodeBatch refuses is refused with a CodecError, and the framer goes on", () => {
    const opts = { disableMetadata: false, drainData: "all" as const };
    const good = encodeBatch([
      { timestamp: T0, sourceId: "web", instanceId: "0", tags: { tenant: "acme" }, log: { payload: Buffer.from("hello"), type: "OUT" } },
      { timestamp: T0, sourceId: "web", instanceId: "0", tags: { tenant: "acme" }, log: { payload: Buffer.from("again"), type: "OUT" } },
    ]);
    fc.assert(
      fc.property(fc.nat(good.length), fc.uint8Array({ maxLength: 8 }), fc.nat(good.length), (cut, junk, at) => {
        const bad = Buffer.concat([good.subarray(0, cut), junk, good.subarray(cut)]).subarray(0, Math.max(at, 3));
        const framer = new SyslogFramer(opts);
        let refused = false;
        try {
          decodeBatch(bad);
        } catch (err) {
          refused = true;
          expect(err).toBeInstanceOf(CodecError);
        }
        if (refused) expect(() => framer.frames(bad)).toThrow(CodecError);
        else expectSame(framer, bad, opts);
        expectSame(framer, good, opts);
      }),
      { numRuns: 500 },
    );
  });
});
