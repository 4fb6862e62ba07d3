/** The drainer's own `/healthz`, `/readyz` and `/metrics` (Prometheus text, one series per drain and counter). */
import { createServer, type Server } from "node:http";
import type { DrainStats } from "./drain/stats.js";

const COUNTERS = [
  ["sent", "counter", "Syslog messages delivered"],
  ["errors", "counter", "Failed connects, broken connections and failed requests"],
  ["retries", "counter", "Reconnects and re-sent requests"],
  ["lost", "counter", "Envelopes given up: past retention or refused for good"],
  ["lag", "gauge", "NATS messages waiting behind the last one delivered"],
] as const;

export function metricsText(stats: DrainStats[]): string {
  const lines: string[] = [];
  lines.push("# HELP tailrace_drainer_drains Drains this drainer knows of.", "# TYPE tailrace_drainer_drains gauge");
  lines.push(`tailrace_drainer_drains ${stats.length}`);
  lines.push(
    "# HELP tailrace_drainer_drains_active Drains this drainer holds the lease of.",
    "# TYPE tailrace_drainer_drains_active gauge",
  );
  lines.push(`tailrace_drainer_drains_active ${stats.filter((s) => s.active).length}`);
  for (const [name, type, help] of COUNTERS) {
    const metric = `tailrace_drain_${name}${type === "counter" ? "_total" : ""}`;
    lines.push(`# HELP ${metric} ${help}.`, `# TYPE ${metric} ${type}`);
    for (const s of stats) {
      if (!s.active && s[name] === 0) continue;
      lines.push(`${metric}{drain="${s.id}",tenant="${s.tenant}",source_id="${s.source_id}"} ${s[name]}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function startHttp(
  host: string,
  port: number,
  ready: () => Record<string, boolean>,
  stats: () => DrainStats[],
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
    } else if (path === "/metrics") [body, type] = [metricsText(stats()), "text/plain; version=0.0.4; charset=utf-8"];
    else [status, body] = [404, '{"error":"no such route"}\n'];
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
