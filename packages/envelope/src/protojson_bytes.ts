/**
 * The protojson of a whole batch, rendered once into one UTF-8 buffer: the bytes of {@link toProtoJson} for each
 * envelope, joined by commas, with where each one starts and ends.
 *
 * Why bytes and not strings: a websocket frame built by concatenating a thousand envelope strings is a rope that `ws`
 * flattens to measure it and then encodes again to write it. In the doppler's profile of bench/e2e_tail.mjs those two
 * steps (Buffer.byteLength and writev's UTF-8 encoding) took a third of its CPU (issue 13, Throughput). A frame of
 * buffers is one copy.
 */
import type { Envelope, GaugeValue } from "./envelope.js";

export interface RenderedBatch {
  /** `e0,e1,...`: each envelope's protojson, comma-separated. */
  bytes: Buffer;
  /** Where envelope i starts in `bytes`. */
  starts: Uint32Array;
  /** Where envelope i ends in `bytes` (exclusive); the byte at `ends[i]` is the comma before envelope i + 1. */
  ends: Uint32Array;
}

const q = JSON.stringify;
const B64 = Buffer.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "latin1");
/** Two base64 characters per 12 bits (low byte first): half the table lookups of a 6-bit table. */
const B64_PAIRS = new Uint16Array(4096);
for (let i = 0; i < 4096; i++) B64_PAIRS[i] = (B64[i >> 6] as number) | ((B64[i & 63] as number) << 8);

/** Rendered tags (`{"k":"v",...}`) per tags object: envelopes decoded from one batch share their tags object. */
const tagsCache = new WeakMap<Record<string, string>, Buffer>();

/** A growable output buffer with the writes protojson needs. */
export class Out {
  buf: Buffer;
  pos = 0;
  /** On `buf`, for four-byte stores. */
  private dv: DataView;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  /** Copies `src` (a TypedArray set: no call into C++). */
  put(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }
  /** A string known to be ASCII (digits, constants). */
  ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    if (n < 64) {
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = src[i] as number;
      this.pos = p;
    } else {
      this.buf.set(src, this.pos);
      this.pos += n;
    }
  }
  /** `JSON.stringify(s)` as UTF-8: plain ASCII is copied in a loop, anything else goes through JSON.stringify. */
  json(s: string): void {
    const n = s.length;
    this.ensure(n + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        const t = q(s);
        this.ensure(t.length * 3);
        this.pos += this.buf.write(t, this.pos, "utf8");
        return;
      }
      b[p++] = c;
    }
    b[p++] = 0x22;
    this.pos = p;
  }
  /** Base64 (standard alphabet, padded, as Buffer's) of `src[start, end)`. */
  base64(src: Uint8Array, start = 0, end = src.length): void {
    const n = end;
    this.ensure(Math.ceil((end - start) / 3) * 4);
    const b = this.buf;
    const dv = this.dv;
    let p = this.pos;
    let i = start;
    for (; i + 2 < n; i += 3) {
      const v = ((src[i] as number) << 16) | ((src[i + 1] as number) << 8) | (src[i + 2] as number);
      // Four characters in one store.
      dv.setUint32(p, (B64_PAIRS[v >> 12] as number) | ((B64_PAIRS[v & 4095] as number) << 16), true);
      p += 4;
    }
    if (i < n) {
      const v = ((src[i] as number) << 16) | (i + 1 < n ? (src[i + 1] as number) << 8 : 0);
      b[p++] = B64[v >> 18] as number;
      b[p++] = B64[(v >> 12) & 63] as number;
      b[p++] = i + 1 < n ? (B64[(v >> 6) & 63] as number) : 0x3d;
      b[p++] = 0x3d;
    }
    this.pos = p;
  }
}

/** Writes a tags object as `{"k":"v",...}`. */
export function renderTags(o: Out, tags: Record<string, string>): void {
  o.ascii("{");
  let first = true;
  for (const k in tags) {
    if (!first) o.ascii(",");
    o.json(k);
    o.ascii(":");
    o.json(tags[k] as string);
    first = false;
  }
  o.ascii("}");
}

function tagsBytes(tags: Record<string, string>): Buffer {
  const hit = tagsCache.get(tags);
  if (hit) return hit;
  const o = new Out(256);
  renderTags(o, tags);
  const b = Buffer.from(o.buf.subarray(0, o.pos));
  tagsCache.set(tags, b);
  return b;
}

/** Writes {@link toProtoJson}'s bytes for `e`. */
export function renderEnvelope(o: Out, e: Envelope): void {
  o.ascii('{"timestamp":"');
  o.ascii(String(e.timestamp));
  o.ascii('","source_id":');
  o.json(e.sourceId);
  o.ascii(',"instance_id":');
  o.json(e.instanceId);
  o.ascii(',"deprecated_tags":{},"tags":');
  o.bytes(tagsBytes(e.tags));
  if (e.log) {
    o.ascii(',"log":{"payload":"');
    o.base64(e.log.payload);
    o.ascii(e.log.type === "ERR" ? '","type":"ERR"}' : '","type":"OUT"}');
  } else if (e.counter) {
    o.ascii(',"counter":{"name":');
    o.json(e.counter.name);
    o.ascii(`,"delta":"${e.counter.delta}","total":"${e.counter.total}"}`);
  } else if (e.gauge) {
    o.ascii(',"gauge":{"metrics":{');
    let first = true;
    for (const name in e.gauge.metrics) {
      const g = e.gauge.metrics[name] as GaugeValue;
      if (!first) o.ascii(",");
      o.json(name);
      o.ascii(':{"unit":');
      o.json(g.unit);
      o.ascii(`,"value":${g.value}}`);
      first = false;
    }
    o.ascii("}}");
  } else if (e.timer) {
    o.ascii(',"timer":{"name":');
    o.json(e.timer.name);
    o.ascii(`,"start":"${e.timer.start}","stop":"${e.timer.stop}"}`);
  } else if (e.event) {
    o.ascii(',"event":{"title":');
    o.json(e.event.title);
    o.ascii(',"body":');
    o.json(e.event.body);
    o.ascii("}");
  }
  o.ascii("}");
}

/** Renders every envelope of `batch` as protojson into one buffer; see {@link RenderedBatch}. */
export function renderProtoJsonBatch(batch: readonly Envelope[]): RenderedBatch {
  const n = batch.length;
  const o = new Out(512 + n * 400);
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (i > 0) o.ascii(",");
    starts[i] = o.pos;
    renderEnvelope(o, batch[i] as Envelope);
    ends[i] = o.pos;
  }
  return { bytes: o.buf.subarray(0, o.pos), starts, ends };
}
