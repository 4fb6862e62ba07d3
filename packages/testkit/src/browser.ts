/**
 * Browser tests: Debian's chromium driven by playwright-core (never a downloaded browser), and a front server that
 * serves the console and forwards everything else to a doppler the way the doppler itself will once it serves the
 * console: a websocket's token moves from `Sec-WebSocket-Protocol` to `Authorization`, and only the marker protocol
 * goes on.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request, type Server } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { BEARER_PROTOCOL, bearerFromProtocols, handleConsole } from "@tailrace/console";
import { type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.TAILRACE_CHROMIUM ?? "/usr/bin/chromium";

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Headless Debian chromium with a fresh profile in a temporary directory, removed on close. */
export async function launchChromium(opts: { downloads?: boolean } = {}): Promise<Browser> {
  const dir = await mkdtemp(join(tmpdir(), "tailrace-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: opts.downloads ?? true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SeenRequest {
  method: string;
  /** Path and query as the browser sent them. */
  url: string;
  headers: IncomingHttpHeaders;
  upgrade: boolean;
}

export interface ConsoleFront {
  url: string;
  /** Every request the browser made, in order. */
  requests: SeenRequest[];
  /** Cuts every open websocket, as a network failure would. */
  dropSockets(): void;
  /** Refuses (true) or accepts again (false) new websocket upgrades, to hold a reconnecting page off. */
  refuseUpgrades(on: boolean): void;
  close(): Promise<void>;
}

const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]);

function forwardHeaders(h: IncomingHttpHeaders, target: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  out.host = target.host;
  return out;
}

/** Serves the console on a loopback port and forwards API calls and websocket upgrades to `api`. */
export async function startConsoleFront(api: string): Promise<ConsoleFront> {
  const target = new URL(api);
  const requests: SeenRequest[] = [];
  const sockets = new Set<Duplex>();
  let refusing = false;
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, upgrade: false });
    const url = new URL(req.url ?? "/", "http://front");
    handleConsole(req, res, url)
      .then((done) => {
        if (done) return;
        const up = request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: forwardHeaders(req.headers, target) },
          (r) => {
            r.on("error", () => res.destroy());
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        up.on("error", () => res.destroy());
        // A browser that goes away mid-request resets its socket: that is not the test's failure.
        req.on("error", () => up.destroy());
        res.on("error", () => up.destroy());
        req.pipe(up);
      })
      .catch(() => res.destroy());
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, upgrade: true });
    socket.on("error", () => socket.destroy());
    if (refusing) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return;
    }
    const headers = forwardHeaders(req.headers, target);
    headers.connection = "Upgrade";
    headers.upgrade = "websocket";
    const token = bearerFromProtocols(req.headers["sec-websocket-protocol"]);
    if (token !== undefined) {
      // What the doppler's upgrade path does once wired: the token becomes the bearer, the marker stays.
      if (!req.headers.authorization) headers.authorization = `Bearer ${token}`;
      headers["sec-websocket-protocol"] = BEARER_PROTOCOL;
    }
    const up = request({ host: target.hostname, port: target.port, method: "GET", path: req.url, headers });
    up.on("upgrade", (res, upSocket: Socket, upHead) => {
      let head = `HTTP/1.1 101 Switching Protocols\r\n`;
      for (let i = 0; i < res.rawHeaders.length; i += 2) head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
      socket.write(`${head}\r\n`);
      if (upHead.length) socket.write(upHead);
      sockets.add(socket);
      sockets.add(upSocket);
      const end = () => {
        socket.destroy();
        upSocket.destroy();
        sockets.delete(socket);
        sockets.delete(upSocket);
      };
      socket.on("error", end).on("close", end);
      upSocket.on("error", end).on("close", end);
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    up.on("response", (res) => {
      res.on("error", () => socket.destroy());
      // A refused upgrade: pass the status on, as the doppler would answer it.
      let text = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`;
      for (let i = 0; i < res.rawHeaders.length; i += 2) text += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
      socket.write(`${text}\r\n`);
      res.pipe(socket);
    });
    up.on("error", () => socket.destroy());
    if (head.length) up.write(head);
    up.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    dropSockets() {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    refuseUpgrades(on) {
      refusing = on;
    },
    async close() {
      for (const s of sockets) s.destroy();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
