import { afterAll, beforeAll, describe, expect, it } from "vitest";
// One source for the test and the benchmark (node bench/console_render.mjs runs it longer and reports the figures).
import { measure } from "../bench/console_render.mjs";
import { type Stack, startStack } from "./helpers.js";

describe("console rendering", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("console rendering - keeps up with 5,000 lines/s with a bounded DOM and frames flowing", async () => {
    const r = await measure({ rate: 5000, seconds: 4, natsUrl: stack.nats.url, api: stack.api });
    console.log(`console rendering: ${JSON.stringify(r)}`);
    expect(r.linesReceived).toBe(r.linesSent);
    expect(r.domRowsMax).toBeLessThanOrEqual(2000);
    expect(r.domNodesMax).toBeLessThan(5000);
    // Lenient, as the test shares two cores with the doppler, NATS and another test file; the benchmark reports
    // the real figure (about 56 frames/s).
    expect(r.fps).toBeGreaterThan(20);
  }, 60_000);
});
