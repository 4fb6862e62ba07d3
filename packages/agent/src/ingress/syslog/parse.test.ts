import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SyslogParseError } from "./errors.js";
import { parseSyslog, type SdElement, type SyslogMessage } from "./parse.js";

const BOM = "\u{feff}";
/** Fixed receive time, so the RFC 3164 year is deterministic. */
const NOW = new Date("2026-11-23T12:00:00Z");

function parse(s: string | Buffer, now = NOW): SyslogMessage {
  return parseSyslog(typeof s === "string" ? Buffer.from(s, "utf8") : s, { now });
}

/** The error `parse` throws, which must be a SyslogParseError. */
function rejection(s: string | Buffer, now = NOW): SyslogParseError {
  try {
    parse(s, now);
  } catch (err) {
    expect(err).toBeInstanceOf(SyslogParseError);
    return err as SyslogParseError;
  }
  throw new Error(`expected ${JSON.stringify(s.toString())} to be rejected`);
}

function text(m: SyslogMessage): string {
  return m.message.toString("utf8");
}

const HEAD = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ";

describe("rfc5424 - section 6.5 examples", () => {
  it("rfc5424 - example 1, no STRUCTURED-DATA, BOM stripped from MSG", () => {
    const m = parse(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed for lonvick on /dev/pts/8`);
    expect(m).toEqual({
      format: "rfc5424",
      facility: 4,
      severity: 2,
      timestamp: new Date("2003-10-11T22:14:15.003Z"),
      timestampNs: 1065910455003000000n,
      hostname: "mymachine.example.com",
      appName: "su",
      procId: undefined,
      msgId: "ID47",
      structuredData: [],
      message: Buffer.from("'su root' failed for lonvick on /dev/pts/8"),
    });
  });

  it("rfc5424 - example 2, numeric offset and microseconds, no BOM", () => {
    const m = parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.");
    expect(m.facility).toBe(20);
    expect(m.severity).toBe(5);
    expect(m.timestamp?.toISOString()).toBe("2003-08-24T12:14:15.000Z");
    expect(m.timestampNs).toBe(1061727255000003000n);
    expect(m.hostname).toBe("192.0.2.1");
    expect(m.appName).toBe("myproc");
    expect(m.procId).toBe("8710");
    expect(m.msgId).toBeUndefined();
    expect(m.structuredData).toEqual([]);
    expect(text(m)).toBe("%% It's time to make the do-nuts.");
  });

  it("rfc5424 - example 3, STRUCTURED-DATA and a BOM-prefixed MSG", () => {
    const m = parse(`${HEAD}[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ${BOM}An application event log entry...`);
    expect(m.structuredData).toEqual([
      {
        id: "exampleSDID@32473",
        params: [
          { name: "iut", value: "3" },
          { name: "eventSource", value: "Application" },
          { name: "eventID", value: "1011" },
        ],
      },
    ]);
    expect(text(m)).toBe("An application event log entry...");
  });

  it("rfc5424 - example 4, two SD-ELEMENTs and no MSG", () => {
    const m = parse(`${HEAD}[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`);
    expect(m.structuredData.map((e) => e.id)).toEqual(["exampleSDID@32473", "examplePriority@32473"]);
    expect(m.structuredData[1]?.params).toEqual([{ name: "class", value: "high" }]);
    expect(m.message.length).toBe(0);
  });

  it("rfc5424 - the BOM is stripped but the bytes after it are kept as sent", () => {
    const raw = Buffer.concat([Buffer.from(`${HEAD}- `), Buffer.from([0xef, 0xbb, 0xbf, 0x68, 0xff, 0x69])]);
    expect([...parse(raw).message]).toEqual([0x68, 0xff, 0x69]);
  });
});

describe("rfc5424 - real senders", () => {
  it("rfc5424 - logger --rfc5424 with timeQuality", () => {
    const m = parse(
      '<13>1 2026-11-23T10:00:00.123456+01:00 myhost myuser - - [timeQuality tzKnown="1" isSynced="1" syncAccuracy="500000"] hello world',
    );
    expect(m.facility).toBe(1);
    expect(m.severity).toBe(5);
    expect(m.timestamp?.toISOString()).toBe("2026-11-23T09:00:00.123Z");
    expect(m.timestampNs).toBe(1795424400123456000n);
    expect(m.appName).toBe("myuser");
    expect(m.procId).toBeUndefined();
    expect(m.structuredData).toEqual([
      {
        id: "timeQuality",
        params: [
          { name: "tzKnown", value: "1" },
          { name: "isSynced", value: "1" },
          { name: "syncAccuracy", value: "500000" },
        ],
      },
    ]);
    expect(text(m)).toBe("hello world");
  });

  it("rfc5424 - rsyslog RSYSLOG_SyslogProtocol23Format", () => {
    const m = parse('<13>1 2026-11-23T10:00:00.123456+00:00 host app 1234 - [timeQuality tzKnown="1" isSynced="0"] hello');
    expect(m.timestampNs).toBe(1795428000123456000n);
    expect(m.hostname).toBe("host");
    expect(m.procId).toBe("1234");
    expect(m.msgId).toBeUndefined();
    expect(m.structuredData[0]?.params).toEqual([
      { name: "tzKnown", value: "1" },
      { name: "isSynced", value: "0" },
    ]);
    expect(text(m)).toBe("hello");
  });

  it("rfc5424 - rsyslog's leading space in %msg% is kept", () => {
    expect(text(parse("<13>1 2026-11-23T10:00:00Z host app - - -  hello"))).toBe(" hello");
  });

  it("rfc5424 - every NILVALUE", () => {
    const m = parse("<0>1 - - - - - -");
    expect(m).toMatchObject({ facility: 0, severity: 0, structuredData: [] });
    expect(m.timestamp).toBeUndefined();
    expect(m.timestampNs).toBeUndefined();
    expect(m.hostname).toBeUndefined();
    expect(m.appName).toBeUndefined();
    expect(m.procId).toBeUndefined();
    expect(m.msgId).toBeUndefined();
    expect(m.message.length).toBe(0);
  });

  it("rfc5424 - an empty MSG after SP", () => {
    expect(parse(`${HEAD}- `).message.length).toBe(0);
  });

  it("rfc5424 - MSG keeps LF, NUL and invalid UTF-8", () => {
    const body = Buffer.from([0x61, 0x0a, 0x00, 0xc3, 0x28, 0x62]);
    expect(parse(Buffer.concat([Buffer.from(`${HEAD}- `), body])).message).toEqual(body);
  });

  it("rfc5424 - a NILVALUE-looking header field of two dashes is a value", () => {
    expect(parse("<13>1 - -- - - - -").hostname).toBe("--");
  });
});

describe("rfc5424 - PRI and VERSION", () => {
  it("pri - <0> and <191> are the bounds", () => {
    expect(parse("<0>1 - - - - - -")).toMatchObject({ facility: 0, severity: 0 });
    expect(parse("<191>1 - - - - - -")).toMatchObject({ facility: 23, severity: 7 });
  });

  it("pri - rejects values above 191", () => {
    expect(rejection("<192>1 - - - - - -")).toMatchObject({ reason: "PRI above 191", offset: 1 });
  });

  it("pri - rejects leading zeros", () => {
    expect(rejection("<013>1 - - - - - -")).toMatchObject({ reason: "PRI has a leading zero", offset: 1 });
    expect(rejection("<00>1 - - - - - -").reason).toBe("PRI has a leading zero");
  });

  it("pri - rejects more than three digits, no digits, no '<' and no '>'", () => {
    expect(rejection("<1000>1 - - - - - -")).toMatchObject({ reason: "PRI longer than 3 digits", offset: 4 });
    expect(rejection("<>1 - - - - - -")).toMatchObject({ reason: "PRI has no digits", offset: 1 });
    expect(rejection("13>1 - - - - - -").offset).toBe(0);
    expect(rejection("<13 1 - - - - - -").offset).toBe(3);
    expect(rejection("<13").offset).toBe(3);
    expect(rejection("").offset).toBe(0);
  });

  it("version - only 1 is supported", () => {
    expect(rejection("<13>2 - - - - - -")).toMatchObject({ reason: "unsupported syslog VERSION (only 1 is defined)", offset: 4 });
    expect(rejection("<13>10 - - - - - -").offset).toBe(4);
    expect(() => parse("<13>1")).toThrow(SyslogParseError);
  });
});

describe("rfc5424 - TIMESTAMP", () => {
  const at = (ts: string) => parse(`<13>1 ${ts} h a - - -`);

  it("timestamp - the section 6.2.3.1 examples", () => {
    expect(at("1985-04-12T23:20:50.52Z").timestampNs).toBe(482196050520000000n);
    expect(at("1985-04-12T19:20:50.52-04:00").timestampNs).toBe(482196050520000000n);
    expect(at("2003-10-11T22:14:15.003Z").timestamp?.toISOString()).toBe("2003-10-11T22:14:15.003Z");
    expect(at("2003-08-24T05:14:15.000003-07:00").timestampNs).toBe(1061727255000003000n);
  });

  it("timestamp - rejects more than six fraction digits (example 5)", () => {
    expect(rejection("<13>1 2003-08-24T05:14:15.000000003-07:00 h a - - -")).toMatchObject({
      reason: "TIME-SECFRAC longer than 6 digits",
      offset: 32,
    });
  });

  it("timestamp - keeps every fraction digit in timestampNs and truncates the Date to milliseconds", () => {
    const m = at("2026-01-02T03:04:05.987654+00:00");
    expect(m.timestampNs).toBe(1767323045987654000n);
    expect(m.timestamp?.toISOString()).toBe("2026-01-02T03:04:05.987Z");
    expect(at("2026-01-02T03:04:05.9Z").timestampNs).toBe(1767323045900000000n);
  });

  it("timestamp - years below 100 are not mapped to the 1900s", () => {
    expect(at("0001-01-01T00:00:00Z").timestamp?.toISOString()).toBe("0001-01-01T00:00:00.000Z");
    const expected = new Date(Date.UTC(2000, 11, 31, 23, 59, 59, 500));
    expected.setUTCFullYear(99);
    expect(at("0099-12-31T23:59:59.5Z").timestamp).toEqual(expected);
    expect(at("0099-12-31T23:59:59.5Z").timestampNs).toBe(BigInt(expected.getTime()) * 1_000_000n);
  });

  it("timestamp - pre-epoch fractions add forward", () => {
    const m = at("1969-12-31T23:59:59.250Z");
    expect(m.timestampNs).toBe(-750000000n);
    expect(m.timestamp?.getTime()).toBe(-750);
  });

  it("timestamp - accepts 29 February in a leap year only", () => {
    expect(at("2024-02-29T00:00:00Z").timestamp?.toISOString()).toBe("2024-02-29T00:00:00.000Z");
    expect(at("2000-02-29T00:00:00Z").timestamp?.toISOString()).toBe("2000-02-29T00:00:00.000Z");
    expect(rejection("<13>1 2023-02-29T00:00:00Z h a - - -").offset).toBe(14);
    expect(rejection("<13>1 1900-02-29T00:00:00Z h a - - -").offset).toBe(14);
    expect(rejection("<13>1 2026-04-31T00:00:00Z h a - - -").offset).toBe(14);
  });

  it("timestamp - rejects out-of-range fields and leap seconds", () => {
    for (const [ts, offset] of [
      ["2026-00-01T00:00:00Z", 11],
      ["2026-13-01T00:00:00Z", 11],
      ["2026-01-00T00:00:00Z", 14],
      ["2026-01-01T24:00:00Z", 17],
      ["2026-01-01T00:60:00Z", 20],
      ["2016-12-31T23:59:60Z", 23],
      ["2026-01-01T00:00:00+24:00", 26],
      ["2026-01-01T00:00:00+00:60", 29],
    ] as const) {
      expect(rejection(`<13>1 ${ts} h a - - -`).offset, ts).toBe(offset);
    }
  });

  it("timestamp - 'T' and 'Z' must be upper case", () => {
    expect(rejection("<13>1 2026-01-01t00:00:00Z h a - - -").reason).toBe("TIMESTAMP 'T' must be upper case");
    expect(rejection("<13>1 2026-01-01T00:00:00z h a - - -").reason).toBe("TIMESTAMP 'Z' must be upper case");
  });

  it("timestamp - rejects other RFC 3339 and ISO 8601 shapes", () => {
    for (const ts of [
      "2026-01-01T00:00:00",
      "2026-01-01 00:00:00Z",
      "2026-01-01T00:00:00.Z",
      "2026-01-01T00:00:00+0000",
      "2026-01-01T00:00:00+00",
      "2026-1-01T00:00:00Z",
      "26-01-01T00:00:00Z",
      "20260101T000000Z",
      "-2026-01-01T00:00:00Z",
    ]) {
      expect(() => parse(`<13>1 ${ts} h a - - -`), ts).toThrow(SyslogParseError);
    }
  });
});

describe("rfc5424 - header fields", () => {
  const fields = (host: string, app: string, proc: string, msgid: string) => `<13>1 - ${host} ${app} ${proc} ${msgid} -`;

  it("header - accepts each field at its maximum length", () => {
    const m = parse(fields("h".repeat(255), "a".repeat(48), "p".repeat(128), "m".repeat(32)));
    expect(m.hostname).toHaveLength(255);
    expect(m.appName).toHaveLength(48);
    expect(m.procId).toHaveLength(128);
    expect(m.msgId).toHaveLength(32);
  });

  it("header - rejects each field one byte over its maximum, at that byte", () => {
    expect(rejection(fields("h".repeat(256), "a", "p", "m"))).toMatchObject({ reason: "HOSTNAME longer than 255 bytes", offset: 8 + 255 });
    expect(rejection(fields("h", "a".repeat(49), "p", "m"))).toMatchObject({ reason: "APP-NAME longer than 48 bytes", offset: 10 + 48 });
    expect(rejection(fields("h", "a", "p".repeat(129), "m"))).toMatchObject({ reason: "PROCID longer than 128 bytes", offset: 12 + 128 });
    expect(rejection(fields("h", "a", "p", "m".repeat(33)))).toMatchObject({ reason: "MSGID longer than 32 bytes", offset: 14 + 32 });
  });

  it("header - rejects bytes outside printable US-ASCII", () => {
    expect(rejection(fields("hé", "a", "p", "m"))).toMatchObject({ reason: "HOSTNAME has a byte outside printable US-ASCII", offset: 9 });
    expect(rejection(fields("h", "a\tb", "p", "m")).reason).toBe("APP-NAME has a byte outside printable US-ASCII");
    expect(rejection(Buffer.from("<13>1 - h a p \x7f -", "latin1")).reason).toBe("MSGID has a byte outside printable US-ASCII");
  });

  it("header - rejects empty fields (two SPs) and a message that ends early", () => {
    expect(rejection("<13>1 -  a p m -")).toMatchObject({ reason: "empty HOSTNAME", offset: 8 });
    expect(rejection("<13>1 - h a p m")).toMatchObject({ reason: "message ends where SP after MSGID belongs", offset: 15 });
    expect(rejection("<13>1 - h a p m ")).toMatchObject({ reason: "message ends where STRUCTURED-DATA belongs", offset: 16 });
    expect(rejection("<13>1 -")).toMatchObject({ reason: "message ends where SP after TIMESTAMP belongs" });
  });

  it("header - rejects a NILVALUE TIMESTAMP with trailing characters", () => {
    expect(() => parse("<13>1 -x h a p m -")).toThrow(SyslogParseError);
  });
});

describe("rfc5424 - STRUCTURED-DATA", () => {
  const sd = (s: string): SdElement[] => parse(`<13>1 - h a - - ${s}`).structuredData;
  const sdRejection = (s: string) => rejection(`<13>1 - h a - - ${s}`);
  const SD_AT = 16;

  it('sd - unescapes \\", \\\\ and \\]', () => {
    expect(sd(String.raw`[x@1 v="a\"b\\c\]d"]`)[0]?.params[0]?.value).toBe(String.raw`a"b\c]d`);
  });

  it("sd - keeps a backslash before any other character, as RFC 5424 6.3.3 says", () => {
    expect(sd(String.raw`[x@1 v="C:\temp\n"]`)).toEqual([{ id: "x@1", params: [{ name: "v", value: String.raw`C:\temp\n` }] }]);
    // `\\` is an escape, so the `n` after it is plain; the last `\` escapes nothing and stays.
    expect(sd(String.raw`[x@1 v="\\n\x"]`)[0]?.params[0]?.value).toBe(String.raw`\n\x`);
  });

  it("sd - a trailing escaped backslash closes the value", () => {
    expect(sd(String.raw`[x@1 v="a\\"]`)[0]?.params[0]?.value).toBe("a\\");
  });

  it("sd - keeps repeated PARAM-NAMEs in order", () => {
    expect(sd('[x@1 ip="10.0.0.1" ip="10.0.0.2" n="1"]')[0]?.params).toEqual([
      { name: "ip", value: "10.0.0.1" },
      { name: "ip", value: "10.0.0.2" },
      { name: "n", value: "1" },
    ]);
  });

  it("sd - decodes UTF-8 values and keeps a leading U+FEFF and empty values", () => {
    expect(sd(`[x@1 a="héllo ✓" b="${BOM}x" c=""]`)[0]?.params.map((p) => p.value)).toEqual(["héllo ✓", `${BOM}x`, ""]);
  });

  it("sd - an element without params", () => {
    expect(sd('[origin][meta@1 x="1"]')).toEqual([
      { id: "origin", params: [] },
      { id: "meta@1", params: [{ name: "x", value: "1" }] },
    ]);
  });

  it("sd - SP between elements starts MSG (section 6.3.5 example 3)", () => {
    const m = parse(`${HEAD}[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] [examplePriority@32473 class="high"]`);
    expect(m.structuredData).toHaveLength(1);
    expect(text(m)).toBe('[examplePriority@32473 class="high"]');
  });

  it("sd - rejects SP before the SD-ID (section 6.3.5 example 4)", () => {
    const e = rejection(`${HEAD}[ exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`);
    expect(e).toMatchObject({ reason: "expected SD-ID", offset: HEAD.length + 1 });
  });

  it("sd - SD-NAMEs are 1-32 characters", () => {
    expect(sd(`[${"i".repeat(32)} ${"p".repeat(32)}="v"]`)[0]?.id).toHaveLength(32);
    expect(sdRejection(`[${"i".repeat(33)}]`)).toMatchObject({ reason: "SD-ID longer than 32 characters", offset: SD_AT + 33 });
    expect(sdRejection(`[x ${"p".repeat(33)}="v"]`)).toMatchObject({
      reason: "PARAM-NAME longer than 32 characters",
      offset: SD_AT + 3 + 32,
    });
    expect(sdRejection('[x ="v"]').reason).toBe("expected PARAM-NAME");
  });

  it("sd - SD-NAMEs exclude '=', ']', '\"' and non-ASCII", () => {
    expect(sdRejection('[a=b x="1"]')).toMatchObject({ reason: "expected SP or ']' in SD-ELEMENT", offset: SD_AT + 2 });
    expect(sdRejection('[a"b]').reason).toBe("expected SP or ']' in SD-ELEMENT");
    expect(sdRejection('[x p]="1"]').reason).toBe("expected '=' after PARAM-NAME");
    expect(sdRejection("[é]").reason).toBe("expected SD-ID");
  });

  it("sd - rejects an unescaped ']' in a value, at that byte", () => {
    expect(sdRejection('[x v="a]b"]')).toMatchObject({ reason: "unescaped ']' in PARAM-VALUE", offset: SD_AT + 7 });
  });

  it("sd - rejects invalid UTF-8 in a value", () => {
    const raw = Buffer.concat([Buffer.from('<13>1 - h a - - [x v="'), Buffer.from([0xc3, 0x28]), Buffer.from('"]')]);
    const e = rejection(raw);
    expect(e).toMatchObject({ reason: "PARAM-VALUE is not valid UTF-8", offset: SD_AT + 6 });
    expect(e.cause).toBeInstanceOf(TypeError);
  });

  it("sd - rejects duplicate SD-IDs (RFC 5424 6.3.2)", () => {
    expect(sdRejection('[x@1 a="1"][x@1 a="2"]')).toMatchObject({ reason: 'duplicate SD-ID "x@1"', offset: SD_AT + 12 });
  });

  it("sd - rejects unterminated elements and values, a stray SP and missing quotes", () => {
    expect(sdRejection('[x v="1"')).toMatchObject({ reason: "SD-ELEMENT not closed with ']'" });
    expect(sdRejection('[x v="1')).toMatchObject({ reason: "PARAM-VALUE not closed with '\"'", offset: SD_AT + 6 });
    expect(sdRejection('[x v="1\\"').reason).toBe("PARAM-VALUE not closed with '\"'");
    expect(sdRejection('[x v="1" ]').reason).toBe("expected PARAM-NAME");
    expect(sdRejection("[x v=1]").reason).toBe("expected '\"' before PARAM-VALUE");
    expect(sdRejection("[x v]").reason).toBe("expected '=' after PARAM-NAME");
    expect(sdRejection("[").reason).toBe("message ends where SD-ID belongs");
  });

  it("sd - rejects anything but '-' or '[' and a non-SP after STRUCTURED-DATA", () => {
    expect(sdRejection("hello")).toMatchObject({ reason: "expected STRUCTURED-DATA ('-' or '[')", offset: SD_AT });
    expect(sdRejection("-hello")).toMatchObject({ reason: "expected SP after STRUCTURED-DATA", offset: SD_AT + 1 });
    expect(sdRejection('[x v="1"]hello').reason).toBe("expected SP after STRUCTURED-DATA");
  });
});

describe("rfc3164 - section 5.4 examples", () => {
  it("rfc3164 - example 1 parses with the year inferred", () => {
    expect(parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")).toEqual({
      format: "rfc3164",
      facility: 4,
      severity: 2,
      timestamp: new Date("2026-10-11T22:14:15Z"),
      timestampNs: 1791756855000000000n,
      hostname: "mymachine",
      appName: "su",
      procId: undefined,
      msgId: undefined,
      structuredData: [],
      message: Buffer.from("'su root' failed for lonvick on /dev/pts/8"),
    });
  });

  it("rfc3164 - example 2 has no PRI and is rejected", () => {
    expect(rejection("Use the BFG!")).toMatchObject({ reason: "missing PRI: a syslog message starts with '<'", offset: 0 });
  });

  it("rfc3164 - example 3 with a zone and year after the time is rejected", () => {
    const e = rejection(
      "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK # Devices: Mixer=OK, Jelly_Injector=OK, Frier=OK # Transport: Conveyer1=OK, Conveyer2=OK # %%",
    );
    expect(e).toMatchObject({ reason: "expected ':' after TAG", offset: 29 });
  });

  it("rfc3164 - example 4 with a leading year is rejected", () => {
    const e = rejection("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!");
    expect(e.offset).toBe(7);
  });
});

describe("rfc3164 - fields", () => {
  it("rfc3164 - TAG[pid] and the optional SP after ':'", () => {
    const m = parse("<86>Nov 23 11:59:00 web01 sshd[1243]:Accepted publickey");
    expect(m).toMatchObject({ facility: 10, severity: 6, hostname: "web01", appName: "sshd", procId: "1243" });
    expect(text(m)).toBe("Accepted publickey");
    expect(text(parse("<86>Nov 23 11:59:00 web01 sshd[1243]:  two spaces"))).toBe(" two spaces");
  });

  it("rfc3164 - TAG allows '-', '_', '.' and '/' as real programs use them", () => {
    expect(parse("<22>Nov 23 11:59:00 mx postfix/smtpd[77]: connect").appName).toBe("postfix/smtpd");
    expect(parse("<30>Nov 23 11:59:00 h systemd-logind[1]: x").appName).toBe("systemd-logind");
    expect(parse("<30>Nov 23 11:59:00 h my_app.v2: x").appName).toBe("my_app.v2");
  });

  it("rfc3164 - TAG is 1-32 characters", () => {
    expect(parse(`<13>Nov 23 11:59:00 h ${"t".repeat(32)}: x`).appName).toHaveLength(32);
    expect(rejection(`<13>Nov 23 11:59:00 h ${"t".repeat(33)}: x`)).toMatchObject({
      reason: "TAG longer than 32 characters",
      offset: 22 + 32,
    });
    expect(rejection("<13>Nov 23 11:59:00 h : x")).toMatchObject({ reason: "expected TAG", offset: 22 });
    expect(rejection("<13>Nov 23 11:59:00 h ")).toMatchObject({ reason: "message ends where TAG belongs" });
  });

  it("rfc3164 - requires ':' after the TAG or [pid]", () => {
    expect(rejection("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!")).toMatchObject({ reason: "expected ':' after TAG", offset: 33 });
    expect(rejection("<13>Nov 23 11:59:00 h app[1] x").reason).toBe("expected ':' after TAG");
    expect(rejection("<13>Nov 23 11:59:00 h app").reason).toBe("message ends where ':' after TAG belongs");
  });

  it("rfc3164 - rejects a bad [pid]", () => {
    expect(rejection("<13>Nov 23 11:59:00 h app[]: x").reason).toBe("empty [pid] after TAG");
    expect(rejection("<13>Nov 23 11:59:00 h app[1: x").reason).toBe("expected ']' after pid");
    expect(rejection(`<13>Nov 23 11:59:00 h app[${"9".repeat(129)}]: x`).reason).toBe("pid longer than 128 characters");
  });

  it("rfc3164 - a missing HOSTNAME is rejected, not read as the TAG", () => {
    expect(rejection("<13>Nov 23 11:59:00 su: hello")).toMatchObject({ reason: "missing HOSTNAME (found a TAG in its place)", offset: 20 });
    expect(rejection("<13>Nov 23 11:59:00 sshd[12]: hello").reason).toBe("missing HOSTNAME (found a TAG in its place)");
    expect(rejection("<13>Nov 23 11:59:00  app: x").reason).toBe("empty HOSTNAME");
  });

  it("rfc3164 - HOSTNAME may be an IPv4 or IPv6 address", () => {
    expect(parse("<13>Nov 23 11:59:00 192.0.2.7 app: x").hostname).toBe("192.0.2.7");
    expect(parse("<13>Nov 23 11:59:00 2001:db8::7 app: x").hostname).toBe("2001:db8::7");
  });

  it("rfc3164 - MSG is kept as bytes and may be empty", () => {
    const raw = Buffer.concat([Buffer.from("<13>Nov 23 11:59:00 h app: "), Buffer.from([0xff, 0xfe, 0x0a])]);
    expect([...parse(raw).message]).toEqual([0xff, 0xfe, 0x0a]);
    expect(parse("<13>Nov 23 11:59:00 h app:").message.length).toBe(0);
  });

  it("rfc3164 - PRI rules are the same as for RFC 5424", () => {
    expect(rejection("<192>Nov 23 11:59:00 h app: x").reason).toBe("PRI above 191");
    expect(rejection("<07>Nov 23 11:59:00 h app: x").reason).toBe("PRI has a leading zero");
    expect(parse("<0>Nov 23 11:59:00 h app: x").severity).toBe(0);
  });
});

describe("rfc3164 - TIMESTAMP", () => {
  const ts = (stamp: string, now = NOW) => parse(`<13>${stamp} h app: x`, now).timestamp?.toISOString();

  it("rfc3164 - the day is space-padded, or zero-padded as some senders do", () => {
    expect(ts("Oct  5 01:02:03")).toBe("2026-10-05T01:02:03.000Z");
    expect(ts("Oct 05 01:02:03")).toBe("2026-10-05T01:02:03.000Z");
    expect(ts("Oct 31 01:02:03")).toBe("2026-10-31T01:02:03.000Z");
  });

  it("rfc3164 - rejects an unpadded day, day 0 and bad months", () => {
    expect(rejection("<13>Oct 5 01:02:03 h app: x")).toMatchObject({ reason: "expected 2-digit TIMESTAMP day", offset: 9 });
    expect(rejection("<13>Oct 00 01:02:03 h app: x").reason).toBe("TIMESTAMP day out of range 1-31");
    expect(rejection("<13>Oct  0 01:02:03 h app: x").reason).toBe("TIMESTAMP day out of range 1-31");
    expect(rejection("<13>Oct 32 01:02:03 h app: x").reason).toBe("TIMESTAMP day out of range 1-31");
    expect(rejection("<13>oct 11 01:02:03 h app: x")).toMatchObject({ reason: "expected RFC 3164 TIMESTAMP (Mmm dd hh:mm:ss)", offset: 4 });
    expect(rejection("<13>October 11 01:02:03 h app: x").offset).toBe(7);
    expect(rejection("<13>Nov 31 01:02:03 h app: x").reason).toMatch(/^TIMESTAMP day out of range for Nov/);
  });

  it("rfc3164 - rejects bad times and a missing timestamp", () => {
    expect(rejection("<13>Oct 11 24:00:00 h app: x").reason).toBe("TIMESTAMP hour out of range 0-23");
    expect(rejection("<13>Oct 11 23:60:00 h app: x").reason).toBe("TIMESTAMP minute out of range 0-59");
    expect(rejection("<13>Oct 11 23:59:60 h app: x").reason).toBe("TIMESTAMP second out of range 0-59");
    expect(rejection("<13>Oct 11 1:02:03 h app: x").offset).toBe(12);
    expect(rejection("<13>h app: x").offset).toBe(4);
    expect(rejection("<13>").offset).toBe(4);
  });

  it("rfc3164 - year is this year when not more than a day ahead of now", () => {
    expect(ts("Nov 24 11:59:59")).toBe("2026-11-24T11:59:59.000Z");
    expect(ts("Nov 24 12:00:00")).toBe("2026-11-24T12:00:00.000Z");
    expect(ts("Nov 24 12:00:01")).toBe("2025-11-24T12:00:01.000Z");
    expect(ts("Dec 25 00:00:00")).toBe("2025-12-25T00:00:00.000Z");
    expect(ts("Jan  1 00:00:00")).toBe("2026-01-01T00:00:00.000Z");
  });

  it("rfc3164 - across New Year the year follows the nearer side", () => {
    expect(ts("Dec 31 23:59:50", new Date("2026-01-01T00:00:30Z"))).toBe("2025-12-31T23:59:50.000Z");
    expect(ts("Jan  1 00:00:05", new Date("2026-12-31T23:59:50Z"))).toBe("2027-01-01T00:00:05.000Z");
  });

  it("rfc3164 - 29 February resolves to the last leap year", () => {
    expect(ts("Feb 29 10:00:00", new Date("2025-03-01T00:00:00Z"))).toBe("2024-02-29T10:00:00.000Z");
    expect(ts("Feb 29 10:00:00", new Date("2028-03-01T00:00:00Z"))).toBe("2028-02-29T10:00:00.000Z");
    expect(rejection("<13>Feb 29 10:00:00 h app: x", new Date("2027-03-01T00:00:00Z")).offset).toBe(8);
  });

  it("rfc3164 - defaults to the current time", () => {
    const m = parseSyslog(Buffer.from("<13>Jan  1 00:00:00 h app: x"));
    const year = m.timestamp?.getUTCFullYear();
    expect([new Date().getUTCFullYear(), new Date().getUTCFullYear() + 1]).toContain(year);
  });

  it("rfc3164 - accepts an RFC 5424 TIMESTAMP as rsyslog's RSYSLOG_ForwardFormat sends", () => {
    const m = parse("<13>2026-11-23T10:00:00.123456+00:00 host app[1]: hi");
    expect(m).toMatchObject({ format: "rfc3164", hostname: "host", appName: "app", procId: "1" });
    expect(m.timestampNs).toBe(1795428000123456000n);
    expect(rejection("<13>2026-11-23 10:00:00 host app: hi").offset).toBe(14);
  });
});

describe("errors - SyslogParseError", () => {
  it("errors - names the rule and offset but not the content", () => {
    const e = rejection('<13>1 - h a - - [x secret="hunter2]"]');
    expect(e.name).toBe("SyslogParseError");
    expect(e.message).toBe("unescaped ']' in PARAM-VALUE at byte 34");
    expect(e.message).not.toContain("hunter2");
    expect(e).toBeInstanceOf(Error);
  });
});

// ---- property-based ----------------------------------------------------------------------------------------------

const RUNS = { numRuns: 300 };

/** Valid messages to mutate, so random input reaches deep into both grammars. */
const SEEDS = [
  `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - ${BOM}'su root' failed`,
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\\]"][p@1 class="high"] msg',
  "<34>Oct 11 22:14:15 mymachine su[12]: 'su root' failed",
  "<13>2026-11-23T10:00:00.123456+00:00 host app[1]: hi",
].map((s) => Buffer.from(s));

const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete", "cut")), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([seed, edits]) => {
    let b = Buffer.from(seed);
    for (const [pos, byte, op] of edits) {
      const at = b.length === 0 ? 0 : pos % (b.length + 1);
      if (op === "set" && at < b.length) b[at] = byte;
      else if (op === "insert") b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
      else if (op === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else if (op === "cut") b = b.subarray(0, at);
    }
    return b;
  });

const anyInput = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
  fc
    .tuple(fc.constantFrom("<13>1 ", "<34>", "<0>1 - h a p m ", "<13>Oct 11 22:14:15 h "), fc.uint8Array({ maxLength: 200 }))
    .map(([p, a]) => Buffer.concat([Buffer.from(p), a])),
  mutated,
);

function checkNeverThrowsOther(input: Buffer): void {
  try {
    const m = parseSyslog(input, { now: NOW });
    expect(m.facility).toBeLessThanOrEqual(23);
    expect(m.severity).toBeLessThanOrEqual(7);
  } catch (err) {
    if (!(err instanceof SyslogParseError)) throw err;
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(input.length);
  }
}

describe("property - robustness", () => {
  it("property - arbitrary bytes either parse or throw SyslogParseError with an in-range offset", () => {
    fc.assert(fc.property(anyInput, checkNeverThrowsOther), RUNS);
  });
});

// Generators for valid RFC 5424 parts, to check that what we print we parse back unchanged.
const printable = (min: number, max: number) =>
  fc
    .array(fc.integer({ min: 0x21, max: 0x7e }), { minLength: min, maxLength: max })
    .map((cs) => String.fromCharCode(...cs))
    .filter((s) => s !== "-");
const sdName = fc
  .array(
    fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x3d && c !== 0x5d && c !== 0x22),
    { minLength: 1, maxLength: 32 },
  )
  .map((cs) => String.fromCharCode(...cs));
const sdElements = fc.uniqueArray(
  fc.record({
    id: sdName,
    params: fc.array(fc.record({ name: sdName, value: fc.string({ unit: "grapheme", maxLength: 20 }) }), { maxLength: 4 }),
  }),
  { selector: (e) => e.id, maxLength: 3 },
);
const escapeValue = (v: string) => v.replace(/[\\"\]]/g, (ch) => `\\${ch}`);

describe("property - RFC 5424 round trip", () => {
  it("property - printed messages parse back to the same fields", () => {
    fc.assert(
      fc.property(
        fc.record({
          pri: fc.integer({ min: 0, max: 191 }),
          ms: fc.integer({ min: 0, max: 253402300799999 }),
          hostname: fc.option(printable(1, 255), { nil: undefined }),
          appName: fc.option(printable(1, 48), { nil: undefined }),
          procId: fc.option(printable(1, 128), { nil: undefined }),
          msgId: fc.option(printable(1, 32), { nil: undefined }),
          sd: sdElements,
          message: fc.option(fc.uint8Array({ maxLength: 100 }), { nil: undefined }),
        }),
        (r) => {
          const sd =
            r.sd.length === 0
              ? "-"
              : r.sd.map((e) => `[${e.id}${e.params.map((p) => ` ${p.name}="${escapeValue(p.value)}"`).join("")}]`).join("");
          const head = `<${r.pri}>1 ${new Date(r.ms).toISOString()} ${r.hostname ?? "-"} ${r.appName ?? "-"} ${r.procId ?? "-"} ${r.msgId ?? "-"} ${sd}`;
          const body = r.message === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from(" \u{feff}"), r.message]);
          const m = parseSyslog(Buffer.concat([Buffer.from(head), body]));
          expect(m).toEqual({
            format: "rfc5424",
            facility: r.pri >> 3,
            severity: r.pri & 7,
            timestamp: new Date(r.ms),
            timestampNs: BigInt(r.ms) * 1_000_000n,
            hostname: r.hostname,
            appName: r.appName,
            procId: r.procId,
            msgId: r.msgId,
            structuredData: r.sd,
            message: Buffer.from(r.message ?? []),
          });
        },
      ),
      RUNS,
    );
  });
});
