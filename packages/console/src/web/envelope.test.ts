import { describe, expect, it } from "vitest";
import { cfTime, decodePayload, envelopeKey, neutralise, PartJoiner, toLines, type WireEnvelope } from "./envelope.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const log = (text: string, extra: Partial<WireEnvelope> = {}): WireEnvelope => ({
  timestamp: "1795453524079630958",
  source_id: "web",
  instance_id: "0",
  tags: { source_type: "APP/PROC/WEB", tenant: "acme" },
  log: { payload: b64(text), type: "OUT" },
  ...extra,
});

describe("envelope", () => {
  it("envelope - renders cf logs lines, one per payload line", () => {
    let n = 0;
    const lines = toLines(log("a\nb"), () => ++n);
    expect(lines.map((l) => `${l.head} ${l.text}`)).toEqual([
      `${cfTime(new Date(1795453524079))} [APP/PROC/WEB/0] OUT a`,
      `${cfTime(new Date(1795453524079))} [APP/PROC/WEB/0] OUT b`,
    ]);
    expect(lines.map((l) => l.seq)).toEqual([1, 2]);
    expect(lines[0]?.cls).toBe("out");
  });

  it("envelope - styles ERR and LGR apart and keeps a drain's id", () => {
    const err = toLines(log("boom", { log: { payload: b64("boom"), type: "ERR" } }), () => 0)[0];
    expect(err?.cls).toBe("err");
    const lgr = toLines(log("drain failed", { tags: { source_type: "LGR", drain_id: "d1" }, instance_id: "" }), () => 0)[0];
    expect(lgr?.cls).toBe("lgr");
    expect(lgr?.drainId).toBe("d1");
    expect(lgr?.head).toMatch(/ \[LGR\] OUT$/);
  });

  it("envelope - makes control characters visible and survives bad UTF-8", () => {
    expect(neutralise("\u001b[31mred")).toBe("^[[31mred");
    expect(decodePayload(Buffer.from([0x61, 0xff, 0x62]).toString("base64"))).toBe("a\ufffdb");
    expect(decodePayload("%%%")).toContain("not valid base64");
  });

  it("envelope - renders gauges as a summary", () => {
    const g: WireEnvelope = {
      timestamp: "1000000",
      instance_id: "1",
      tags: {},
      gauge: { metrics: { cpu: { unit: "percentage", value: 1.5 } } },
    };
    const l = toLines(g, () => 0)[0];
    expect(l?.type).toBe("GAUGE");
    expect(l?.text).toBe("cpu:1.5 percentage");
  });

  it("envelope - re-joins 64 KiB parts", () => {
    const j = new PartJoiner();
    const a = log("héllo ", { tags: { source_type: "APP/PROC/WEB", partial: "true" } });
    expect(j.push(a)).toEqual([]);
    const out = j.push(log("world"));
    expect(out).toHaveLength(1);
    expect(decodePayload(out[0]?.log?.payload)).toBe("héllo world");
  });

  it("envelope - the same envelope has the same key", () => {
    expect(envelopeKey(log("x"))).toBe(envelopeKey(log("x")));
    expect(envelopeKey(log("x"))).not.toBe(envelopeKey(log("y")));
  });
});
