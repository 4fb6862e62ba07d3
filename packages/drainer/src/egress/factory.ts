import { decodeBatch, type Envelope } from "@tailrace/envelope";
import type { AddressGuard } from "../binding/guard.js";
import type { DrainTls } from "../binding/tls.js";
import type { DrainUrl } from "../binding/url.js";
import { SyslogFramer } from "../format/frames.js";
import { syslogMessages } from "../format/rfc5424.js";
import { LogplexWriter } from "./https/logplex.js";
import { otlpItems } from "./otlp/encode.js";
import { OtlpWriter } from "./otlp/writer.js";
import { tcpDial, tlsDial } from "./syslog/dial.js";
import { SocketWriter } from "./syslog/socket.js";
import type { DrainWriter, Egress, WriterEvents } from "./writer.js";

export interface WriterSettings {
  confirmMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  httpBatchBytes: number;
  httpFlushMs: number;
  httpTimeoutMs: number;
}

/**
 * Pairs an encoder of one envelope with the writer that takes what it makes, so the pipeline never needs to know
 * which: each message is one item.
 */
function egress<M>(encode: (e: Envelope) => M[], writer: DrainWriter<M>): Egress {
  return {
    encode(data) {
      const batch = decodeBatch(data);
      const items: M[] = [];
      for (const e of batch) for (const m of encode(e)) items.push(m);
      return { items, count: items.length, envelopes: batch.length };
    },
    writer,
  };
}

/** Syslog over a socket writes a batch's messages framed, in one buffer, straight from the wire (format/frames.ts). */
function socketEgress(framer: SyslogFramer, writer: SocketWriter): Egress {
  return {
    encode(data) {
      const f = framer.frames(data);
      return { items: f.count > 0 ? [f.bytes] : [], count: f.count, envelopes: f.envelopes };
    },
    writer,
  };
}

/** Picks the encoder and the writer from the URL scheme. */
export function createEgress(
  url: DrainUrl,
  tls: DrainTls | undefined,
  guard: AddressGuard,
  s: WriterSettings,
  events: WriterEvents,
): Egress {
  const syslog = { disableMetadata: url.disableMetadata, drainData: url.drainData };
  const socket = { confirmMs: s.confirmMs, backoffMinMs: s.backoffMinMs, backoffMaxMs: s.backoffMaxMs, events };
  const http = {
    batchBytes: s.httpBatchBytes,
    flushMs: s.httpFlushMs,
    timeoutMs: s.httpTimeoutMs,
    backoffMinMs: s.backoffMinMs,
    backoffMaxMs: s.backoffMaxMs,
    events,
  };
  switch (url.scheme) {
    case "syslog":
      return socketEgress(new SyslogFramer(syslog), new SocketWriter(tcpDial(url, guard), socket));
    case "syslog-tls":
      return socketEgress(new SyslogFramer(syslog), new SocketWriter(tlsDial(url, guard, tls), socket));
    case "https":
      return egress((e) => syslogMessages(e, syslog), new LogplexWriter(url, guard, tls, http));
    case "otlp+https":
    case "otlp+http":
      return egress((e) => otlpItems(e, syslog), new OtlpWriter(url, guard, tls, http));
  }
}
