import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch } from "./codec.js";
import type { Envelope } from "./envelope.js";
import { CodecError } from "./errors.js";

const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB", process_type: "web" };

const samples: Envelope[] = [
  { timestamp: 1795453524079630958n, sourceId: "web", instanceId: "0", tags, log: { payload: Buffer.from("héllo ✓"), type: "OUT" } },
  { timestamp: 1n, sourceId: "web", instanceId: "1", tags, log: { payload: Buffer.from([0xff, 0xfe, 0x00, 0x41]), type: "ERR" } },
  { timestamp: 2n, sourceId: "web", instanceId: "", tags, log: { payload: new Uint8Array(0), type: "OUT" } },
  { timestamp: 3n, sourceId: "web", instanceId: "0", tags, counter: { name: "requests", delta: -5n, total: 18446744073709551615n } },
  {
    timestamp: 4n,
    sourceId: "web",
    instanceId: "0",
    tags,
    gauge: { metrics: { cpu: { unit: "percentage", value: 12.5 }, memory: { unit: "bytes", value: 1e9 } } },
  },
  { timestamp: 5n, sourceId: "web", instanceId: "0", tags, timer: { name: "http", start: 10n, stop: 20n } },
  { timestamp: 6n, sourceId: "web", instanceId: "0", tags, event: { title: "deploy", body: "v2 ✓" } },
];

function norm(e: Envelope): unknown {
  return { ...e, ...(e.log ? { log: { type: e.log.type, payload: Buffer.from(e.log.payload).toString("hex") } } : {}) };
}

describe("batch codec", () => {
  it("codec - round-trips every kind, raw bytes and 64-bit edges", () => {
    const out = decodeBatch(encodeBatch(samples));
    expect(out.map(norm)).toEqual(samples.map(norm));
  });

  it("codec - an empty batch round-trips", () => {
    expect(decodeBatch(encodeBatch([]))).toEqual([]);
  });

  it("codec - a 64 KiB payload round-trips byte for byte", () => {
    const payload = Buffer.alloc(65536, 0x61);
    const [e] = decodeBatch(encodeBatch([{ ...(samples[0] as Envelope), log: { payload, type: "OUT" } }]));
    expect(Buffer.compare(Buffer.from(e?.log?.payload ?? []), payload)).toBe(0);
  });

  it("codec - bad magic, version, truncation and trailing bytes are CodecErrors", () => {
    const good = Buffer.from(encodeBatch(samples));
    expect(() => decodeBatch(Buffer.from("{}"))).toThrow(CodecError);
    const v2 = Buffer.from(good);
    v2[2] = 9;
    expect(() => decodeBatch(v2)).toThrow(/version 9/);
    expect(() => decodeBatch(good.subarray(0, good.length - 3))).toThrow(/truncated/);
    expect(() => decodeBatch(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
  });

  it("codec - a count larger than the bytes can hold is refused before allocating", () => {
    expect(() => decodeBatch(Buffer.from([0x54, 0x52, 1, 0xff, 0xff, 0xff, 0x7f]))).toThrow(/claims/);
  });

  it("codec - random bytes only ever raise CodecError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const data = Buffer.concat([Buffer.from([0x54, 0x52, 1]), Buffer.from(bytes)]);
        try {
          decodeBatch(data);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("codec - random log envelopes round-trip", () => {
    const env = fc.record({
      timestamp: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      instanceId: fc.string({ maxLength: 20 }),
      payload: fc.uint8Array({ maxLength: 200 }),
      err: fc.boolean(),
      tagValue: fc.string({ maxLength: 30 }),
    });
    fc.assert(
      fc.property(fc.array(env, { maxLength: 20 }), (xs) => {
        const batch: Envelope[] = xs.map((x) => ({
          timestamp: x.timestamp,
          sourceId: "app",
          instanceId: x.instanceId,
          tags: { tenant: "t", x: x.tagValue },
          log: { payload: Buffer.from(x.payload), type: x.err ? "ERR" : "OUT" },
        }));
        expect(decodeBatch(encodeBatch(batch)).map(norm)).toEqual(batch.map(norm));
      }),
      { numRuns: 200 },
    );
  });
});
