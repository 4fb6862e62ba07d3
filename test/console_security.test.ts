import { testToken, waitFor } from "@tailrace/testkit";
import { type Browser, launchChromium } from "@tailrace/testkit/browser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, type ConsoleStack, rows, startConsoleStack } from "./console_helpers.js";
import { testPublisher } from "./helpers.js";

describe("console security", () => {
  let stack: ConsoleStack;
  let browser: Browser;
  let token: string;
  let expired: string;

  beforeAll(async () => {
    stack = await startConsoleStack();
    token = await testToken({ tenant: "acme", scopes: ["logs.read", "drains.write"] });
    expired = await testToken({ tenant: "acme", ttlSec: -60 });
    const pub = await testPublisher(stack.nats.url);
    await pub.lines("acme", "web", 0, 20);
    await pub.lines("globex", "billing", 0, 5);
    await pub.stop();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("console security - the page and its assets carry a strict policy and their content types", async () => {
    const res = await fetch(`${stack.front.url}/`);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
    expect(csp).not.toContain("unsafe-inline");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const html = await res.text();
    // No inline script or style, and nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const [, path] of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) {
      const a = await fetch(`${stack.front.url}${path}`);
      expect(a.status).toBe(200);
      expect(a.headers.get("cache-control")).toContain("immutable");
      expect(a.headers.get("content-type")).toMatch(/^(text\/javascript|text\/css|image\/svg\+xml)/);
    }
  });

  it("console security - a deep link opens the app and the token leaves the address bar", async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.front.url}/#token=${token}&app=web`);
    await waitFor("lines", async () => (await rows(page)).length >= 20, 30_000);
    expect(page.url()).toBe(`${stack.front.url}/`);
    expect(await page.evaluate(() => location.hash)).toBe("");
    // The token lives in this tab's sessionStorage: a reload keeps the session, with no fragment.
    await page.reload();
    await waitFor("lines after reload", async () => (await rows(page)).length >= 20, 30_000);
    await page.locator("#signout").click();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.locator("#login").waitFor({ state: "visible" });
    await page.close();
  });

  it("console security - an expired token gets a clear message and the sign-in form", async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.front.url}/#token=${expired}&app=web`);
    await page.locator("#banner").waitFor({ state: "visible" });
    await waitFor("the message", async () => /expired/.test((await page.locator("#banner").textContent()) ?? ""), 15_000);
    expect(await page.locator("#login").isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("tailrace.token"))).toBeNull();
    await page.screenshot({ path: new URL("console_expired.png", ARTIFACTS).pathname });
    await page.close();
  });

  it("console security - another tenant's app is a clear 404, never a blank screen", async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.front.url}/#token=${token}&app=billing`);
    await waitFor("the message", async () => ((await page.locator("#banner").textContent()) ?? "").includes('No app "billing"'), 30_000);
    expect(await page.locator("#state").getAttribute("data-state")).toBe("error");
    expect(await page.locator("#log .l").count()).toBe(0);
    await page.screenshot({ path: new URL("console_404.png", ARTIFACTS).pathname });
    await page.close();
  });

  it("console security - a doppler that cannot be reached is said so", async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.front.url}/#token=${token}&app=web`);
    await waitFor("live", async () => (await page.locator("#state").getAttribute("data-state")) === "live", 30_000);
    stack.front.refuseUpgrades(true);
    stack.front.dropSockets();
    await waitFor("reconnecting", async () => (await page.locator("#state").getAttribute("data-state")) === "reconnecting", 15_000);
    expect(await page.locator("#banner").textContent()).toMatch(/connection dropped/);
    stack.front.refuseUpgrades(false);
    await waitFor("live", async () => (await page.locator("#state").getAttribute("data-state")) === "live", 30_000);
    await page.close();
  });

  it("console security - the token travels only in headers and the websocket handshake, and is never logged", async () => {
    const seen = stack.front.requests;
    expect(seen.some((r) => r.upgrade)).toBe(true);
    expect(seen.some((r) => r.url.startsWith("/api/v1/meta"))).toBe(true);
    for (const secret of [token, expired]) {
      const signature = secret.split(".")[2] as string;
      for (const r of seen) {
        expect(r.url, r.url).not.toContain(signature);
        for (const [name, value] of Object.entries(r.headers)) {
          if (name === "authorization" || name === "sec-websocket-protocol") continue;
          expect(String(value), name).not.toContain(signature);
        }
        expect(r.headers.referer).toBeUndefined();
      }
    }
    // Upgrades offered the marker and then the token, never the token alone.
    for (const r of seen.filter((x) => x.upgrade)) expect(r.headers["sec-websocket-protocol"]).toMatch(/^tailrace\.bearer, /);
    const logs = stack.logs();
    expect(logs).toContain("access refused"); // the 401 and 404 above were audit-logged: the grep reads real output
    for (const secret of [token, expired]) {
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(secret.split(".")[2] as string);
    }
  });
});
