/**
 * The built page (dist/web, made by `vite build`), loaded into memory once: it is a few tens of KiB, and serving
 * from memory keeps the doppler's request path free of disk reads.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

export interface Asset {
  body: Buffer;
  /** The Content-Type to send. */
  type: string;
  /** A strong ETag of the body. */
  etag: string;
  /** True for content-hashed files under /assets/, which never change under their name. */
  immutable: boolean;
}

export interface ConsoleAssets {
  /** The asset at a URL path (`/`, `/assets/index-abc.js`), or undefined. */
  get(path: string): Asset | undefined;
  /** False when the page has not been built: `pnpm --filter @tailrace/console build`. */
  readonly built: boolean;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** dist/web beside this file's dist/ output. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL("./web/", import.meta.url));

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

export function loadAssets(dir = DEFAULT_WEB_DIR): ConsoleAssets {
  const files = new Map<string, Asset>();
  if (existsSync(join(dir, "index.html"))) {
    for (const file of walk(dir)) {
      const rel = `/${relative(dir, file).split(sep).join("/")}`;
      const body = readFileSync(file);
      const type = TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
      files.set(rel, { body, type, etag, immutable: rel.startsWith("/assets/") });
    }
  }
  const index = files.get("/index.html");
  return {
    built: index !== undefined,
    get(path) {
      if (path === "/" || path === "/index.html") return index;
      // Only exact names from the build: no path joins, so no traversal.
      return path.startsWith("/assets/") ? files.get(path) : undefined;
    },
  };
}

let cached: ConsoleAssets | undefined;

/** The built page, read once per process. */
export function consoleAssets(): ConsoleAssets {
  if (!cached?.built) cached = loadAssets();
  return cached;
}
