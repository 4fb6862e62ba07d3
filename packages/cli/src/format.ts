import { type Envelope, nsToDate } from "@tailrace/envelope";

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `2026-11-23T10:00:00.00+0000`, in local time, as `cf logs` prints it. */
export function cfTime(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${pad(Math.floor(d.getMilliseconds() / 10))}${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
  );
}

// C0 controls (but tab), DEL and the C1 CSI: they could move the cursor, recolour or retitle the user's terminal.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g;

/** Makes terminal control characters visible (`\x1b` → `^[`), so a log line cannot drive the reader's terminal. */
export function neutralise(s: string): string {
  return s.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `^${String.fromCharCode(code + 64)}` : `\\x${code.toString(16)}`;
  });
}

/**
 * Renders a log envelope as `cf logs` does; a payload with several lines gets the header on each line.
 * Non-log envelopes render as a short summary.
 */
export function cfLines(e: Envelope, raw = false): string[] {
  const st = e.tags.source_type ?? "";
  const header = `${cfTime(nsToDate(e.timestamp))} [${e.instanceId !== "" ? `${st}/${e.instanceId}` : st}]`;
  let body: string;
  let type = "";
  if (e.log) {
    type = e.log.type;
    body = Buffer.from(e.log.payload).toString("utf8");
  } else if (e.gauge) {
    type = "GAUGE";
    body = Object.entries(e.gauge.metrics)
      .map(([k, v]) => `${k}:${v.value} ${v.unit}`)
      .join(" ");
  } else if (e.counter) {
    type = "COUNTER";
    body = `${e.counter.name} total:${e.counter.total} delta:${e.counter.delta}`;
  } else if (e.timer) {
    type = "TIMER";
    body = `${e.timer.name} ${Number(e.timer.stop - e.timer.start) / 1e6}ms`;
  } else {
    type = "EVENT";
    body = `${e.event?.title}: ${e.event?.body}`;
  }
  return body.split("\n").map((line) => `${header} ${type} ${raw ? line : neutralise(line)}`);
}

/**
 * Re-joins lines the agent split at 64 KiB (every part but the last carries `tags.partial`), per instance and stream,
 * so the reader sees each line whole.
 */
export class PartJoiner {
  private readonly parts = new Map<string, Envelope[]>();

  /** Returns the envelopes ready to print: none while a split line is still incomplete. */
  push(e: Envelope): Envelope[] {
    if (!e.log) return [e];
    const key = `${e.instanceId}\u0000${e.log.type}\u0000${e.tags.source_type ?? ""}`;
    const held = this.parts.get(key);
    if (e.tags.partial === "true") {
      if (held) held.push(e);
      else this.parts.set(key, [e]);
      return [];
    }
    if (!held) return [e];
    this.parts.delete(key);
    const payload = Buffer.concat([...held, e].map((p) => p.log?.payload ?? new Uint8Array()));
    return [{ ...e, timestamp: (held[0] as Envelope).timestamp, log: { type: e.log.type, payload } }];
  }
}
