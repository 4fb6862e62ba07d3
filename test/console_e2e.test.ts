import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testToken, waitFor } from "@tailrace/testkit";
import { type Browser, launchChromium } from "@tailrace/testkit/browser";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type ConsoleStack, gaps, numbered, rows, startConsoleStack } from "./console_helpers.js";
import { cli, testPublisher } from "./helpers.js";

// A supervised process: `tick N` on stdout every 20 ms, `oops N` on stderr every 25th, and one line that would be
// markup if the page ever parsed log text as HTML. It stops when the stop file appears.
const TICKER = `
const fs = require("fs");
const stop = process.argv[1];
console.log('<img src=x id=xss onerror="document.title=1"> not markup');
let i = 0;
const t = setInterval(() => {
  console.log("tick " + i);
  if (i % 25 === 0) console.error("oops " + i);
  i++;
  if (fs.existsSync(stop) || i > 6000) { clearInterval(t); }
}, 20);
`;

describe("console", () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let page: Page;
  let token: string;
  let run: ReturnType<typeof cli>;
  let receiver: Server;
  const stopFile = join(tmpdir(), `console-e2e-stop-${process.pid}`);
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    stack = await startConsoleStack();
    token = await testToken({ tenant: "acme", scopes: ["logs.read", "drains.write"] });
    // Another tenant's app, which the page must never list.
    const pub = await testPublisher(stack.nats.url);
    await pub.lines("globex", "billing", 0, 5);
    await pub.stop();
    run = cli(
      ["run", "--tenant", "acme", "--app", "web", "--quiet", "--", process.execPath, "-e", TICKER, stopFile],
      { ...stack.env, TAILRACE_METRICS_INTERVAL: "500ms" },
      120_000,
    );
    await waitFor(
      "web in the app registry",
      async () => {
        const r = await fetch(`${stack.api}/api/v1/meta`, { headers: { authorization: `Bearer ${token}` } });
        return ((await r.json()) as { meta: Record<string, unknown> }).meta.web;
      },
      15_000,
    );
    receiver = createServer((s) => s.on("error", () => undefined).resume());
    receiver.listen(0, "127.0.0.1");
    await once(receiver, "listening");
    browser = await launchChromium();
    page = await browser.newPage();
    // Refused websocket upgrades and 400s are logged by the browser too; only policy violations count here.
    page.on("console", (m) => {
      if (/Content Security Policy|Trusted Type|Refused to/i.test(m.text())) consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
  }, 60_000);

  afterAll(async () => {
    writeFileSync(stopFile, "");
    await run?.catch(() => undefined);
    await browser?.close();
    receiver?.close();
    await stack?.stop();
  });

  const lastTick = async () => numbered(await rows(page, "#log .l.out"), "tick").at(-1) ?? -1;
  const state = () => page.locator("#state").getAttribute("data-state");

  it("console - signs in with a pasted token and lists only the token's own apps", async () => {
    await page.goto(stack.front.url);
    await page.locator("#login").waitFor({ state: "visible" });
    await page.locator("#token").fill(token);
    await page.locator("#login-form button").click();
    await page.locator("#main").waitFor({ state: "visible" });
    // The list is filled from one meta call at sign-in; wait for its options rather than read them mid-render.
    await page.locator('#app option[value="web"]').waitFor({ state: "attached", timeout: 15_000 });
    const apps = await page.$$eval("#app option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(apps).toContain("web");
    expect(apps).not.toContain("billing");
    expect(await page.locator("#token").inputValue()).toBe("");
  });

  it("console - shows recent lines, then new lines live, OUT and ERR styled apart", async () => {
    await waitFor("live", async () => (await state()) === "live", 30_000);
    const first = await waitFor("a tick on screen", lastTick, 30_000);
    await waitFor("newer ticks", async () => (await lastTick()) > first + 20, 30_000);
    expect(await page.locator("#log .l.err").count()).toBeGreaterThan(0);
    const err = await page.locator("#log .l.err").first().textContent();
    expect(err).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d[+-]\d{4} \[APP\/PROC\/WEB\/0\] ERR oops \d+$/);
  });

  it("console - log text is never markup", async () => {
    await waitFor("the markup line", async () => (await rows(page)).some((r) => r.includes("<img src=x id=xss")), 15_000);
    expect(await page.locator("#log img").count()).toBe(0);
    expect(await page.title()).toBe("Tailrace console");
  });

  it("console - highlights text matches and filters by source type and instance", async () => {
    await page.locator("#f-text").fill("oops");
    await waitFor("marks", async () => (await page.locator("#log mark").count()) > 0, 15_000);
    await page.locator("#f-only").check();
    await waitFor("only matching rows", async () => (await rows(page)).every((r) => r.includes("oops")), 15_000);
    await page.locator("#f-only").uncheck();
    await page.locator("#f-text").fill("");
    await waitFor("no marks", async () => (await page.locator("#log mark").count()) === 0, 15_000);
    const sources = await page.$$eval("#f-source option", (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(sources).toEqual(expect.arrayContaining(["", "APP", "APP/PROC/WEB"]));
    await page.locator("#f-instance").selectOption("0");
    await waitFor("rows of instance 0", async () => (await page.locator("#log .l").count()) > 0, 15_000);
    await page.locator("#f-source").selectOption("APP");
    await waitFor(
      "APP rows only",
      async () => {
        const r = await rows(page);
        return r.length > 0 && r.every((l) => l.includes(" [APP/PROC/WEB/0] "));
      },
      5000,
    );
    await page.locator("#f-source").selectOption("");
    await page.locator("#f-instance").selectOption("");
  });

  it("console - pauses and resumes by cursor with no gap", async () => {
    await page.locator("#pause").click();
    await waitFor("paused", async () => (await state()) === "paused", 15_000);
    expect(await page.locator("#pause").textContent()).toBe("Resume");
    const atPause = await lastTick();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await lastTick()).toBe(atPause);
    await page.locator("#pause").click();
    await waitFor("live again", async () => (await state()) === "live", 15_000);
    await waitFor("lines after the pause", async () => (await lastTick()) > atPause + 80, 30_000);
    const ticks = numbered(await rows(page, "#log .l.out"), "tick");
    expect(gaps(ticks)).toEqual([]);
  });

  it("console - shows reconnecting when the connection drops, and resumes with no gap", async () => {
    stack.front.refuseUpgrades(true);
    stack.front.dropSockets();
    await waitFor("reconnecting", async () => (await state()) === "reconnecting", 15_000);
    expect(await page.locator("#banner").textContent()).toContain("reconnecting");
    await page.screenshot({ path: new URL("console_reconnecting.png", ARTIFACTS).pathname });
    const atDrop = await lastTick();
    await new Promise((r) => setTimeout(r, 700));
    stack.front.refuseUpgrades(false);
    await waitFor("live again", async () => (await state()) === "live", 30_000);
    await waitFor("lines after the drop", async () => (await lastTick()) > atDrop + 40, 30_000);
    expect(gaps(numbered(await rows(page, "#log .l.out"), "tick"))).toEqual([]);
  });

  it("console - draws CPU and memory sparklines per instance from gauges", async () => {
    await page.locator('.metric[data-instance="0"] svg.cpu polyline').waitFor({ timeout: 10_000 });
    await waitFor(
      "a few points",
      async () => ((await page.locator('.metric[data-instance="0"] svg.mem polyline').getAttribute("points")) ?? "").split(" ").length >= 3,
      10_000,
    );
    expect(await page.locator('.metric[data-instance="0"]').textContent()).toMatch(/CPU [\d.]+ %.*mem [\d.]+ (B|KiB|MiB|GiB)/);
  });

  it("console - adds and removes drains", async () => {
    const port = (receiver.address() as { port: number }).port;
    for (const url of [`syslog://127.0.0.1:${port}`, `syslog://127.0.0.1:${port}/?drain-data=all`]) {
      await page.locator("#drain-url").fill(url);
      await page.locator("#drain-form button").click();
      await page
        .locator(".drain code", { hasText: url.replace("/?", "?") })
        .or(page.locator(".drain code", { hasText: url }))
        .first()
        .waitFor({ timeout: 5000 });
    }
    expect(await page.locator(".drain").count()).toBe(2);
    await page.locator(".drain .rm").last().click();
    await waitFor("one drain left", async () => (await page.locator(".drain").count()) === 1, 15_000);
    // A URL the guard refuses gets a clear message, not a silent failure.
    await page.locator("#drain-url").fill("syslog://10.1.2.3:514");
    await page.locator("#drain-form button").click();
    await page.locator("#drains .error").waitFor({ timeout: 5000 });
    expect(await page.locator("#drains .error").textContent()).toMatch(/Could not add the drain/);
    const api = await fetch(`${stack.api}/v1/apps/web/drains`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await api.json()) as { drains: unknown[] }).drains).toHaveLength(1);
  });

  it("console - downloads what it holds, in cf logs form, with no gap", async () => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
    const text = readFileSync(await download.path(), "utf8");
    const lines = text.trimEnd().split("\n");
    const ticks = numbered(lines, "tick");
    // The ticker runs at 50 lines/s from the start of the file; a busy machine slows it, so only a safe floor.
    expect(ticks.length).toBeGreaterThan(20);
    expect(gaps(ticks)).toEqual([]);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d{4} \[[^\]]+\] [A-Z]+ /.test(l))).toBe(true);
    expect(download.suggestedFilename()).toMatch(/^web-.*\.log$/);
  });

  it("console - the page ran with no policy violation or script error, and the DOM stays bounded", async () => {
    await page.screenshot({ path: new URL("console_e2e.png", ARTIFACTS).pathname });
    expect(consoleErrors).toEqual([]);
    expect(await page.locator("#log .l").count()).toBeLessThanOrEqual(2000);
  });
});
