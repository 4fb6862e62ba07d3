/**
 * Fuzzing the protojson parser (issue 8): it reads the agent's HTTP ingress bodies and every client's frames, so any
 * JSON may reach it. It only ever returns a valid envelope or throws InvalidEnvelopeError; every valid envelope
 * round-trips through its text. `node bench/fuzz.mjs` runs the same properties for longer (FUZZ_RUNS).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Envelope } from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";
import { setOwn } from "./own.js";
import { fromProtoJson, fromProtoJsonBatch, toProtoJson, toProtoJsonBatch } from "./protojson.js";
import { validateEnvelope } from "./validate.js";

const RUNS = { numRuns: Number(process.env.FUZZ_RUNS) || 300 };

function onlyTyped(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof InvalidEnvelopeError)) throw err;
  }
}

const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,20}$/);
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const text = (min = 0) => fc.string({ unit: "grapheme", minLength: min, maxLength: 20 });
/** Keys that plain assignment mishandles are drawn often. */
const key = fc.oneof(text(1), fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty"));
const tags = fc.tuple(name, fc.array(fc.tuple(key, text()), { maxLength: 5 })).map(([tenant, rest]) => {
  const t: Record<string, string> = {};
  for (const [k, v] of rest) if (k !== "tenant") setOwn(t, k, v);
  t.tenant = tenant;
  return t;
});

/** Any valid envelope: one of each kind, with awkward text and extreme integers. */
export const envelopeArb: fc.Arbitrary<Envelope> = fc
  .record({
    timestamp: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
    sourceId: name,
    instanceId: text(),
    tags,
    body: fc.oneof(
      fc.record({ log: fc.record({ payload: fc.uint8Array({ maxLength: 50 }), type: fc.constantFrom("OUT" as const, "ERR" as const) }) }),
      fc.record({ counter: fc.record({ name: text(1), delta: i64, total: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }) }),
      fc.record({
        gauge: fc.record({
          metrics: fc
            .array(fc.tuple(key, fc.record({ unit: text(), value: fc.double({ noNaN: true, noDefaultInfinity: true }) })), {
              minLength: 1,
              maxLength: 4,
            })
            .map((xs) => {
              const m: Record<string, { unit: string; value: number }> = {};
              for (const [k, v] of xs) setOwn(m, k, v);
              return m;
            }),
        }),
      }),
      fc.record({ timer: fc.record({ name: text(1), start: i64, stop: i64 }) }),
      fc.record({ event: fc.record({ title: text(1), body: text() }) }),
    ),
  })
  .map(({ body, ...e }) => ({ ...e, ...body }) as Envelope);

/** What the parser hands back for a payload: a Buffer, compared by content. */
function normal(e: Envelope): unknown {
  const gauge = e.gauge && {
    metrics: Object.fromEntries(Object.entries(e.gauge.metrics).map(([k, v]) => [k, { ...v, value: v.value === 0 ? 0 : v.value }])),
  };
  return {
    ...e,
    ...(e.log ? { log: { ...e.log, payload: Buffer.from(e.log.payload).toString("hex") } } : {}),
    ...(gauge ? { gauge } : {}),
  };
}

describe("protojson fuzz", () => {
  it("protojson fuzz - any JSON value gives a valid envelope or an InvalidEnvelopeError", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        onlyTyped(() => validateEnvelope(fromProtoJson(v)));
      }),
      RUNS,
    );
  });

  it("protojson fuzz - any JS value, even non-JSON ones, only ever raises InvalidEnvelopeError", () => {
    fc.assert(
      fc.property(
        fc.anything({ maxDepth: 3, withBigInt: true, withBoxedValues: true, withMap: true, withTypedArray: true, withNullPrototype: true }),
        (v) => {
          onlyTyped(() => fromProtoJson(v));
        },
      ),
      RUNS,
    );
  });

  it("protojson fuzz - a valid envelope with one field replaced by any JSON still parses or fails typed", () => {
    const keys = ["timestamp", "source_id", "instance_id", "tags", "log", "counter", "gauge", "timer", "event", "extra"];
    fc.assert(
      fc.property(envelopeArb, fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 }), (e, key, v) => {
        const o = JSON.parse(toProtoJson(e)) as Record<string, unknown>;
        o[key] = v;
        onlyTyped(() => validateEnvelope(fromProtoJson(o)));
      }),
      RUNS,
    );
  });

  it("protojson fuzz - any text as a batch body raises only InvalidEnvelopeError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 80 }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ batch: [v] })),
        ),
        (s) => onlyTyped(() => fromProtoJsonBatch(s)),
      ),
      RUNS,
    );
  });

  it("protojson fuzz - every valid envelope round-trips through protojson text, alone and in a batch", () => {
    fc.assert(
      fc.property(fc.array(envelopeArb, { maxLength: 5 }), (es) => {
        for (const e of es) expect(normal(fromProtoJson(JSON.parse(toProtoJson(e))))).toEqual(normal(e));
        expect(fromProtoJsonBatch(toProtoJsonBatch(es)).map(normal)).toEqual(es.map(normal));
      }),
      RUNS,
    );
  });
});

describe("protojson and codec regressions (found by fuzzing)", () => {
  it("protojson regression - a tag or a gauge metric named __proto__ is kept, not swallowed as a prototype", async () => {
    const { decodeBatch, encodeBatch } = await import("./codec.js");
    const e = fromProtoJson(
      JSON.parse(
        '{"timestamp":"1","source_id":"web","tags":{"tenant":"acme","__proto__":"x"},"gauge":{"metrics":{"__proto__":{"unit":"u","value":1}}}}',
      ),
    );
    expect(Object.keys(e.tags)).toEqual(["tenant", "__proto__"]);
    expect(Object.keys(e.gauge?.metrics ?? {})).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(e.tags)).toBe(Object.prototype);
    expect(JSON.parse(toProtoJson(e)).tags).toEqual(JSON.parse('{"tenant":"acme","__proto__":"x"}'));
    const [back] = decodeBatch(encodeBatch([e]));
    expect(Object.keys(back?.tags ?? {})).toEqual(["tenant", "__proto__"]);
    expect(Object.keys(back?.gauge?.metrics ?? {})).toEqual(["__proto__"]);
  });
});
