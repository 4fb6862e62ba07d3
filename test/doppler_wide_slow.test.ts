import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
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
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tailrace-slow-"));
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
    // The burst's stdout goes to a file, which this process can read while it reads no socket.
    const outFile = join(dir, "burst.out");
    const outFd = openSync(outFile, "w");
    const child = spawn(process.execPath, [BURST, stack.nats.url, "acme", "burst", String(count)], {
      stdio: ["ignore", outFd, "inherit"],
    });
    closeSync(outFd);
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    const out = () => readFileSync(outFile, "utf8");
    // The doppler runs in this process: stop it reading until the whole burst is in the stream (at least 3 s), so
    // that far more than max_pending waits for it however slowly a loaded machine publishes.
    await waitFor("the burst under way", () => tail.envelopes.length > 0, 30_000);
    const from = Date.now();
    while (Date.now() - from < 3000 || (!out().includes("published") && Date.now() - from < 60_000)) {
      // busy: nothing in this process reads its sockets
    }
    expect(await exited).toBe(0);
    expect(out()).toContain(`published ${count}`);
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
