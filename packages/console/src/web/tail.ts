/**
 * The live tail of one app over the doppler's websocket, with the token in the protocol handshake and the cursor
 * for resuming: pause closes the socket and keeps the cursor, resume and every reconnect open a new socket with
 * `?cursor=`, and the doppler replays what came in between, with no gap and no duplicate.
 */
import type { WireEnvelope } from "./envelope.js";

/** The subprotocol that marks the next offered protocol as the bearer token; the doppler echoes only this one. */
export const BEARER_PROTOCOL = "tailrace.bearer";

/** Refused upgrades in a row, while HTTP works, after which the cursor is taken to be gone (about 4 s of backoff). */
const CURSOR_GIVE_UP = 5;

export type TailState = "connecting" | "live" | "reconnecting" | "paused" | "stopped";

export interface TailEvents {
  onBatch(batch: WireEnvelope[], cursor: string | undefined): void;
  onState(state: TailState, detail: string): void;
  /**
   * Called when a socket closes before it opened, as browsers hide the HTTP status of a refused upgrade. Resolves
   * with the status of an equivalent HTTP call (200 when that works), so the tail can tell a refused token (401) or
   * app (404), which end it, from a network failure, which it retries.
   */
  probe(): Promise<number>;
  /** A fatal refusal: the tail has stopped. */
  onFatal(status: number): void;
  /** The doppler no longer accepts the cursor; the tail went on without it, so lines may be missing. */
  onGap(): void;
}

export interface TailOptions {
  /** e.g. `ws://host:port`; derived from the page's location when omitted. */
  wsOrigin: string;
  /** Path and query without the cursor, e.g. `/v1/apps/web/stream?tenant=acme`. */
  path: string;
  token: string;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** For tests: the WebSocket constructor. */
  WebSocketImpl?: typeof WebSocket;
}

export function wsOriginOf(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}`;
}

export class Tail {
  private ws: WebSocket | undefined;
  private state: TailState = "stopped";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private failuresWithCursor = 0;
  cursor: string | undefined;
  /** Sockets opened so far, for tests and the status line. */
  opened = 0;

  constructor(
    private readonly o: TailOptions,
    private readonly ev: TailEvents,
  ) {}

  get current(): TailState {
    return this.state;
  }

  private set(state: TailState, detail = ""): void {
    this.state = state;
    this.ev.onState(state, detail);
  }

  start(): void {
    this.set("connecting");
    this.connect();
  }

  pause(): void {
    if (this.state === "stopped" || this.state === "paused") return;
    this.halt();
    this.set("paused", this.cursor ? "resumes from its cursor" : "");
  }

  resume(): void {
    if (this.state !== "paused") return;
    this.set("connecting");
    this.connect();
  }

  stop(): void {
    this.halt();
    this.set("stopped");
  }

  /** Drops the current socket as a network failure would, for tests and the "reconnect now" button. */
  kick(): void {
    this.ws?.close(4000, "reconnect");
  }

  private halt(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000, "bye");
    }
  }

  private url(): string {
    if (!this.cursor) return this.o.wsOrigin + this.o.path;
    const sep = this.o.path.includes("?") ? "&" : "?";
    return `${this.o.wsOrigin}${this.o.path}${sep}cursor=${encodeURIComponent(this.cursor)}`;
  }

  private connect(): void {
    const Impl = this.o.WebSocketImpl ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(this.url(), [BEARER_PROTOCOL, this.o.token]);
    } catch (err) {
      // Only a malformed URL or protocol throws here; retrying would not help.
      this.set("stopped", (err as Error).message);
      this.ev.onFatal(400);
      return;
    }
    this.ws = ws;
    let wasOpen = false;
    ws.onopen = () => {
      wasOpen = true;
      this.attempt = 0;
      this.failuresWithCursor = 0;
      this.opened++;
      this.set("live");
    };
    ws.onmessage = (m) => {
      if (typeof m.data !== "string") return;
      let frame: { batch?: WireEnvelope[]; cursor?: string };
      try {
        frame = JSON.parse(m.data);
      } catch {
        return;
      }
      if (frame.cursor) this.cursor = frame.cursor;
      if (frame.batch?.length) this.ev.onBatch(frame.batch, frame.cursor);
    };
    ws.onerror = () => {};
    ws.onclose = (c) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      void this.closed(wasOpen, c.code, c.reason);
    };
  }

  private async closed(wasOpen: boolean, code: number, reason: string): Promise<void> {
    if (!wasOpen) {
      const status = await this.ev.probe().catch(() => 0);
      if (this.state === "paused" || this.state === "stopped") return;
      if (status === 401 || status === 403 || status === 404) {
        this.set("stopped", `refused (${status})`);
        this.ev.onFatal(status);
        return;
      }
      // The app answers over HTTP but the socket was refused: with a cursor, most likely the cursor is no longer
      // valid (its messages are gone from the stream). Go on live from now, and say lines may be missing.
      if (status === 200 && this.cursor && ++this.failuresWithCursor >= CURSOR_GIVE_UP) {
        this.cursor = undefined;
        this.failuresWithCursor = 0;
        this.ev.onGap();
      }
    }
    if (this.state === "paused" || this.state === "stopped") return;
    const min = this.o.backoffMinMs ?? 250;
    const max = this.o.backoffMaxMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    const why = wasOpen ? `connection closed${code ? ` (${code}${reason ? ` ${reason}` : ""})` : ""}` : "cannot connect";
    this.set("reconnecting", `${why}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === "reconnecting") this.connect();
    }, delay);
  }
}
