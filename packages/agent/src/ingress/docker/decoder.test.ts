import { describe, expect, it } from "vitest";
import { Mark } from "../../egress/mark.js";
import { FileLines } from "../file/decoder.js";
import { recordingSink, texts } from "../testing.js";
import { DockerJsonDecoder } from "./decoder.js";
import { placeContainer } from "./labels.js";

const entry = (log: string, stream = "stdout", time = "2026-11-23T10:00:00.000000001Z") => `${JSON.stringify({ log, stream, time })}\n`;

describe("DockerJsonDecoder", () => {
  it("docker decoder - re-joins 16 KiB chunks per stream and keeps the first chunk's time", () => {
    const { sink, out } = recordingSink();
    const lines = new FileLines(new DockerJsonDecoder(sink, recordingSink().counters), () => undefined);
    const a = "a".repeat(16 * 1024);
    const text =
      entry(a, "stdout", "2026-11-23T10:00:00.5Z") + entry("err line\n", "stderr") + entry(a) + entry("tail\n") + entry("second\r\n");
    const mark = new Mark();
    lines.push(Buffer.from(text), mark);
    expect(texts(out)).toEqual(["err line", `${a}${a}tail`, "second"]);
    expect(out[1]?.timestamp).toBe(1795428000500000000n);
    expect(out[0]?.log?.type).toBe("ERR");
  });

  it("docker decoder - the checkpoint offset never passes a held chunk or a half-written line", () => {
    const { sink } = recordingSink();
    const lines = new FileLines(new DockerJsonDecoder(sink, recordingSink().counters), () => undefined);
    const one = entry("done\n");
    const held = entry("part without end");
    lines.push(Buffer.from(one + held + entry("more").slice(0, 10)), new Mark());
    expect(lines.safeOffset()).toBe(Buffer.byteLength(one));
    lines.push(Buffer.from(entry("more").slice(10) + entry(" end\n")), new Mark());
    expect(lines.safeOffset()).toBe(Buffer.byteLength(one + held + entry("more") + entry(" end\n")));
  });

  it("docker decoder - malformed lines are counted and skipped", () => {
    const { sink, out } = recordingSink();
    const counters = recordingSink().counters;
    const lines = new FileLines(new DockerJsonDecoder(sink, counters), () => undefined);
    lines.push(
      Buffer.from(`{"log":"x\\n"\nnot json\n${entry("ok\n")}${JSON.stringify({ log: "y\n", stream: "stdin", time: "x" })}\n`),
      new Mark(),
    );
    expect(texts(out)).toEqual(["ok"]);
    expect(counters.dropped.malformed).toBe(3);
  });
});

describe("placeContainer", () => {
  const d = { tenant: "", logRateLimit: 0 };
  it("labels - tenant, app, process and instance from labels, with documented defaults", () => {
    expect(placeContainer("abcdef0123456789", "/web.1", { "tailrace.tenant": "acme" }, d)).toEqual({
      ok: true,
      info: { tenant: "acme", app: "web-1", processType: "web", instanceId: "abcdef012345", logRateLimit: 0 },
    });
    expect(placeContainer("abc", "/x", {}, d)).toMatchObject({ ok: false, reason: "unmapped" });
    expect(placeContainer("abc", "/x", {}, { ...d, tenant: "fallback" })).toMatchObject({
      ok: true,
      info: { tenant: "fallback", app: "x" },
    });
    expect(placeContainer("abc", "/x", { "tailrace.tenant": "a>b" }, d)).toMatchObject({ ok: false, reason: "invalid_name" });
    expect(placeContainer("abc", "/x", { "tailrace.tenant": "t", "tailrace.log_rate_limit": "2048" }, d)).toMatchObject({
      info: { logRateLimit: 2048 },
    });
  });
});
