import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { type Envelope, fromProtoJson } from "@tailrace/envelope";
import WebSocket from "ws";
import { ApiError } from "./errors.js";
import type { ClientSettings } from "./settings.js";

/**
 * One API call. https verifies the server's certificate against the system CAs plus `--ca`/`TAILRACE_CA`; there is no
 * switch to turn verification off.
 */
export function apiCall(s: ClientSettings, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = new URL(`${s.api}${path}`);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { authorization: `Bearer ${s.token}` };
  if (payload) Object.assign(headers, { "content-type": "application/json", "content-length": payload.length });
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          let msg = text;
          try {
            msg = (JSON.parse(text) as { error?: string }).error ?? text;
          } catch {}
          reject(new ApiError(status, `${status} ${res.statusMessage ?? ""}: ${msg.trim()}`));
          return;
        }
        try {
          resolve(text ? JSON.parse(text) : undefined);
        } catch {
          reject(new ApiError(status, `the API answered with something that is not JSON`));
        }
      });
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, { method, headers, ...(s.ca ? { ca: s.ca } : {}) }, onResponse)
        : httpRequest(url, { method, headers }, onResponse);
    req.on("error", (err: NodeJS.ErrnoException) =>
      reject(new ApiError(0, `cannot reach ${s.api}: ${err.code ? `${err.code} ` : ""}${err.message}`)),
    );
    req.end(payload);
  });
}

export function apiGet(s: ClientSettings, path: string): Promise<unknown> {
  return apiCall(s, "GET", path);
}

/** Answers worth asking again: no answer at all (a doppler restarting behind the balancer), or a gateway or NATS pause. */
const RETRY_STATUSES = new Set([0, 502, 503, 504]);
const RECENT_ATTEMPTS = 4;
/**
 * Refusals a follower waits out instead of giving up on: the gateway answers of a balancer whose doppler is down or
 * not ready yet, and 429, which a whole balancer's worth of followers moving to one doppler at once can meet
 * (issue 12, drill 4). Anything else (401, 403, 404) will not change by asking again.
 */
const FOLLOW_RETRY_STATUSES = new Set([...RETRY_STATUSES, 429]);

/**
 * `--recent`: one read, asked again (up to {@link RECENT_ATTEMPTS} times, a second apart and more) while the doppler
 * cannot be reached or NATS is electing a leader, saying so on stderr, so a node's loss is a pause and not an error.
 */
export async function readRecent(s: ClientSettings, app: string, params: URLSearchParams): Promise<Envelope[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      const body = (await apiGet(s, `/api/v1/read/${encodeURIComponent(app)}?${params}`)) as { envelopes?: { batch?: unknown[] } };
      return (body.envelopes?.batch ?? []).map((v, i) => fromProtoJson(v, `batch[${i}]`));
    } catch (err) {
      if (!(err instanceof ApiError) || !RETRY_STATUSES.has(err.status) || attempt >= RECENT_ATTEMPTS) throw err;
      process.stderr.write(`tailrace: ${err.message}; asking again\n`);
      await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
  }
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
      ...(s.ca ? { ca: s.ca } : {}),
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

export interface FollowOptions {
  /**
   * Ends the follow when aborted. Without one, Ctrl-C (SIGINT) or SIGTERM does, as for the `tailrace` process; a caller
   * that runs many followers in one process (a drill) gives each its own.
   */
  signal?: AbortSignal;
  /** Where the follower says it is reconnecting (stderr by default). */
  warn?: (line: string) => void;
}

/**
 * Follows a websocket stream until Ctrl-C: reconnects after network trouble with capped backoff, resuming from the
 * last cursor the stream sent (when it sends cursors), and gives up only when the doppler refuses for good (401/403/404).
 */
export async function follow(
  s: ClientSettings,
  path: (cursor: string | undefined) => string,
  onBatch: (batch: Envelope[]) => void,
  o: FollowOptions = {},
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  if (o.signal) {
    if (o.signal.aborted) return;
    o.signal.addEventListener("abort", stop, { once: true });
  } else {
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }
  const warn = o.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  let cursor: string | undefined;
  let delay = 250;
  try {
    while (!controller.signal.aborted) {
      try {
        await openStream(
          s,
          path(cursor),
          {
            onOpen: () => {
              delay = 250;
            },
            onBatch: (batch, c) => {
              onBatch(batch);
              if (c) cursor = c;
            },
          },
          controller.signal,
        );
      } catch (err) {
        if (err instanceof ApiError && !FOLLOW_RETRY_STATUSES.has(err.status)) throw err;
        if (controller.signal.aborted) break;
        warn(`tailrace: ${(err as Error).message}; reconnecting in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  } finally {
    o.signal?.removeEventListener("abort", stop);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
