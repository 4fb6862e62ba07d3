import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidDrainUrlError } from "../errors.js";
import { anonymize, parseDrainUrl } from "./url.js";

function errorOf(raw: string): InvalidDrainUrlError {
  try {
    parseDrainUrl(raw);
  } catch (err) {
    if (err instanceof InvalidDrainUrlError) return err;
    throw err;
  }
  throw new Error(`accepted ${raw}`);
}

describe("parseDrainUrl", () => {
  it("url - syslog defaults: port 514, logs, metadata on, no path", () => {
    const u = parseDrainUrl("syslog://logs.example.com");
    expect({ ...u }).toEqual({
      scheme: "syslog",
      host: "logs.example.com",
      port: 514,
      path: "",
      drainData: "logs",
      disableMetadata: false,
      anonymized: "syslog://logs.example.com",
    });
    expect(u.raw).toBe("syslog://logs.example.com");
    expect(u.credentials).toBeUndefined();
  });

  it("url - scheme defaults: syslog-tls 6514, https 443 with path /", () => {
    expect(parseDrainUrl("syslog-tls://logs.example.com/").port).toBe(6514);
    const h = parseDrainUrl("https://logs.example.com");
    expect([h.port, h.path]).toEqual([443, "/"]);
  });

  it("url - query parameters, explicit port, https path and credentials", () => {
    const u = parseDrainUrl("HTTPS://drain:p%40ss%2Fw0rd@Logs.Example.COM:8443/v1/drain?drain-data=all&disable-metadata=true");
    expect([u.scheme, u.host, u.port, u.path, u.drainData, u.disableMetadata]).toEqual([
      "https",
      "logs.example.com",
      8443,
      "/v1/drain",
      "all",
      true,
    ]);
    expect(u.credentials).toEqual({ username: "drain", password: "p@ss/w0rd" });
    expect(u.anonymized).toBe("HTTPS://Logs.Example.COM:8443/v1/drain?drain-data=all&disable-metadata=true");
    expect(parseDrainUrl("syslog://h.example.com?drain-data=metrics&disable-metadata=false")).toMatchObject({
      drainData: "metrics",
      disableMetadata: false,
    });
  });

  it("url - IP literals: dotted quad and bracketed IPv6, stored without brackets", () => {
    expect(parseDrainUrl("syslog://203.0.113.9:1514").host).toBe("203.0.113.9");
    const v6 = parseDrainUrl("syslog-tls://[2001:DB8::1]:6514");
    expect([v6.host, v6.port]).toEqual(["2001:db8::1", 6514]);
    expect(parseDrainUrl("syslog://[::ffff:10.0.0.1]").host).toBe("::ffff:10.0.0.1");
  });

  it("url - over-long DNS labels and names are refused", () => {
    expect(errorOf(`syslog://${"a".repeat(64)}.com`).message).toMatch(/label longer than 63/);
    expect(errorOf(`syslog://${"abcdefghi.".repeat(26)}com`).message).toMatch(/263 characters long; DNS allows at most 253/);
  });

  it("url - a trailing dot and underscores in DNS names are accepted", () => {
    expect(parseDrainUrl("syslog://logs_1.example.com.").host).toBe("logs_1.example.com");
  });

  it.each([
    ["", /empty/],
    ["syslog://h.example.com#x", /fragment/],
    ["logs.example.com:514", /must start with syslog:\/\/, syslog-tls:\/\/, https:\/\/ or otlp\+https:\/\//],
    ["http://h.example.com", /plain http:\/\/ drains are not supported; use https:\/\//],
    ["ftp://h.example.com", /unsupported scheme "ftp"/],
    ["syslog+tls://h.example.com", /unsupported scheme "syslog\+tls"/],
    ["syslog://", /no host/],
    ["syslog://:514", /no host/],
    ["syslog://h.example.com:0", /port must be a whole number from 1 to 65535/],
    ["syslog://h.example.com:65536", /port must be/],
    ["syslog://h.example.com:-1", /port must be/],
    ["syslog://h.example.com:http", /port must be/],
    ["syslog://h.example.com:", /port is empty; leave out the ':' to use the default port 514/],
    ["syslog://h.example.com?foo=bar", /unknown query parameter "foo"; drain URLs accept only drain-data and disable-metadata/],
    ["syslog://h.example.com?drain-data=everything", /drain-data must be logs, metrics or all/],
    ["syslog://h.example.com?drain-data", /drain-data must be logs, metrics or all/],
    ["syslog://h.example.com?disable-metadata=yes", /disable-metadata must be true or false/],
    ["syslog://h.example.com?drain-data=logs&drain-data=all", /drain-data is given more than once/],
    ["syslog://h.example.com?drain-data=%zz", /query has a malformed percent-encoding/],
    ["syslog://h.example.com/path", /syslog drains take no path/],
    ["syslog-tls://h.example.com/path", /syslog-tls drains take no path/],
    ["https://h.example.com/a<b", /path contains "<", which must be percent-encoded/],
    ["https://h.example.com/a%zz", /path has a malformed percent-encoding/],
    ["syslog://2001:db8::1", /IPv6 addresses must be in brackets/],
    ["syslog://[2001:db8::1", /missing its closing '\]'/],
    ["syslog://[2001:db8::1]x", /only ':port' may follow/],
    ["syslog://[fe80::1%25eth0]", /zone identifiers/],
    ["syslog://[not:an:ip]", /not a valid IPv6 address/],
    ["syslog://-bad.example.com", /not a valid DNS name/],
    ["syslog://a..example.com", /empty label/],
    ["syslog://2130706433", /neither a valid dotted-quad IPv4 address nor a DNS name/],
    ["syslog://0x7f.1", /neither a valid dotted-quad/],
    ["syslog://127.1", /neither a valid dotted-quad/],
    ["syslog://256.1.1.1", /neither a valid dotted-quad/],
    ["syslog://hé.example.com", /non-ASCII characters; .*punycode/],
    ["syslog://h.example.com /", /whitespace or control characters/],
    ["syslog://h.example.com\n", /whitespace or control characters/],
    ["https://u:hunter2/x@h.example.com", /'@' may only separate the user info from the host/],
    ["https://h.example.com/a@b", /'@' may only separate/],
    ["https://u:%zz@h.example.com", /password has a malformed percent-encoding/],
  ])("url - %j is refused: %s", (raw, message) => {
    expect(errorOf(raw).message).toMatch(message);
  });

  it("url - otlp+https: port 443, base path without its trailing slash, headers from header-* parameters", () => {
    const u = parseDrainUrl("otlp+https://otlp.example.com/otlp/?header-X-Api-Key=s3cr3t%20v&drain-data=all&header-dd-site=eu");
    expect({ ...u }).toEqual({
      scheme: "otlp+https",
      host: "otlp.example.com",
      port: 443,
      path: "/otlp",
      drainData: "all",
      disableMetadata: false,
      anonymized: "otlp+https://otlp.example.com/otlp/?header-X-Api-Key=redacted&drain-data=all&header-dd-site=redacted",
    });
    expect(u.headers).toEqual({ "x-api-key": "s3cr3t v", "dd-site": "eu" });
    expect(JSON.stringify(u)).not.toContain("s3cr3t");
    expect(inspect(u, { depth: 5 })).not.toContain("s3cr3t");
    expect(Object.isFrozen(u.headers)).toBe(true);
    const bare = parseDrainUrl("OTLP+HTTPS://alice:pw@otlp.example.com:4318");
    expect([bare.scheme, bare.port, bare.path, bare.headers, bare.credentials?.password]).toEqual([
      "otlp+https",
      4318,
      "",
      undefined,
      "pw",
    ]);
  });

  it("url - otlp+http only where the operator allows it, default port 80", () => {
    expect(errorOf("otlp+http://collector.example.com:4318").message).toBe(
      "plain otlp+http:// drains are not allowed on this platform (TAILRACE_DRAIN_ALLOW_PLAIN_OTLP); use otlp+https://",
    );
    const u = parseDrainUrl("otlp+http://collector.example.com", { allowPlainOtlp: true });
    expect([u.scheme, u.port, u.path]).toEqual(["otlp+http", 80, ""]);
  });

  it.each([
    ["otlp+https://h.example.com/v1/logs", /the path of an OTLP drain is the endpoint's base .*\/v1\/logs and \/v1\/metrics are appended/],
    ["otlp+https://h.example.com/otlp/v1/metrics/", /the path of an OTLP drain is the endpoint's base/],
    ["otlp+https://h.example.com?header-=x", /must name a header/],
    ["otlp+https://h.example.com?header-x%20y=1", /must name a header/],
    ["otlp+https://h.example.com?header-content-type=text/plain", /header-content-type: the drain sets that header itself/],
    ["otlp+https://h.example.com?header-Host=evil.example.com", /header-host: the drain sets that header itself/],
    ["otlp+https://h.example.com?header-x-a=1&HEADER-X-A=2", /header-x-a is given more than once/],
    ["otlp+https://h.example.com?header-x-api-key", /header-x-api-key needs a value/],
    ["otlp+https://h.example.com?header-x-api-key=", /header-x-api-key needs a value/],
    ["otlp+https://h.example.com?header-x-api-key=a%0D%0AInjected:%201", /only printable ASCII/],
    ["otlp+https://u:p@h.example.com?header-authorization=Bearer%20t", /either user info or header-authorization/],
    ["https://h.example.com?header-x-api-key=abc", /header-\* parameters apply to otlp\+https:\/\/ drains only/],
    ["syslog://h.example.com?header-x-api-key=abc", /apply to otlp\+https:\/\/ drains only/],
    [
      "otlp+https://h.example.com?foo=1",
      /unknown query parameter "foo"; drain URLs accept only drain-data, disable-metadata and header-\*/,
    ],
    ["otlp://h.example.com", /unsupported scheme "otlp": OTLP drains use OTLP\/HTTP, otlp\+https:\/\//],
    ["otlp+grpc://h.example.com", /unsupported scheme "otlp\+grpc"/],
    [`otlp+https://h.example.com?${Array.from({ length: 17 }, (_, i) => `header-x-${i}=v`).join("&")}`, /at most 16 header-\* parameters/],
  ])("url - OTLP: %j is refused: %s", (raw, message) => {
    expect(errorOf(raw).message).toMatch(message);
  });

  it("url - errors never quote a header value, whatever else is wrong", () => {
    const secret = "Hunter2HeaderKey";
    for (const raw of [
      `otlp+https://h.example.com:0?header-x-api-key=${secret}`,
      `otlp+https://h.example.com?header-x-api-key=${secret}&${secret}=1`,
      `otlp+https://h.example.com?header-x-api-key=${secret}&drain-data=${secret}`,
      `otlp+https://h.example.com/v1/logs?header-x-api-key=${secret}`,
      `https://h.example.com?header-x-api-key=${secret}`,
      `otlp+https://h.example.com?header-x-api-key=${secret}&header-x-api-key=${secret}`,
    ]) {
      expect(errorOf(raw).message, raw).not.toContain(secret);
      // Where the secret is only a header's value, anonymize masks it (a parameter named like it is no header).
      const asHeader = raw.split(`header-x-api-key=${secret}`).length;
      if (raw.split(secret).length === asHeader) expect(anonymize(raw)).not.toContain(secret);
    }
  });

  it("url - URLs over 2048 characters are refused with their length", () => {
    const raw = `https://h.example.com/${"a".repeat(2027)}`;
    expect(raw.length).toBe(2049);
    expect(errorOf(raw).message).toBe("drain URL is 2049 characters long; the limit is 2048");
    expect(parseDrainUrl(raw.slice(0, 2048)).path).toHaveLength(2027);
  });

  it("url - the error is an InvalidDrainUrlError with its name set", () => {
    const err = errorOf("ftp://x.example.com");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("InvalidDrainUrlError");
  });

  it("url - errors never quote the user info, whatever else is wrong", () => {
    const secret = "Hunter2Secret";
    const bad = [
      `https://alice:${secret}@h.example.com:0`,
      `https://alice:${secret}@h.example.com:${secret}`,
      `https://alice:${secret}@bad_host-.com`,
      `https://alice:${secret}@h.example.com/?${secret}=1`,
      `https://alice:${secret}@h.example.com/?drain-data=${secret}`,
      `https://alice:${secret}/x@h.example.com`,
      `https://alice:${secret}?x@h.example.com`,
      `https://alice:${secret}#x@h.example.com`,
      `ftp://alice:${secret}@h.example.com`,
      `alice:${secret}@h.example.com`,
      `https://alice:${secret}@[::1`,
      `https://alice:${secret}@h.example.com/${"x".repeat(3000)}`,
      `https://${secret}@h.example.com:99999`,
      `syslog://alice:${secret}@h.example.com/x`,
    ];
    for (const raw of bad) {
      const err = errorOf(raw);
      expect(err.message).not.toContain(secret);
      expect(err.message).not.toContain("alice");
    }
  });

  it("url - credentials and raw are kept but left out of JSON and inspect", () => {
    const u = parseDrainUrl("https://alice:Hunter2Secret@h.example.com/drain");
    expect(u.credentials?.password).toBe("Hunter2Secret");
    expect(u.raw).toContain("Hunter2Secret");
    expect(JSON.stringify(u)).not.toContain("Hunter2Secret");
    expect(inspect(u, { depth: 5 })).not.toContain("Hunter2Secret");
    expect(u.anonymized).toBe("https://h.example.com/drain");
    expect(Object.isFrozen(u)).toBe(true);
  });

  it("url - random strings raise nothing but InvalidDrainUrlError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: "binary", maxLength: 100 }),
          fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withUserInfo: true, withPort: true } }),
          fc
            .tuple(fc.constantFrom("syslog://", "syslog-tls://", "https://", "HTTPS://"), fc.string({ maxLength: 80 }))
            .map(([s, r]) => s + r),
        ),
        (raw) => {
          try {
            const u = parseDrainUrl(raw);
            expect(u.port).toBeGreaterThanOrEqual(1);
            expect(u.host).not.toBe("");
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidDrainUrlError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("url - a password is never echoed by an error, the anonymized form or JSON", () => {
    // Password pieces are upper case and digits so they cannot match words of a message by chance; the separators
    // include the characters that break naive user-info parsing.
    const piece = fc.stringMatching(/^[A-Z0-9]{6,10}$/);
    const sep = fc.constantFrom("", "/", "?", "#", ":", "@", "%", "%2F", "&", "=", " ", "[", "]");
    const password = fc.array(fc.tuple(piece, sep), { minLength: 1, maxLength: 4 });
    const scheme = fc.constantFrom("syslog", "syslog-tls", "https", "http", "ftp", "");
    const host = fc.constantFrom("logs.example.com", "[::1]", "10.0.0.1", "bad host", "", "-x-", "[::1");
    const tail = fc.oneof(
      fc.constantFrom("", ":514", ":0", ":99999", ":abc", "/p", "/p?drain-data=all", "?x=1", "#f"),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(scheme, fc.constantFrom("alice", ""), password, host, tail, (s, user, parts, h, t) => {
        const pw = parts.map(([p, q]) => p + q).join("");
        const raw = `${s}${s ? "://" : ""}${user}:${pw}@${h}${t}`;
        const secrets = parts.map(([p]) => p);
        let shown: string[];
        try {
          const u = parseDrainUrl(raw);
          shown = [u.anonymized, JSON.stringify(u), inspect(u)];
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidDrainUrlError);
          shown = [(err as Error).message];
        }
        shown.push(anonymize(raw));
        for (const text of shown) for (const secret of secrets) expect(text).not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });
});
