/**
 * Log injection through the CLI (issue 8, docs/SECURITY.md): a tenant's payload carrying ANSI escapes, a bare CR
 * or other control characters must not drive the reader's terminal or forge a line; `--raw` shows them as sent.
 */
import { testToken } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPublisher } from "./drain_helpers.js";
import { cli, type Stack, startStack } from "./helpers.js";

describe("CLI output safety", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it("cli safety - escapes, CR and control characters in payloads are neutralised by default and raw only with --raw", async () => {
    // A clear-screen, a colour, a window-title OSC, a bare CR that would overwrite the header, a C1 CSI and a BEL.
    const evil = "ok\u001b[2J\u001b[31mred\u001b]0;pwned\u0007\r2026-01-01T00:00:00.00+0000 [APP/PROC/WEB/0] OUT forged\u009b1m";
    const pub = await startPublisher(stack.nats.url);
    pub.line("acme", "evil", evil);
    await pub.drain();
    await pub.stop();
    const env = { ...stack.env, TAILRACE_TOKEN: await testToken({ tenant: "acme" }) };
    const safe = await cli(["logs", "evil", "--recent"], env);
    expect(safe.code, safe.stderr).toBe(0);
    const out = safe.stdout.trimEnd();
    expect(out.split("\n")).toHaveLength(1);
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/);
    expect(out).toContain("^[[2J");
    const raw = await cli(["logs", "evil", "--recent", "--raw"], env);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout).toContain("\u001b[2J");
    expect(raw.stdout).toContain("\r2026-01-01");
  });
});
