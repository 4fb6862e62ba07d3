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

/**
 * The highest index a cursor carries: a cursor at `<seq>-999999` has seen the whole of batch `seq` and everything
 * before it, whatever that batch holds (or whichever app it belongs to).
 */
export const WHOLE_BATCH = 999_999;

/**
 * Where a live tail starts (the stream sequence of the last message before it; 0 on an empty stream), sent before its
 * first envelope: a client that must reconnect before any line reached it resumes from here, so the lines written
 * while it reconnects are not lost (issue 12, drill 4).
 */
export function startCursor(lastSeq: number, ms: number): string {
  return formatCursor({ seq: lastSeq, idx: WHOLE_BATCH, ms });
}

export function formatCursor(c: Cursor): string {
  return `${c.seq}-${c.idx}-${c.ms}`;
}

export function parseCursor(raw: string): Cursor {
  const m = CURSOR.exec(raw);
  if (!m) throw new InvalidCursorError("cursor must be one a frame carried: <sequence>-<index>-<ms>");
  const seq = Number(m[1]);
  const idx = Number(m[2]);
  // Sequence 0 is only ever a start cursor: a tail opened on an empty stream, which resumes from its first message.
  if (seq < 1 && idx !== WHOLE_BATCH) throw new InvalidCursorError("cursor sequence must be at least 1");
  return { seq, idx, ms: m[3] ? Number(m[3]) : 0 };
}
