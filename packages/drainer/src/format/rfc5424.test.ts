import type { Envelope } from "@tailrace/envelope";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSyslog, formatSyslogMetric, syslogMessages } from "./rfc5424.js";
import { escapeParamValue, sdName, tagsElement } from "./sd.js";

const T0 = BigInt(Date.UTC(2026, 10, 23, 10, 0, 0)) * 1_000_000n + 123_456_789n;
const TS = "2026-11-23T10:00:00.123456Z";
const tags = { tenant: "acme", app_name: "web", source_type: "APP/PROC/WEB", process_type: "web" };
const TAGS_SD = '[tags@47450 app_name="web" process_type="web" source_type="APP/PROC/WEB" tenant="acme"]';
const on = { disableMetadata: false };
const off = { disableMetadata: true };

function log(payload: string | Uint8Array, over: Partial<Envelope> = {}, type: "OUT" | "ERR" = "OUT"): Envelope {
  return {
    timestamp: T0,
    sourceId: "web",
    instanceId: "0",
    tags,
    log: { payload: typeof payload === "string" ? Buffer.from(payload) : payload, type },
    ...over,
  };
}

function text(b: Buffer | undefined): string {
  return b?.toString("utf8") ?? "<undefined>";
}

/** Test-only PARAM-VALUE unescaper (RFC 5424 6.3.3): a backslash before '"', '\' or ']' is dropped, any other is kept. */
function unescapeParamValue(s: string): string {
  return s.replace(/\\(["\\\]])/g, "$1");
}

/**
 * Test-only reader for a syslog message: the six header fields, the SD elements with their params unescaped, and
 * the MSG bytes. Scans bytes, which is safe because UTF-8 never puts ASCII bytes inside a multi-byte character.
 */
function readSyslog(b: Buffer): { header: string[]; sd: { id: string; params: [string, string][] }[] | "-"; msg: Buffer } {
  let pos = 0;
  const header: string[] = [];
  for (let i = 0; i < 6; i++) {
    const sp = b.indexOf(0x20, pos);
    header.push(b.toString("latin1", pos, sp));
    pos = sp + 1;
  }
  if (b[pos] === 0x2d) return { header, sd: "-", msg: b.subarray(pos + 2) };
  const sd: { id: string; params: [string, string][] }[] = [];
  while (b[pos] === 0x5b) {
    pos++;
    const idEnd = b.indexOf(0x20, pos);
    const close = b.indexOf(0x5d, pos);
    const end = idEnd >= 0 && idEnd < close ? idEnd : close;
    const el = { id: b.toString("utf8", pos, end), params: [] as [string, string][] };
    pos = end;
    while (b[pos] === 0x20) {
      const eq = b.indexOf(0x3d, pos);
      const name = b.toString("utf8", pos + 1, eq);
      expect(b[eq + 1]).toBe(0x22);
      let i = eq + 2;
      while (b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1;
      el.params.push([name, unescapeParamValue(b.toString("utf8", eq + 2, i))]);
      pos = i + 1;
    }
    expect(b[pos]).toBe(0x5d);
    pos++;
    sd.push(el);
  }
  expect(b[pos]).toBe(0x20);
  return { header, sd, msg: b.subarray(pos + 1) };
}

describe("formatSyslog", () => {
  it("rfc5424 - a log line in Cloud Foundry's format", () => {
    expect(text(formatSyslog(log("hello"), on))).toBe(`<14>1 ${TS} acme.web web [APP/PROC/WEB/0] - ${TAGS_SD} hello\n`);
    expect(text(formatSyslog(log("oops", {}, "ERR"), on))).toBe(`<11>1 ${TS} acme.web web [APP/PROC/WEB/0] - ${TAGS_SD} oops\n`);
  });

  it("rfc5424 - disable-metadata leaves the NILVALUE for structured data", () => {
    expect(text(formatSyslog(log("hello"), off))).toBe(`<14>1 ${TS} acme.web web [APP/PROC/WEB/0] - - hello\n`);
    expect(text(formatSyslog(log("hello", { tags: {}, instanceId: "" }), on))).toBe(`<14>1 ${TS} web web - - - hello\n`);
  });

  it("rfc5424 - payload bytes are copied exactly: non-ASCII, invalid UTF-8, NUL and newlines", () => {
    const payload = Buffer.concat([Buffer.from("héllo ✓ "), Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0xc3])]);
    const out = formatSyslog(log(payload), on) as Buffer;
    expect(out.subarray(out.length - payload.length - 1)).toEqual(Buffer.concat([payload, Buffer.from("\n")]));
    expect(text(formatSyslog(log(""), off))).toMatch(/ - - \n$/);
  });

  it("rfc5424 - tag values are escaped and tag keys made SD-NAMEs", () => {
    const e = log("x", { tags: { tenant: "acme", 'bad key="]': 'a"b\\c]d', é: "ü" } });
    expect(text(formatSyslog(e, on))).toContain('[tags@47450 bad_key___="a\\"b\\\\c\\]d" tenant="acme" _="ü"]');
    expect(sdName("x".repeat(40))).toHaveLength(32);
    expect(sdName("")).toBe("_");
  });

  it("rfc5424 - hostname is tenant.app, sanitised like CF and cut to 63 per label", () => {
    const host = (t: Record<string, string>, sourceId = "src") => text(formatSyslog(log("x", { tags: t, sourceId }), off)).split(" ")[2];
    expect(host({ tenant: "Acme Corp", app_name: "my_app--" })).toBe("Acme-Corp.myapp");
    expect(host({ tenant: "acme" })).toBe("acme.src");
    expect(host({ tenant: "a".repeat(100), app_name: "b".repeat(100) })).toBe(`${"a".repeat(63)}.${"b".repeat(63)}`);
    expect(host({ tenant: "!!!", app_name: "***" }, "")).toBe("-");
  });

  it("rfc5424 - app-name is the source id, printable and at most 48 characters", () => {
    const app = (sourceId: string) => text(formatSyslog(log("x", { sourceId }), off)).split(" ")[3];
    expect(app("web-7f3a")).toBe("web-7f3a");
    expect(app("x".repeat(60))).toBe("x".repeat(48));
    expect(app("my app✓")).toBe("my-app-");
    expect(app("")).toBe("-");
  });

  it("rfc5424 - procid is [source_type/instance], without spaces, at most 128", () => {
    const proc = (source_type: string | undefined, instanceId: string) => {
      const t: Record<string, string> = { tenant: "acme" };
      if (source_type !== undefined) t.source_type = source_type;
      return text(formatSyslog(log("x", { tags: t, instanceId }), off)).split(" ")[4] ?? "";
    };
    expect(proc("APP/PROC/WEB", "0")).toBe("[APP/PROC/WEB/0]");
    expect(proc("MY TASK", "2")).toBe("[MY-TASK/2]");
    expect(proc("LGR", "")).toBe("[LGR]");
    expect(proc(undefined, "3")).toBe("[3]");
    expect(proc(undefined, "")).toBe("-");
    const long = proc("T".repeat(200), "i".repeat(100));
    expect(long).toHaveLength(128);
    expect(long).toBe(`[${"T".repeat(125 - 36)}/${"i".repeat(36)}]`);
  });

  it("rfc5424 - other kinds are not log lines", () => {
    const { log: _, ...bare } = log("x");
    expect(formatSyslog({ ...bare, event: { title: "t", body: "b" } }, on)).toBeUndefined();
    expect(formatSyslog({ ...bare, counter: { name: "c", delta: 1n, total: 2n } }, on)).toBeUndefined();
  });

  it("rfc5424 - SD escaping round-trips through a PARAM-VALUE unescaper", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (v) => {
        const escaped = escapeParamValue(v);
        expect(unescapeParamValue(escaped)).toBe(v);
        // No unescaped quote or ']' is left to end the value or the element early.
        expect(escaped.replace(/\\./g, "")).not.toMatch(/["\]]/);
      }),
      { numRuns: 300 },
    );
  });

  it("rfc5424 - the tags element reads back to the tags, sorted by key", () => {
    const key = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,20}$/);
    fc.assert(
      fc.property(fc.dictionary(key, fc.string({ unit: "grapheme", maxLength: 30 }), { minKeys: 1, maxKeys: 8 }), (t) => {
        const el = tagsElement(t) as string;
        const { sd } = readSyslog(Buffer.from(`<14>1 - - - - - ${el} `));
        expect(sd).not.toBe("-");
        if (sd === "-") return;
        expect(sd).toHaveLength(1);
        expect(sd[0]?.id).toBe("tags@47450");
        const sorted = Object.keys(t).sort();
        expect(sd[0]?.params).toEqual(sorted.map((k) => [k, t[k]]));
      }),
      { numRuns: 300 },
    );
  });

  it("rfc5424 - any log envelope gives <14>1 or <11>1, six space-free header fields, and MSG = payload + newline", () => {
    const envelope = fc.record({
      timestamp: fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n),
      sourceId: fc.string({ maxLength: 60 }),
      instanceId: fc.string({ maxLength: 40 }),
      tags: fc.dictionary(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), { maxKeys: 6 }),
      log: fc.record({ payload: fc.uint8Array({ maxLength: 500 }), type: fc.constantFrom<"OUT" | "ERR">("OUT", "ERR") }),
    });
    fc.assert(
      fc.property(envelope, fc.boolean(), (e, disableMetadata) => {
        const out = formatSyslog(e, { disableMetadata }) as Buffer;
        expect(out.toString("latin1", 0, 6)).toBe(e.log.type === "ERR" ? "<11>1 " : "<14>1 ");
        const { header, sd, msg } = readSyslog(out);
        for (const field of header) expect(field).toMatch(/^[\x21-\x7e]+$/);
        expect(header[2]?.length).toBeLessThanOrEqual(255);
        expect(header[3]?.length).toBeLessThanOrEqual(48);
        expect(header[4]?.length).toBeLessThanOrEqual(128);
        expect(header[5]).toBe("-");
        if (disableMetadata || Object.keys(e.tags).length === 0) expect(sd).toBe("-");
        else expect(sd !== "-" && sd[0]?.params.length).toBe(Object.keys(e.tags).length);
        expect(msg).toEqual(Buffer.concat([e.log.payload, Buffer.from("\n")]));
      }),
      { numRuns: 300 },
    );
  });
});

describe("formatSyslogMetric", () => {
  const base = { timestamp: T0, sourceId: "web", instanceId: "1", tags: { tenant: "acme", app_name: "web" } };
  const TAGS = '[tags@47450 app_name="web" tenant="acme"]';

  it("rfc5424 - one message per gauge metric, values written as Go does", () => {
    const e: Envelope = {
      ...base,
      gauge: { metrics: { cpu: { unit: "percentage", value: 0.5 }, memory: { unit: "bytes", value: 536870912 } } },
    };
    expect((formatSyslogMetric(e, on) ?? []).map(text)).toEqual([
      `<14>1 ${TS} acme.web web [1] - [gauge@47450 name="cpu" value="0.5" unit="percentage"]${TAGS} \n`,
      `<14>1 ${TS} acme.web web [1] - [gauge@47450 name="memory" value="5.36870912e+08" unit="bytes"]${TAGS} \n`,
    ]);
  });

  it("rfc5424 - counters and timers, with and without metadata", () => {
    const counter: Envelope = { ...base, counter: { name: "requests", delta: 1n, total: 18446744073709551615n } };
    expect((formatSyslogMetric(counter, on) ?? []).map(text)).toEqual([
      `<14>1 ${TS} acme.web web [1] - [counter@47450 name="requests" total="18446744073709551615" delta="1"]${TAGS} \n`,
    ]);
    const timer: Envelope = { ...base, instanceId: "", timer: { name: 'h"t]tp', start: 10n, stop: 20n } };
    expect((formatSyslogMetric(timer, off) ?? []).map(text)).toEqual([
      `<14>1 ${TS} acme.web web - - [timer@47450 name="h\\"t\\]tp" start="10" stop="20"] \n`,
    ]);
  });

  it("rfc5424 - events and logs are not metrics", () => {
    expect(formatSyslogMetric({ ...base, event: { title: "t", body: "b" } }, on)).toBeUndefined();
    expect(formatSyslogMetric(log("x"), on)).toBeUndefined();
    expect(formatSyslogMetric({ ...base, gauge: { metrics: {} } }, on)).toEqual([]);
  });
});

describe("syslogMessages", () => {
  const counter: Envelope = { ...log("x"), log: undefined, counter: { name: "c", delta: 1n, total: 1n } };
  const event: Envelope = { ...log("x"), log: undefined, event: { title: "t", body: "b" } };

  it("rfc5424 - drain-data picks logs, metrics or both; events never go", () => {
    const count = (e: Envelope, drainData: "logs" | "metrics" | "all") => syslogMessages(e, { disableMetadata: false, drainData }).length;
    expect([count(log("x"), "logs"), count(log("x"), "metrics"), count(log("x"), "all")]).toEqual([1, 0, 1]);
    expect([count(counter, "logs"), count(counter, "metrics"), count(counter, "all")]).toEqual([0, 1, 1]);
    expect([count(event, "logs"), count(event, "metrics"), count(event, "all")]).toEqual([0, 0, 0]);
  });
});
