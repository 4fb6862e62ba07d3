import type { ServerResponse } from "node:http";

export function json(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, typeof body === "string" ? body : JSON.stringify(body), "application/json");
}

export function sendText(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
  res.end(body);
}

export function problem(res: ServerResponse, status: number, error: string): void {
  const headers: Record<string, string> = {};
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="tailrace"';
  const body = `${JSON.stringify({ error })}\n`;
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Writes a bare HTTP error on a socket that asked to upgrade, before any websocket exists. */
export function rejectUpgrade(socket: import("node:stream").Duplex, status: number, reason: string): void {
  const text: Record<number, string> = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    503: "Service Unavailable",
  };
  const body = `${JSON.stringify({ error: reason })}\n`;
  const extra = status === 401 ? 'WWW-Authenticate: Bearer realm="tailrace"\r\n' : status === 429 ? "Retry-After: 5\r\n" : "";
  socket.end(
    `HTTP/1.1 ${status} ${text[status] ?? "Error"}\r\n${extra}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
