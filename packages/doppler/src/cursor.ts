/**
 * A position in the data stream: the stream sequence of a batch, the index of an envelope within it, and that
 * envelope's time (ms), so a resume that finds its history expired can say which span is missing.
 * Rendered as `<seq>-<index>-<ms>`; opaque to clients.
 */
export interface Cursor {
  seq: number;
  idx: number;
  /** Envelope time in ms since the epoch; 0 when unknown. */
  ms: number;
}

export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

const CURSOR = /^(\d{1,15})-(\d{1,6})(?:-(\d{1,15}))?$/;

export function formatCursor(c: Cursor): string {
  return `${c.seq}-${c.idx}-${c.ms}`;
}

export function parseCursor(raw: string): Cursor {
  const m = CURSOR.exec(raw);
  if (!m) throw new InvalidCursorError("cursor must be one a frame carried: <sequence>-<index>-<ms>");
  const seq = Number(m[1]);
  if (seq < 1) throw new InvalidCursorError("cursor sequence must be at least 1");
  return { seq, idx: Number(m[2]), ms: m[3] ? Number(m[3]) : 0 };
}
