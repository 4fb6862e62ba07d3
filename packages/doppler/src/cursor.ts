/**
 * A position in the data stream: the stream sequence of a batch and the index of an envelope within it.
 * Rendered as `<seq>-<index>`; opaque to clients.
 */
export interface Cursor {
  seq: number;
  idx: number;
}

export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

const CURSOR = /^(\d{1,15})-(\d{1,6})$/;

export function formatCursor(c: Cursor): string {
  return `${c.seq}-${c.idx}`;
}

export function parseCursor(raw: string): Cursor {
  const m = CURSOR.exec(raw);
  if (!m) throw new InvalidCursorError("cursor must look like <sequence>-<index>, as sent in a frame");
  const seq = Number(m[1]);
  if (seq < 1) throw new InvalidCursorError("cursor sequence must be at least 1");
  return { seq, idx: Number(m[2]) };
}
