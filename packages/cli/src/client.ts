import { type Envelope, fromProtoJson } from "@tailrace/envelope";
import WebSocket from "ws";
import { ApiError } from "./errors.js";
import type { ClientSettings } from "./settings.js";

export async function apiGet(s: ClientSettings, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${s.api}${path}`, { headers: { authorization: `Bearer ${s.token}` } });
  } catch (err) {
    throw new ApiError(0, `cannot reach ${s.api}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let msg = text;
    try {
      msg = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {}
    throw new ApiError(res.status, `${res.status} ${res.statusText}: ${msg.trim()}`);
  }
  return JSON.parse(text);
}

export async function readRecent(s: ClientSettings, app: string, params: URLSearchParams): Promise<Envelope[]> {
  const body = (await apiGet(s, `/api/v1/read/${encodeURIComponent(app)}?${params}`)) as { envelopes?: { batch?: unknown[] } };
  return (body.envelopes?.batch ?? []).map((v, i) => fromProtoJson(v, `batch[${i}]`));
}

export interface StreamHandlers {
  onBatch(batch: Envelope[], cursor: string | undefined): void;
  onOpen?(): void;
}

/**
 * Opens one websocket tail. Resolves when it closes cleanly; rejects with {@link ApiError} when the doppler refuses
 * it (401, 403, 404: not worth retrying) and with a plain Error for network trouble (worth retrying).
 */
export function openStream(s: ClientSettings, path: string, h: StreamHandlers, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${s.api.replace(/^http/, "ws")}${path}`, {
      headers: { authorization: `Bearer ${s.token}` },
      perMessageDeflate: false,
    });
    const abort = () => ws.close(1000);
    signal?.addEventListener("abort", abort, { once: true });
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        let msg = text;
        try {
          msg = (JSON.parse(text) as { error?: string }).error ?? text;
        } catch {}
        reject(new ApiError(res.statusCode ?? 0, `${res.statusCode} ${res.statusMessage}: ${msg.trim()}`));
        ws.terminate();
      });
    });
    ws.on("open", () => h.onOpen?.());
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { batch: unknown[]; cursor?: string };
      h.onBatch(
        frame.batch.map((v, i) => fromProtoJson(v, `batch[${i}]`)),
        frame.cursor,
      );
    });
    ws.on("error", (err) => reject(err));
    ws.on("close", (code, reason) => {
      signal?.removeEventListener("abort", abort);
      if (code === 1000 || signal?.aborted) resolve();
      else reject(new Error(`stream closed (${code}${reason.length ? ` ${reason.toString()}` : ""})`));
    });
  });
}
