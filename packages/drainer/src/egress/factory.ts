import type { AddressGuard } from "../binding/guard.js";
import type { DrainTls } from "../binding/tls.js";
import type { DrainUrl } from "../binding/url.js";
import { LogplexWriter } from "./https/logplex.js";
import { tcpDial, tlsDial } from "./syslog/dial.js";
import { SocketWriter } from "./syslog/socket.js";
import type { DrainWriter, WriterEvents } from "./writer.js";

export interface WriterSettings {
  confirmMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  httpBatchBytes: number;
  httpFlushMs: number;
  httpTimeoutMs: number;
}

/** Picks the writer from the URL scheme. */
export function createWriter(
  url: DrainUrl,
  tls: DrainTls | undefined,
  guard: AddressGuard,
  s: WriterSettings,
  events: WriterEvents,
): DrainWriter {
  const socket = { confirmMs: s.confirmMs, backoffMinMs: s.backoffMinMs, backoffMaxMs: s.backoffMaxMs, events };
  switch (url.scheme) {
    case "syslog":
      return new SocketWriter(tcpDial(url, guard), socket);
    case "syslog-tls":
      return new SocketWriter(tlsDial(url, guard, tls), socket);
    case "https":
      return new LogplexWriter(url, guard, tls, {
        batchBytes: s.httpBatchBytes,
        flushMs: s.httpFlushMs,
        timeoutMs: s.httpTimeoutMs,
        backoffMinMs: s.backoffMinMs,
        backoffMaxMs: s.backoffMaxMs,
        events,
      });
  }
}
