/**
 * Serves the console: `/` (the page) and `/assets/*` (its hashed scripts, styles and icon), with the security
 * headers every answer carries. Anything else is left to the caller (the doppler's API routes).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ConsoleAssets, consoleAssets } from "./assets.js";
import { contentSecurityPolicy } from "./csp.js";

function securityHeaders(req: IncomingMessage): Record<string, string> {
  return {
    "content-security-policy": contentSecurityPolicy(req.headers.host),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

function isConsolePath(path: string): boolean {
  return path === "/" || path === "/index.html" || path.startsWith("/assets/");
}

/**
 * Answers `GET`/`HEAD` of `/`, `/index.html` and `/assets/*`, and returns true; returns false for every other
 * request, which the caller then routes itself.
 */
export async function handleConsole(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  assets: ConsoleAssets = consoleAssets(),
): Promise<boolean> {
  if ((req.method !== "GET" && req.method !== "HEAD") || !isConsolePath(url.pathname)) return false;
  const headers = securityHeaders(req);
  const asset = assets.get(url.pathname);
  if (!asset) {
    const body = assets.built ? "not found\n" : "The console is not built: run `pnpm --filter @tailrace/console build`.\n";
    res.writeHead(assets.built ? 404 : 503, {
      ...headers,
      "content-type": "text/plain; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-store",
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }
  headers.etag = asset.etag;
  // The page is revalidated on every load, so a new build is picked up at once; its hashed assets never change.
  headers["cache-control"] = asset.immutable ? "public, max-age=31536000, immutable" : "no-cache";
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  res.writeHead(200, { ...headers, "content-type": asset.type, "content-length": asset.body.length });
  res.end(req.method === "HEAD" ? undefined : asset.body);
  return true;
}
