import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { anonymize } from "./anonymize.js";

describe("anonymize", () => {
  it.each([
    ["https://user:pass@h.example.com:8080/p?drain-data=all", "https://h.example.com:8080/p?drain-data=all"],
    ["syslog://h.example.com:514", "syslog://h.example.com:514"],
    ["https://h.example.com/p?api_key=abc&x=1&Token=t&sig=s", "https://h.example.com/p?api_key=redacted&x=1&Token=redacted&sig=redacted"],
    ["https://h.example.com/p?pass%77ord=abc", "https://h.example.com/p?pass%77ord=redacted"],
    ["https://user:pa/ss@h.example.com/x", "https://redacted@h.example.com/x"],
    ["https://user:pa#ss@h.example.com/x", "https://redacted@h.example.com/x"],
    ["https://h.example.com/x#access_token=abc", "https://h.example.com/x"],
    ["user:pass@h.example.com", "h.example.com"],
    ["not a url\r\nforged line", "not%20a%20url%0D%0Aforged%20line"],
    ["", ""],
    [
      "otlp+https://api.honeycomb.io?header-x-honeycomb-team=abc&drain-data=all&HEADER-X-Other=v",
      "otlp+https://api.honeycomb.io?header-x-honeycomb-team=redacted&drain-data=all&HEADER-X-Other=redacted",
    ],
    ["otlp+https://h.example.com?%68eader-x=abc", "otlp+https://h.example.com?%68eader-x=redacted"],
  ])("anonymize - %j becomes %j", (raw, want) => {
    expect(anonymize(raw)).toBe(want);
  });

  it("anonymize - text before the last '@' never survives", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.stringMatching(/^[A-Z0-9]{8}$/), fc.string({ maxLength: 40 }), (a, secret, b) => {
        const out = anonymize(`${a}${secret}@${b.replace(/@/g, "")}`);
        expect(out).not.toContain(secret);
      }),
      { numRuns: 300 },
    );
  });
});
