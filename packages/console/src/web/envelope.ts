/**
 * The slice of a Loggregator v2 protojson envelope the console reads (docs/API.md), and its conversion into display
 * lines. Pure: no DOM, so it runs in unit tests under Node too.
 */

export interface WireEnvelope {
  timestamp?: string;
  source_id?: string;
  instance_id?: string;
  tags?: Record<string, string>;
  log?: { payload?: string; type?: string };
  gauge?: { metrics?: Record<string, { unit?: string; value?: number }> };
  counter?: { name?: string; delta?: string; total?: string };
  timer?: { name?: string; start?: string; stop?: string };
  event?: { title?: string; body?: string };
}

/** How a line is styled: app stdout, app stderr, Tailrace's own notices, anything else. */
export type LineClass = "out" | "err" | "lgr" | "other";

export interface Line {
  /** Position in this page's store; increases by one a line. */
  seq: number;
  /** ns since the epoch, as the envelope gives it. */
  ts: string;
  sourceType: string;
  instance: string;
  /** OUT, ERR, GAUGE, COUNTER, TIMER or EVENT. */
  type: string;
  cls: LineClass;
  /** `2026-11-23T10:00:00.00+0000 [APP/PROC/WEB/0] OUT`, as `cf logs` prints it. */
  head: string;
  /** The message, with control characters made visible. */
  text: string;
  /** Set on LGR notices about a drain (`tags.drain_id`). */
  drainId?: string;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `2026-11-23T10:00:00.00+0000`, in local time, as `cf logs` and the CLI (packages/cli/src/format.ts) print it. */
export function cfTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(Math.floor(d.getMilliseconds() / 10))}${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

/** ns since the epoch (a decimal string) to a Date, keeping millisecond precision. */
export function nsToDate(ns: string | undefined): Date {
  if (!ns || !/^\d+$/.test(ns)) return new Date(0);
  return new Date(ns.length > 6 ? Number(ns.slice(0, -6)) : 0);
}

// C0 controls (but tab), DEL and the C1 CSI, as the CLI does: the downloaded file may end up in a terminal.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g;

export function neutralise(s: string): string {
  return s.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `^${String.fromCharCode(code + 64)}` : `\\x${code.toString(16)}`;
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** base64 to text; invalid UTF-8 becomes U+FFFD, as a browser must show something. */
export function decodePayload(b64: string | undefined): string {
  if (!b64) return "";
  try {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return utf8.decode(bytes);
  } catch {
    return "(payload is not valid base64)";
  }
}

function body(e: WireEnvelope): { type: string; text: string } {
  if (e.log) return { type: e.log.type ?? "OUT", text: decodePayload(e.log.payload) };
  if (e.gauge) {
    const text = Object.entries(e.gauge.metrics ?? {})
      .map(([k, v]) => `${k}:${v.value} ${v.unit ?? ""}`.trimEnd())
      .join(" ");
    return { type: "GAUGE", text };
  }
  if (e.counter) return { type: "COUNTER", text: `${e.counter.name} total:${e.counter.total} delta:${e.counter.delta}` };
  if (e.timer) return { type: "TIMER", text: `${e.timer.name} ${(Number(e.timer.stop ?? 0) - Number(e.timer.start ?? 0)) / 1e6}ms` };
  return { type: "EVENT", text: `${e.event?.title ?? ""}: ${e.event?.body ?? ""}` };
}

function classOf(sourceType: string, type: string): LineClass {
  if (sourceType === "LGR" || sourceType.startsWith("LGR/")) return "lgr";
  if (type === "OUT") return "out";
  if (type === "ERR") return "err";
  return "other";
}

/**
 * Renders one envelope as `cf logs` does: a payload with several lines gives several lines, each with the header.
 * `nextSeq` numbers them.
 */
export function toLines(e: WireEnvelope, nextSeq: () => number): Line[] {
  const sourceType = e.tags?.source_type ?? "";
  const instance = e.instance_id ?? "";
  const ts = e.timestamp ?? "0";
  const { type, text } = body(e);
  const head = `${cfTime(nsToDate(ts))} [${instance !== "" ? `${sourceType}/${instance}` : sourceType}] ${type}`;
  const cls = classOf(sourceType, type);
  const drainId = e.tags?.drain_id;
  return text.split("\n").map((t) => {
    const line: Line = { seq: nextSeq(), ts, sourceType, instance, type, cls, head, text: neutralise(t) };
    if (drainId) line.drainId = drainId;
    return line;
  });
}

/**
 * Re-joins lines the agent split at 64 KiB (every part but the last carries `tags.partial`), per instance, stream
 * and source, as the CLI's PartJoiner does.
 */
export class PartJoiner {
  private readonly held = new Map<string, WireEnvelope[]>();

  push(e: WireEnvelope): WireEnvelope[] {
    if (!e.log) return [e];
    const key = `${e.instance_id ?? ""}\u0000${e.log.type ?? ""}\u0000${e.tags?.source_type ?? ""}`;
    const parts = this.held.get(key);
    if (e.tags?.partial === "true") {
      if (parts) parts.push(e);
      else this.held.set(key, [e]);
      return [];
    }
    if (!parts) return [e];
    this.held.delete(key);
    const all = [...parts, e];
    // Join the bytes, not decoded text: a part need not be valid UTF-8 on its own.
    const payload = btoa(all.map((p) => atob(p.log?.payload ?? "")).join(""));
    return [{ ...e, timestamp: parts[0]?.timestamp ?? e.timestamp, log: { type: e.log.type ?? "OUT", payload } }];
  }
}

/** A key that is the same for the same envelope read twice (the recent read and the live tail overlap). */
export function envelopeKey(e: WireEnvelope): string {
  return `${e.timestamp}|${e.instance_id}|${e.tags?.source_type}|${e.log?.type ?? ""}|${e.log?.payload ?? (e.gauge ? "g" : "")}`;
}
