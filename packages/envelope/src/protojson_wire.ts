/**
 * Renders an encoded batch (codec.ts) straight to protojson bytes, without making an Envelope per line: the doppler's
 * tail path renders every batch it reads, and on this machine decoding alone cost about 1 µs per envelope (issue 13,
 * Throughput). Log envelopes are rendered from the wire bytes; the other kinds, and anything unusual (non-ASCII
 * names, negative times), go through {@link decodeEnvelopeAt} and {@link renderEnvelope}, so the output is always
 * byte for byte what `toProtoJson(decodeBatch(data)[i])` gives, and a batch that decodeBatch refuses is refused here
 * with the same {@link CodecError}.
 */
import { decodeBatch, decodeEnvelopeAt, Reader } from "./codec.js";
import type { Envelope } from "./envelope.js";
import { CodecError } from "./errors.js";
import { setOwn } from "./own.js";
import { Out, type RenderedBatch, renderEnvelope, renderTags } from "./protojson_bytes.js";

/** A batch rendered from its wire form; `envelope(i)` decodes the batch when a reader first needs an envelope's fields. */
export interface WireBatch extends RenderedBatch {
  count: number;
  /** Envelope i's time in ms since the epoch (as `timestamp / 1_000_000n`). */
  ms: Float64Array;
  envelope(i: number): Envelope;
}

const NS = 1_000_000_000;
/** "00" to "99". */
const DIGIT_PAIRS = Buffer.from(Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0")).join(""), "latin1");

/** `hi * 2^32` as seconds and nanoseconds, for the last `hi` seen (it changes every 4.3 s of timestamps). */
let cachedHi = -1;
let hiSec = 0;
let hiNs = 0;
let lastSec = -1;
let lastSecText = "";

class Wire extends Reader {
  /** Skips a `str`, returning where its bytes start. */
  skipStr(): number {
    const n = this.varint();
    this.need(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }
}

/** Writes the JSON string of the UTF-8 bytes `b[start, end)`, as JSON.stringify of their decoding would. */
function jsonBytes(o: Out, b: Buffer, start: number, end: number): void {
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
      o.json(b.toString("utf8", start, end));
      return;
    }
  }
  o.ensure(end - start + 2);
  const out = o.buf;
  let p = o.pos;
  out[p++] = 0x22;
  for (let i = start; i < end; i++) out[p++] = b[i] as number;
  out[p++] = 0x22;
  o.pos = p;
}

/** Writes the decimal of the non-negative i64 at `b[at]`; returns it in ms. */
function timestamp(o: Out, b: Buffer, at: number): number {
  const lo = b.readUInt32LE(at);
  const hi = b.readUInt32LE(at + 4);
  if (hi !== cachedHi) {
    const big = BigInt(hi) << 32n;
    hiSec = Number(big / 1_000_000_000n);
    hiNs = Number(big % 1_000_000_000n);
    cachedHi = hi;
  }
  let ns = hiNs + lo;
  const carry = Math.floor(ns / NS);
  ns -= carry * NS;
  const sec = hiSec + carry;
  o.ensure(32);
  if (sec > 0) {
    if (sec !== lastSec) {
      lastSec = sec;
      lastSecText = String(sec);
    }
    o.ascii(lastSecText);
    // Nine digits, zero-padded.
    const buf = o.buf;
    // ns < 1e9 fits an int32: integer division, two digits a step.
    let v = ns | 0;
    for (let p = o.pos + 7; p > o.pos; p -= 2) {
      const r = v % 100;
      v = (v / 100) | 0;
      buf[p] = DIGIT_PAIRS[2 * r] as number;
      buf[p + 1] = DIGIT_PAIRS[2 * r + 1] as number;
    }
    buf[o.pos] = 0x30 + v;
    o.pos += 9;
  } else o.ascii(String(ns));
  return sec * 1000 + Math.floor(ns / 1_000_000);
}

const TS_OPEN = Buffer.from('{"timestamp":"');
const OUT_CLOSE = Buffer.from('","type":"OUT"}}');
const ERR_CLOSE = Buffer.from('","type":"ERR"}}');

/** Reads a log envelope's source_id, instance_id and tags and renders them, from `","source_id":` to `"payload":"`. */
function renderHead(w: Wire, b: Buffer): Buffer {
  const sidAt = w.skipStr();
  const sidEnd = w.pos;
  const iidAt = w.skipStr();
  const iidEnd = w.pos;
  const ntags = w.varint();
  const tags: Record<string, string> = {};
  for (let t = 0; t < ntags; t++) {
    const kAt = w.skipStr();
    const kEnd = w.pos;
    const vAt = w.skipStr();
    setOwn(tags, b.toString("utf8", kAt, kEnd), b.toString("utf8", vAt, w.pos));
  }
  const o = new Out(256);
  o.ascii('","source_id":');
  jsonBytes(o, b, sidAt, sidEnd);
  o.ascii(',"instance_id":');
  jsonBytes(o, b, iidAt, iidEnd);
  o.ascii(',"deprecated_tags":{},"tags":');
  renderTags(o, tags);
  o.ascii(',"log":{"payload":"');
  return Buffer.from(o.buf.subarray(0, o.pos));
}

/** Renders and checks an encoded batch; throws {@link CodecError} where decodeBatch would. */
export function renderBatchProtoJson(data: Uint8Array): WireBatch {
  const w = new Wire(data);
  const b = w.buf;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (w.u8() !== 0x54 || w.u8() !== 0x52) throw new CodecError("not a Tailrace batch (bad magic)");
  const version = w.u8();
  if (version !== 1) throw new CodecError(`unsupported batch version ${version}`);
  const count = w.varint();
  if (count > data.length / 12) throw new CodecError(`batch claims ${count} envelopes in ${data.length} bytes`);
  // Protojson grows a log line by about 4/3 plus ~150 bytes of names.
  const o = new Out(256 + Math.ceil(data.length * 1.4) + count * 160);
  const starts = new Uint32Array(count);
  const ends = new Uint32Array(count);
  const ms = new Float64Array(count);
  // The previous log envelope's head on the wire (source_id, instance_id and tags: from `headAt` for `headLen`
  // bytes) and its rendering, from `","source_id":` to `"payload":"`. The same bytes render the same.
  let headAt = -1;
  let headLen = 0;
  let mid: Buffer = TS_OPEN;
  for (let i = 0; i < count; i++) {
    if (i > 0) o.byte(0x2c);
    starts[i] = o.pos;
    const at = w.pos;
    const kind = w.u8();
    w.need(8);
    const negative = ((b[at + 8] as number) & 0x80) !== 0;
    if (kind !== 0 || negative) {
      const { env, end } = decodeEnvelopeAt(b, at, i);
      renderEnvelope(o, env);
      ms[i] = Number(env.timestamp / 1_000_000n);
      w.pos = end;
      ends[i] = o.pos;
      continue;
    }
    const tsAt = w.pos;
    w.pos += 8;
    const hAt = w.pos;
    let same = headAt >= 0 && hAt + headLen <= b.length;
    // Four bytes a step, then the rest.
    let k = 0;
    for (; same && k + 4 <= headLen; k += 4) if (dv.getUint32(headAt + k) !== dv.getUint32(hAt + k)) same = false;
    for (; same && k < headLen; k++) if (b[headAt + k] !== b[hAt + k]) same = false;
    if (same) w.pos = hAt + headLen;
    else {
      mid = renderHead(w, b);
      headAt = hAt;
      headLen = w.pos - hAt;
    }
    const type = w.u8();
    const plen = w.varint();
    w.need(plen);
    const pAt = w.pos;
    w.pos += plen;
    // Now everything is known to be in bounds: write.
    o.put(TS_OPEN);
    ms[i] = timestamp(o, b, tsAt);
    o.put(mid);
    o.base64(b, pAt, pAt + plen);
    o.put(type === 1 ? ERR_CLOSE : OUT_CLOSE);
    ends[i] = o.pos;
  }
  if (w.pos !== b.length) throw new CodecError(`${b.length - w.pos} trailing bytes after batch`);
  // Decoded as a whole the first time a reader asks (a filter looks at every envelope; its tags stay shared). Until
  // then the batch holds the wire bytes: a view on NATS's read buffer, at most one socket read (64 KiB) beside a
  // rendering that is twice the batch.
  let decoded: Envelope[] | undefined;
  return {
    bytes: o.buf.subarray(0, o.pos),
    starts,
    ends,
    count,
    ms,
    envelope: (i: number) => {
      decoded ??= decodeBatch(b);
      return decoded[i] as Envelope;
    },
  };
}
