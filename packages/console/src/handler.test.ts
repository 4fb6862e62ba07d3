import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAssets } from "./assets.js";
import { handleConsole } from "./handler.js";

let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "console-assets-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), '<!doctype html><script type="module" src="/assets/index-abc.js"></script>');
  writeFileSync(join(dir, "assets", "index-abc.js"), "console.log(1)");
  writeFileSync(join(dir, "assets", "index-abc.css"), "body{}");
  const assets = loadAssets(dir);
  const empty = loadAssets(join(dir, "missing"));
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const which = url.searchParams.has("unbuilt") ? empty : assets;
    handleConsole(req, res, url, which).then((done) => {
      if (!done) res.writeHead(418).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
});

afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("handler", () => {
  it("handler - serves the page with the security headers and revalidation", async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'self'.*connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const etag = res.headers.get("etag") as string;
    expect((await fetch(`${base}/`, { headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("handler - hashed assets get their type and a long cache", async () => {
    const js = await fetch(`${base}/assets/index-abc.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await js.text()).toBe("console.log(1)");
    expect((await fetch(`${base}/assets/index-abc.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(`${base}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/assets/../index.html`)).status).toBe(200); // fetch normalises ../ to /index.html
    expect((await fetch(`${base}/assets/%2e%2e%2fpackage.json`)).status).toBe(404);
  });

  it("handler - leaves every other route and method to the caller", async () => {
    expect((await fetch(`${base}/api/v1/meta`)).status).toBe(418);
    expect((await fetch(`${base}/`, { method: "POST" })).status).toBe(418);
  });

  it("handler - an unbuilt console says how to build it", async () => {
    const res = await fetch(`${base}/?unbuilt`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("pnpm --filter @tailrace/console build");
  });
});
