import { describe, expect, it } from "vitest";
import type { Envelope } from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";
import { fromProtoJson, fromProtoJsonBatch, toProtoJson, toProtoJsonBatch } from "./protojson.js";

const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB" };

describe("protojson", () => {
  it("protojson - renders Log Cache's shape: int64 as strings, payload as base64, original field names", () => {
    const e: Envelope = {
      timestamp: 1795453524079630958n,
      sourceId: "web",
      instanceId: "0",
      tags,
      log: { payload: Buffer.from("hi"), type: "ERR" },
    };
    expect(JSON.parse(toProtoJson(e))).toEqual({
      timestamp: "1795453524079630958",
      source_id: "web",
      instance_id: "0",
      deprecated_tags: {},
      tags,
      log: { payload: "aGk=", type: "ERR" },
    });
  });

  it("protojson - every kind round-trips through text", () => {
    const all: Envelope[] = [
      { timestamp: 1n, sourceId: "web", instanceId: "0", tags, counter: { name: "c", delta: 1n, total: 18446744073709551615n } },
      { timestamp: 2n, sourceId: "web", instanceId: "0", tags, gauge: { metrics: { cpu: { unit: "percentage", value: 0.25 } } } },
      { timestamp: 3n, sourceId: "web", instanceId: "0", tags, timer: { name: "t", start: 5n, stop: 9n } },
      { timestamp: 4n, sourceId: "web", instanceId: "0", tags, event: { title: "x", body: 'y\n"z"' } },
    ];
    expect(fromProtoJsonBatch(toProtoJsonBatch(all))).toEqual(all);
  });

  it("protojson - accepts lowerCamel names and an omitted OUT type, as protojson parsers do", () => {
    const e = fromProtoJson({ timestamp: "5", sourceId: "web", instanceId: "1", tags: { tenant: "acme" }, log: { payload: "aGk=" } });
    expect(e.log?.type).toBe("OUT");
    expect(e.instanceId).toBe("1");
  });

  it("protojson - names the offending field in every error", () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ timestamp: "x", source_id: "web", tags: { tenant: "a" }, log: {} }, /timestamp/],
      [{ timestamp: "1", source_id: "a.b", tags: { tenant: "a" }, log: {} }, /source_id/],
      [{ timestamp: "1", source_id: "web", tags: {}, log: {} }, /tags.tenant/],
      [{ timestamp: "1", source_id: "web", tags: { tenant: "a" }, log: { payload: "!!" } }, /log.payload.*base64/],
      [{ timestamp: "1", source_id: "web", tags: { tenant: "a" }, log: {}, event: { title: "x" } }, /exactly one/],
      [{ timestamp: "1", source_id: "web", tags: { tenant: "a" } }, /exactly one/],
      [{ timestamp: "1", source_id: "web", tags: { tenant: "a" }, lag: {} }, /unknown field "lag"/],
      [{ timestamp: "1", source_id: "web", tags: { tenant: "a" }, gauge: { metrics: { x: { value: "1" } } } }, /value/],
    ];
    for (const [v, re] of bad) expect(() => fromProtoJson(v)).toThrow(re);
  });

  it("protojson - a bad batch body is an InvalidEnvelopeError, never a crash", () => {
    for (const text of ["", "{", "[]", '{"batch":3}', '{"batch":[1]}', '{"batch":[],"x":1}']) {
      expect(() => fromProtoJsonBatch(text)).toThrow(InvalidEnvelopeError);
    }
  });

  it("protojson - a payload over 64 KiB is refused", () => {
    const payload = Buffer.alloc(65537).toString("base64");
    expect(() => fromProtoJson({ timestamp: "1", source_id: "web", tags: { tenant: "a" }, log: { payload } })).toThrow(/65536 bytes/);
  });
});
