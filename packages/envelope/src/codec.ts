/**
 * The batch codec for the NATS hop (agent → NATS → doppler/drainer). A batch is one NATS message.
 *
 * Layout, all integers little-endian, `varint` is unsigned LEB128, `str` is varint length + UTF-8:
 *
 *     "TR" u8 version=1  varint count
 *     per envelope:
 *       u8 kind (0 log, 1 counter, 2 gauge, 3 timer, 4 event)
 *       i64 timestamp  str source_id  str instance_id  varint ntags (str key, str value)*
 *       log:     u8 type (0 OUT, 1 ERR)  varint len  raw payload bytes
 *       counter: str name  i64 delta  u64 total
 *       gauge:   varint n  (str name, str unit, f64 value)*
 *       timer:   str name  i64 start  i64 stop
 *       event:   str title  str body
 *
 * Why binary rather than protojson on the wire: payloads travel as raw bytes (no base64 growth, invalid UTF-8 kept
 * exactly), and bench/codec.mjs measures encode+decode several times faster than JSON for log lines. The numbers are
 * in docs/BENCHMARKS.md.
 */
import type { Envelope, GaugeValue, Kind } from "./envelope.js";
import { CodecError } from "./errors.js";
import { setOwn } from "./own.js";

const MAGIC0 = 0x54; // T
const MAGIC1 = 0x52; // R
const VERSION = 1;
const KIND_CODE: Record<Kind, number> = { log: 0, counter: 1, gauge: 2, timer: 3, event: 4 };

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    this.ensure(5);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }
  i64(v: bigint): void {
    this.ensure(8);
    this.view().setBigInt64(this.pos, v, true);
    this.pos += 8;
  }
  private dv: DataView | undefined;
  /** A DataView on the current buffer: its setBigInt64 is a V8 builtin, Buffer's writeBigInt64LE is not. */
  view(): DataView {
    const b = this.buf;
    if (this.dv === undefined || this.dv.buffer !== b.buffer || this.dv.byteOffset !== b.byteOffset) {
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.dv;
  }
  /** Copies bytes `[start, end)` written earlier to the end. */
  again(start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    this.buf.copyWithin(this.pos, start, end);
    this.pos += n;
  }
  u64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  str(s: string): void {
    const n = s.length;
    if (n < 0x80) {
      // Short ASCII (names, tags) in a loop: Buffer#write is a call into C++ that costs more than the copy.
      this.ensure(n + 1);
      const b = this.buf;
      const at = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 1 + i] = c;
      }
      if (i === n) {
        b[at] = n;
        this.pos = at + 1 + n;
        return;
      }
    }
    // Worst case 3 bytes per UTF-16 unit; avoids a separate byteLength pass.
    const max = s.length * 3;
    this.ensure(max + 5);
    const lenPos = this.pos;
    // Reserve a varint wide enough for `max`, then write in place.
    const width = max < 0x80 ? 1 : max < 0x4000 ? 2 : max < 0x200000 ? 3 : 4;
    const len = this.buf.write(s, lenPos + width, "utf8");
    let v = len;
    for (let i = 0; i < width - 1; i++) {
      this.buf[lenPos + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[lenPos + width - 1] = v;
    this.pos = lenPos + width + len;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Encodes a batch. The result is a view on a fresh buffer; it is safe to hand to NATS. */
export function encodeBatch(batch: readonly Envelope[]): Uint8Array {
  let size = 256;
  for (const e of batch) size += 96 + (e.log ? e.log.payload.length : 64);
  const w = new Writer(size);
  // The previous envelope's source_id, instance_id and tags, and where their bytes are: a batch's envelopes nearly
  // always share them, and copying the bytes is cheaper than encoding the strings again.
  let prev: Envelope | undefined;
  let headStart = 0;
  let headEnd = 0;
  w.u8(MAGIC0);
  w.u8(MAGIC1);
  w.u8(VERSION);
  w.varint(batch.length);
  for (const e of batch) {
    const kind = e.log ? "log" : e.counter ? "counter" : e.gauge ? "gauge" : e.timer ? "timer" : "event";
    w.u8(KIND_CODE[kind]);
    w.i64(e.timestamp);
    if (prev !== undefined && e.tags === prev.tags && e.sourceId === prev.sourceId && e.instanceId === prev.instanceId) {
      w.again(headStart, headEnd);
    } else {
      headStart = w.pos;
      w.str(e.sourceId);
      w.str(e.instanceId);
      const keys = Object.keys(e.tags);
      w.varint(keys.length);
      for (const k of keys) {
        w.str(k);
        w.str(e.tags[k] as string);
      }
      headEnd = w.pos;
      prev = e;
    }
    if (e.log) {
      w.u8(e.log.type === "ERR" ? 1 : 0);
      w.bytes(e.log.payload);
    } else if (e.counter) {
      w.str(e.counter.name);
      w.i64(e.counter.delta);
      w.u64(e.counter.total);
    } else if (e.gauge) {
      const names = Object.keys(e.gauge.metrics);
      w.varint(names.length);
      for (const name of names) {
        const m = e.gauge.metrics[name] as GaugeValue;
        w.str(name);
        w.str(m.unit);
        w.f64(m.value);
      }
    } else if (e.timer) {
      w.str(e.timer.name);
      w.i64(e.timer.start);
      w.i64(e.timer.stop);
    } else if (e.event) {
      w.str(e.event.title);
      w.str(e.event.body);
    } else {
      throw new CodecError("envelope carries no message");
    }
  }
  return w.buf.subarray(0, w.pos);
}

/** Reads the batch wire format; protojson_wire.ts extends it to skip over strings. */
export class Reader {
  pos = 0;
  readonly buf: Buffer;
  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new CodecError(`batch truncated at byte ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  varint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 28) throw new CodecError(`varint too long at byte ${this.pos}`);
    }
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.varint();
    this.need(n);
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(): Uint8Array {
    const n = this.varint();
    this.need(n);
    // A copy, so an envelope never pins the whole NATS message buffer.
    const b = Buffer.allocUnsafe(n);
    this.buf.copy(b, 0, this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

/**
 * Decodes a batch. Throws {@link CodecError} on anything malformed; it never returns a partial batch.
 * The result is not validated against the model: the agent validated it before encoding, and NATS permissions
 * keep anyone else from publishing on data subjects. Envelopes of one batch may share one `tags` object: treat
 * decoded envelopes as read-only.
 */
export function decodeBatch(data: Uint8Array): Envelope[] {
  const r = new Reader(data);
  if (r.u8() !== MAGIC0 || r.u8() !== MAGIC1) throw new CodecError("not a Tailrace batch (bad magic)");
  const version = r.u8();
  if (version !== VERSION) throw new CodecError(`unsupported batch version ${version}`);
  const count = r.varint();
  // Each envelope takes at least 12 bytes; a count beyond that is a lie, not a reason to allocate.
  if (count > data.length / 12) throw new CodecError(`batch claims ${count} envelopes in ${data.length} bytes`);
  const out: Envelope[] = new Array(count);
  const shared: SharedTags = { tags: undefined, start: 0, end: 0 };
  for (let i = 0; i < count; i++) out[i] = readEnvelope(r, shared, i);
  if (r.pos !== r.buf.length) throw new CodecError(`${r.buf.length - r.pos} trailing bytes after batch`);
  return out;
}

/**
 * Envelopes of one batch nearly always carry the same tags: when a tags section is byte-for-byte the previous one,
 * share its object. Fewer allocations, and renderers can cache per tags object.
 */
interface SharedTags {
  tags: Record<string, string> | undefined;
  start: number;
  end: number;
}

function readEnvelope(r: Reader, shared: SharedTags, i: number): Envelope {
  const kind = r.u8();
  const timestamp = r.i64();
  const sourceId = r.str();
  const instanceId = r.str();
  const tagsStart = r.pos;
  const len = shared.end - shared.start;
  let tags: Record<string, string>;
  if (shared.tags && tagsStart + len <= r.buf.length && r.buf.compare(r.buf, shared.start, shared.end, tagsStart, tagsStart + len) === 0) {
    // The same bytes parse to the same tags, consuming exactly `len` bytes.
    tags = shared.tags;
    r.pos = tagsStart + len;
  } else {
    const ntags = r.varint();
    tags = {};
    for (let t = 0; t < ntags; t++) {
      const k = r.str();
      setOwn(tags, k, r.str());
    }
    shared.tags = tags;
    shared.start = tagsStart;
    shared.end = r.pos;
  }
  const e: Envelope = { timestamp, sourceId, instanceId, tags };
  switch (kind) {
    case 0: {
      const type = r.u8() === 1 ? "ERR" : "OUT";
      e.log = { payload: r.bytes(), type };
      break;
    }
    case 1:
      e.counter = { name: r.str(), delta: r.i64(), total: r.u64() };
      break;
    case 2: {
      const n = r.varint();
      const metrics: Record<string, GaugeValue> = {};
      for (let m = 0; m < n; m++) {
        const name = r.str();
        setOwn(metrics, name, { unit: r.str(), value: r.f64() });
      }
      e.gauge = { metrics };
      break;
    }
    case 3:
      e.timer = { name: r.str(), start: r.i64(), stop: r.i64() };
      break;
    case 4:
      e.event = { title: r.str(), body: r.str() };
      break;
    default:
      throw new CodecError(`unknown envelope kind ${kind} in batch[${i}]`);
  }
  return e;
}

/**
 * Decodes the one envelope that starts at byte `pos` of an encoded batch (the batch as a whole already checked, e.g.
 * by {@link renderBatchProtoJson}); returns it and where the next one starts.
 */
export function decodeEnvelopeAt(data: Uint8Array, pos: number, i = 0): { env: Envelope; end: number } {
  const r = new Reader(data);
  r.pos = pos;
  const env = readEnvelope(r, { tags: undefined, start: 0, end: 0 }, i);
  return { env, end: r.pos };
}
