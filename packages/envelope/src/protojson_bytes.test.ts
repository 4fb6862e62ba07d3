import { describe, expect, it } from "vitest";
import { decodeBatch, encodeBatch } from "./codec.js";
import type { Envelope } from "./envelope.js";
import { CodecError } from "./errors.js";
import { toProtoJson } from "./protojson.js";
import { renderProtoJsonBatch } from "./protojson_bytes.js";
import { renderBatchProtoJson } from "./protojson_wire.js";

const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB" };

function expectSameAsToProtoJson(batch: Envelope[]): void {
  const r = renderProtoJsonBatch(batch);
  expect(r.bytes.toString("utf8")).toBe(batch.map(toProtoJson).join(","));
  for (const [i, e] of batch.entries()) expect(r.bytes.toString("utf8", r.starts[i], r.ends[i])).toBe(toProtoJson(e));
}

describe("protojson bytes", () => {
  it("protojson bytes - every kind renders byte for byte as toProtoJson", () => {
    expectSameAsToProtoJson([
      { timestamp: 1795453524079630958n, sourceId: "web", instanceId: "0", tags, log: { payload: Buffer.from("hi"), type: "ERR" } },
      { timestamp: -5n, sourceId: "web", instanceId: "1", tags, log: { payload: Buffer.alloc(0), type: "OUT" } },
      { timestamp: 1n, sourceId: "web", instanceId: "0", tags, counter: { name: "c", delta: -1n, total: 18446744073709551615n } },
      {
        timestamp: 2n,
        sourceId: "web",
        instanceId: "0",
        tags,
        gauge: { metrics: { cpu: { unit: "percentage", value: 0.25 }, "mem\u00e9": { unit: "bytes", value: 1e21 } } },
      },
      { timestamp: 2n, sourceId: "web", instanceId: "0", tags, gauge: { metrics: {} } },
      { timestamp: 3n, sourceId: "web", instanceId: "0", tags, timer: { name: "t", start: 5n, stop: 9n } },
      { timestamp: 4n, sourceId: "web", instanceId: "0", tags, event: { title: "x", body: 'y\n"z"\\ \u2028 \ud83d\ude00 \ud800' } },
    ]);
  });

  it("protojson bytes - names and tags that need escaping, and payloads of every length and byte", () => {
    const odd = { tenant: "acme", 'k"\u0001': "v\u00ff\n", "\u65e5": "\udfff" };
    const batch: Envelope[] = [];
    for (let n = 0; n < 200; n++) {
      const payload = Buffer.alloc(n);
      for (let i = 0; i < n; i++) payload[i] = (i * 37 + n) & 0xff;
      batch.push({
        timestamp: BigInt(n),
        sourceId: n % 2 ? 'we"b' : "web",
        instanceId: "\u00e9",
        tags: n % 3 ? tags : odd,
        log: { payload, type: "OUT" },
      });
    }
    expectSameAsToProtoJson(batch);
    expectSameAsToProtoJson([]);
  });

  it("protojson bytes - envelopes decoded from one batch (shared tags) render as they would alone", () => {
    const lines = Array.from({ length: 50 }, (_, i) => ({
      timestamp: BigInt(i),
      sourceId: "web",
      instanceId: String(i % 3),
      tags: i < 25 ? tags : { ...tags, source_type: "APP/PROC/WORKER" },
      log: { payload: Buffer.alloc(70_000 * (i === 7 ? 1 : 0) + i, 0x41 + (i % 26)), type: "OUT" as const },
    }));
    expectSameAsToProtoJson(decodeBatch(encodeBatch(lines)));
  });
});

describe("protojson wire", () => {
  const check = (batch: Envelope[]) => {
    const data = encodeBatch(batch);
    const w = renderBatchProtoJson(data);
    const decoded = decodeBatch(data);
    expect(w.count).toBe(decoded.length);
    expect(w.bytes.toString("utf8")).toBe(decoded.map(toProtoJson).join(","));
    decoded.forEach((e, i) => {
      expect(w.bytes.toString("utf8", w.starts[i], w.ends[i])).toBe(toProtoJson(e));
      expect(w.envelope(i)).toEqual(e);
      expect(w.ms[i]).toBe(Number(e.timestamp / 1_000_000n));
    });
  };

  it("protojson wire - an encoded batch renders byte for byte as toProtoJson of its decoding", () => {
    const odd = { tenant: "acme", 'k"\u0001': "v\u00ff\n", "\u65e5": "\udfff", __proto__: "x" } as Record<string, string>;
    const batch: Envelope[] = [];
    const times = [
      0n,
      1n,
      999_999_999n,
      1_000_000_000n,
      4294967295n,
      4294967296n,
      1795453524079630958n,
      9223372036854775807n,
      -1n,
      -9223372036854775808n,
    ];
    for (let n = 0; n < 120; n++) {
      const payload = Buffer.alloc(n);
      for (let i = 0; i < n; i++) payload[i] = (i * 37 + n) & 0xff;
      batch.push({
        timestamp: BigInt.asIntN(64, (times[n % times.length] as bigint) + (n > 60 ? BigInt(n) * 7_777_777_777n : 0n)),
        sourceId: n % 2 ? 'we"b' : "web",
        instanceId: n % 5 ? "0" : "\u00e9",
        tags: n % 3 ? tags : n % 7 ? odd : { tenant: "acme" },
        log: { payload, type: n % 4 ? "OUT" : "ERR" },
      });
      if (n % 11 === 0)
        batch.push({ timestamp: BigInt(n), sourceId: "web", instanceId: "0", tags, counter: { name: "c", delta: -1n, total: 5n } });
      if (n % 13 === 0)
        batch.push({
          timestamp: BigInt(n),
          sourceId: "web",
          instanceId: "0",
          tags,
          gauge: { metrics: { cpu: { unit: "%", value: 0.5 } } },
        });
    }
    check(batch);
    check([]);
    check([{ timestamp: 5n, sourceId: "web", instanceId: "0", tags: {}, event: { title: "t", body: "b" } }]);
  });

  it("protojson wire - refuses what decodeBatch refuses, with the same error", () => {
    const good = encodeBatch([{ timestamp: 1n, sourceId: "web", instanceId: "0", tags, log: { payload: Buffer.from("hi"), type: "OUT" } }]);
    const bad = [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.from("XX\u0001\u0000"),
      Buffer.from([0x54, 0x52, 2, 0]),
      Buffer.from([0x54, 0x52, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      (() => {
        const b = Buffer.from(good);
        b[4] = 9;
        return b;
      })(),
    ];
    for (let cut = 4; cut < good.length; cut++) bad.push(good.subarray(0, cut));
    for (const data of bad) {
      let want: unknown;
      try {
        decodeBatch(data);
      } catch (err) {
        want = err;
      }
      expect(want).toBeInstanceOf(CodecError);
      expect(() => renderBatchProtoJson(data)).toThrow((want as Error).message);
    }
  });
});
