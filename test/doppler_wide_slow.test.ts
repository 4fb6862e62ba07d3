import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { num, openTail, type Stack, startStack } from "./helpers.js";

const BURST = fileURLToPath(new URL("./fixtures/burst.mjs", import.meta.url));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => String(a + i));

/**
 * The doppler's shared tail consumer reads without flow control (ingress/wide.ts), so a doppler that stops reading
 * is cut off by nats-server as a slow consumer once more than `max_pending` waits for it. What a user must see: the
 * tail goes on with every line, in order, once the doppler reads again.
 */
describe("doppler wide feed, slow", () => {
  let stack: Stack;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "tailrace-slow-"));
    const conf = join(dir, "nats.conf");
    // 2 MiB: a doppler that stops reading for a moment while 10 MB arrive is cut off (and again while it replays them).
    writeFileSync(conf, "max_pending: 2097152\n");
    // A tail queue that holds the whole burst: what is tested is the feed, not the tail's own bound.
    stack = await startStack({ TAILRACE_TAIL_CONSUMERS: "0", TAILRACE_TAIL_QUEUE: "100000" }, ["-c", conf]);
  });
  afterAll(() => stack?.stop());

  it("wide feed - a doppler cut off as a slow consumer reconnects, and its tail gets every line in order", async () => {
    const token = await testToken({ tenant: "acme" });
    const tail = await openTail(stack.api, "/v1/apps/burst/stream", token);
    const count = 10_000;
    const child = spawn(process.execPath, [BURST, stack.nats.url, "acme", "burst", String(count)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    // The doppler runs in this process: stop it reading while the burst goes on.
    await waitFor("the burst under way", () => tail.envelopes.length > 0, 30_000);
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      // busy: nothing in this process reads its sockets
    }
    expect(await exited).toBe(0);
    expect(out).toContain(`published ${count}`);
    await waitFor("every line at the tail", () => tail.envelopes.length >= count, 60_000).catch(async (err) => {
      const m = await (await fetch(`${stack.api}/metrics`)).text();
      const lgr = tail.envelopes.filter((e) => e.tags.source_type === "LGR").length;
      throw new Error(
        `${err.message}: ${tail.envelopes.length} envelopes (${lgr} LGR); ${m
          .split("\n")
          .filter((l) => /reconnect|dropped|lag/.test(l) && !l.startsWith("#"))
          .join("; ")}`,
      );
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(tail.envelopes.map(num)).toEqual(range(0, count));
    // And it was the slow-consumer path that this went through: the doppler's connection was cut and came back.
    const metrics = await (await fetch(`${stack.api}/metrics`)).text();
    expect(metrics).toMatch(/tailrace_nats_reconnects_total\{component="doppler"\} [1-9]/);
    tail.close();
  }, 120_000);
});
