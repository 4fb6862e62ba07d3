/** The drainer's own `/healthz`, `/readyz` and `/metrics` (its OpenTelemetry figures as Prometheus text, docs/METRICS.md). */
import { createServer, type Server } from "node:http";

export function startHttp(
  host: string,
  port: number,
  ready: () => Record<string, boolean>,
  metrics: () => Promise<string>,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    let status = 200;
    let body: string;
    let type = "application/json";
    if (req.method !== "GET") [status, body] = [405, '{"error":"method not allowed"}\n'];
    else if (path === "/healthz") [body, type] = ["ok\n", "text/plain; charset=utf-8"];
    else if (path === "/readyz") {
      const checks = ready();
      const ok = Object.values(checks).every(Boolean);
      [status, body] = [ok ? 200 : 503, `${JSON.stringify({ ready: ok, checks })}\n`];
    } else if (path === "/metrics") {
      metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": Buffer.byteLength(text) });
          res.end(text);
        },
        () => res.writeHead(500).end(),
      );
      return;
    } else [status, body] = [404, '{"error":"no such route"}\n'];
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const a = server.address();
      resolve({ server, port: typeof a === "object" && a ? a.port : port });
    });
  });
}
