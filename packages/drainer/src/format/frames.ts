/**
 * An encoded batch (the envelope codec's wire form, as it comes off NATS) as the bytes a syslog drain writes:
 * octet-counted RFC 5424 messages back to back, byte for byte
 * `Buffer.concat(decodeBatch(data).flatMap((e) => syslogMessages(e, opts)).map(octetFrame))`, in one buffer; and a
 * batch that decodeBatch refuses is refused here with the same CodecError.
 *
 * Why not that expression (issue 13): on one TCP syslog drain, decoding each line into an Envelope (with a copy of
 * its payload), formatting it into a Buffer of its own, framing that into a second and joining those into a third
 * was about 60% of the drainer's CPU. Here a log line goes from the wire bytes to the output in one copy: its
 * timestamp is written from the wire's integer, and what follows it (hostname, app-name, procid, the tags element)
 * is rendered once per envelope head (source_id, instance_id and tags), which the lines of one instance repeat byte
 * for byte. Other kinds, and times before 1970, are decoded and formatted one by one (rfc5424.ts).
 */
import type { Envelope } from "@tailrace/envelope";
import { CodecError, decodeEnvelopeAt, Reader } from "@tailrace/envelope/internal";
import type { DrainData } from "../binding/url.js";
import { appName, hostname, logProcId } from "./fields.js";
import { type SyslogFormatOptions, syslogMessages } from "./rfc5424.js";
import { tagsElement } from "./sd.js";

export interface SyslogFrames {
  bytes: Buffer;
  /** Messages in `bytes`. */
  count: number;
  /** Envelopes in the batch. */
  envelopes: number;
}

const PRI_OUT = Buffer.from("<14>1 ", "latin1");
const PRI_ERR = Buffer.from("<11>1 ", "latin1");
const PRI_LEN = 6;
/** `2026-11-23T10:00:00.123456Z` */
const STAMP_LEN = 27;
const NS = 1_000_000_000;
/** 9999-12-31T23:59:59Z: later times have no four-digit year, and get the NILVALUE (as rfc3339Micros gives). */
const MAX_SEC = 253_402_300_799;
const NEWLINE = 0x0a;
const SPACE = 0x20;

class Wire extends Reader {
  skipStr(): void {
    const n = this.varint();
    this.need(n);
    this.pos += n;
  }
}

export class SyslogFramer {
  /** The last log envelope head seen on the wire (a copy), and ` HOSTNAME APP-NAME PROCID - SD ` rendered from it. */
  private head: Buffer = Buffer.alloc(0);
  private rest: Buffer = Buffer.alloc(0);
  /** `2^32 · hi` ns as seconds and nanoseconds, for the last `hi` seen (it changes every 4.3 s of timestamps). */
  private hi = -1;
  private hiSec = 0;
  private hiNs = 0;
  /** `YYYY-MM-DDTHH:MM:SS` of the last second written. */
  private sec = -1;
  private date: Buffer = Buffer.alloc(19);
  private out: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(private readonly opts: SyslogFormatOptions & { drainData: DrainData }) {}

  frames(data: Uint8Array): SyslogFrames {
    const w = new Wire(data);
    const b = w.buf;
    if (w.u8() !== 0x54 || w.u8() !== 0x52) throw new CodecError("not a Tailrace batch (bad magic)");
    const version = w.u8();
    if (version !== 1) throw new CodecError(`unsupported batch version ${version}`);
    const envelopes = w.varint();
    if (envelopes > data.length / 12) throw new CodecError(`batch claims ${envelopes} envelopes in ${data.length} bytes`);
    // The lines grow by their header and framing, about 100 bytes each beside their payloads.
    this.out = Buffer.allocUnsafe(64 + data.length + envelopes * 128);
    this.pos = 0;
    const logs = this.opts.drainData !== "metrics";
    let count = 0;
    for (let i = 0; i < envelopes; i++) {
      const at = w.pos;
      const kind = w.u8();
      w.need(8);
      if (kind !== 0 || ((b[at + 8] as number) & 0x80) !== 0) {
        const { env, end } = decodeEnvelopeAt(b, at, i);
        w.pos = end;
        count += this.slow(env);
        continue;
      }
      const tsAt = w.pos;
      w.pos += 8;
      const hAt = w.pos;
      if (!this.sameHead(b, hAt)) {
        w.skipStr();
        w.skipStr();
        const ntags = w.varint();
        for (let t = 0; t < ntags; t++) {
          w.skipStr();
          w.skipStr();
        }
        // Once per head: decoded as decodeBatch would (the tags' odd keys included), to render what follows the time.
        // Kept only once that succeeded: a head followed by a bad payload must not pair with the previous rendering.
        const rest = this.restOf(decodeEnvelopeAt(b, at, i).env);
        this.head = Buffer.from(b.subarray(hAt, w.pos));
        this.rest = rest;
      } else w.pos = hAt + this.head.length;
      const type = w.u8();
      const plen = w.varint();
      w.need(plen);
      const pAt = w.pos;
      w.pos += plen;
      if (!logs) continue;
      const sec = this.second(b, tsAt);
      const stampLen = sec <= MAX_SEC ? STAMP_LEN : 1;
      const len = PRI_LEN + stampLen + this.rest.length + plen + 1;
      this.ensure(11 + len);
      const out = this.out;
      let p = this.length(len);
      out.set(type === 1 ? PRI_ERR : PRI_OUT, p);
      p += PRI_LEN;
      if (stampLen === 1) out[p++] = 0x2d;
      else p = this.stamp(p, b, tsAt, sec);
      out.set(this.rest, p);
      p += this.rest.length;
      b.copy(out, p, pAt, pAt + plen);
      p += plen;
      out[p++] = NEWLINE;
      this.pos = p;
      count++;
    }
    if (w.pos !== b.length) throw new CodecError(`${b.length - w.pos} trailing bytes after batch`);
    const bytes = this.out.subarray(0, this.pos);
    this.out = Buffer.alloc(0);
    return { bytes, count, envelopes };
  }

  /** True when the bytes at `at` start with the last head seen. */
  private sameHead(b: Buffer, at: number): boolean {
    const h = this.head;
    const n = h.length;
    if (n === 0 || at + n > b.length) return false;
    for (let k = 0; k < n; k++) if (b[at + k] !== h[k]) return false;
    return true;
  }

  private restOf(e: Envelope): Buffer {
    const sd = (this.opts.disableMetadata ? undefined : tagsElement(e.tags)) ?? "-";
    return Buffer.from(` ${hostname(e)} ${appName(e)} ${logProcId(e)} - ${sd} `, "utf8");
  }

  /** Any envelope the fast path does not take: formatted on its own, each message framed. */
  private slow(e: Envelope): number {
    const msgs = syslogMessages(e, this.opts);
    for (const m of msgs) {
      this.ensure(11 + m.length);
      const p = this.length(m.length);
      this.out.set(m, p);
      this.pos = p + m.length;
    }
    return msgs.length;
  }

  /** The second of the non-negative i64 nanoseconds at `b[at]`. */
  private second(b: Buffer, at: number): number {
    const hi = b.readUInt32LE(at + 4);
    if (hi !== this.hi) {
      const big = BigInt(hi) << 32n;
      this.hiSec = Number(big / BigInt(NS));
      this.hiNs = Number(big % BigInt(NS));
      this.hi = hi;
    }
    return this.hiSec + Math.floor((this.hiNs + b.readUInt32LE(at)) / NS);
  }

  /** Writes `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` for the time at `b[at]`, in second `sec`, at `p`; returns the end. */
  private stamp(p: number, b: Buffer, at: number, sec: number): number {
    if (sec !== this.sec) {
      this.date = Buffer.from(new Date(sec * 1000).toISOString().slice(0, 19), "latin1");
      this.sec = sec;
    }
    const out = this.out;
    out.set(this.date, p);
    p += 19;
    out[p] = 0x2e;
    let us = Math.floor(((this.hiNs + b.readUInt32LE(at)) % NS) / 1000);
    for (let q = p + 6; q > p; q--) {
      out[q] = 0x30 + (us % 10);
      us = Math.floor(us / 10);
    }
    out[p + 7] = 0x5a;
    return p + 8;
  }

  /** Writes `MSG-LEN SP` at the end of the output; returns where the message goes. */
  private length(len: number): number {
    const out = this.out;
    let d = 1;
    for (let v = len; v >= 10; v = Math.floor(v / 10)) d++;
    const end = this.pos + d;
    for (let p = end - 1; p >= this.pos; p--) {
      out[p] = 0x30 + (len % 10);
      len = Math.floor(len / 10);
    }
    out[end] = SPACE;
    return end + 1;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.out.length) return;
    let size = Math.max(256, this.out.length * 2);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.out.copy(next, 0, 0, this.pos);
    this.out = next;
  }
}
