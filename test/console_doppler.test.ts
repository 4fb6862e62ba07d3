import { testToken, waitFor } from "@tailrace/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type Stack, startStack, testPublisher } from "./helpers.js";

describe("the doppler serves the console", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack?.stop());

  it("console - `/` is the built page with a strict CSP and no inline script", async () => {
    const res = await fetch(`${stack.api}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!\s*<\/script>)|<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${stack.api}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
  });

  it("console - a websocket authorised by the tailrace.bearer subprotocol tails, and only the marker is echoed", async () => {
    const token = await testToken({ tenant: "acme" });
    const ws = new WebSocket(`${stack.api.replace("http", "ws")}/v1/apps/console-app/stream`, ["tailrace.bearer", token]);
    await new Promise((r, j) => {
      ws.once("open", r);
      ws.once("error", j);
    });
    expect(ws.protocol).toBe("tailrace.bearer");
    let got = 0;
    ws.on("message", (d) => (got += (JSON.parse(d.toString()) as { batch: unknown[] }).batch.length));
    const pub = await testPublisher(stack.nats.url);
    await pub.lines("acme", "console-app", 0, 10);
    await pub.stop();
    await waitFor("lines over the subprotocol-authorised socket", () => got >= 10);
    ws.close();
    const bad = new WebSocket(`${stack.api.replace("http", "ws")}/v1/apps/console-app/stream`, ["tailrace.bearer", "forged.token.here"]);
    const status = await new Promise<number>((r) => bad.once("unexpected-response", (_q, res) => r(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });
});
