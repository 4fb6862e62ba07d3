import { createServer, type Server } from "node:http";
import { closeHttpServer, listenOn, type Readiness, readyzBody } from "@tailrace/runtime";

/** The agent's own endpoints: `/healthz` (alive), `/readyz` (connected and started) and `/metrics` (Prometheus). */
export class AgentHttp {
  private readonly server: Server;

  constructor(readiness: Readiness, metrics: () => Promise<string>) {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://agent").pathname;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET" }).end();
      } else if (path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      } else if (path === "/readyz") {
        const r = readyzBody(readiness);
        res.writeHead(r.status, { "content-type": "application/json" }).end(r.body);
      } else if (path === "/metrics") {
        metrics().then(
          (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
          () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
        );
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    });
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    return closeHttpServer(this.server);
  }
}
