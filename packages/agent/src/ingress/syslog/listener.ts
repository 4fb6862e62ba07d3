import { createSocket, type Socket } from "node:dgram";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { Logger, ServerTls } from "@tailrace/runtime";
import { SyslogFramer } from "./framing.js";
import type { SyslogHandler } from "./handler.js";

const MAX_CONNECTIONS = 1024;

/**
 * Syslog over UDP (one message a datagram) and TCP (RFC 6587, octet-counted or LF-framed, chosen per frame) on the
 * same host:port. Bad frames are reported by the framer, which resynchronises; a connection is never closed for
 * one bad message, so good neighbours on it survive.
 */
export class SyslogListener {
  private udp: Socket | undefined;
  private tcp: Server | undefined;
  private readonly conns = new Set<TcpSocket>();
  /** TCP framing errors, UDP datagrams included in the handler's counts. */
  framingErrors = 0;
  udpPort = 0;
  tcpPort = 0;

  constructor(
    private readonly handler: SyslogHandler,
    private readonly logger: Logger,
    /** With TLS, the TCP listener speaks syslog over TLS (RFC 5425 framing is the same octet counting); UDP stays plain. */
    private readonly tls?: ServerTls,
  ) {}

  async listen(host: string, port: number): Promise<void> {
    const udp = createSocket({ type: host.includes(":") ? "udp6" : "udp4", recvBufferSize: 4 * 1024 * 1024 });
    udp.on("message", (msg) => this.handler.handle(msg, "udp"));
    udp.on("error", (err) => this.logger.warn({ err: err.message }, "syslog UDP socket error"));
    await new Promise<void>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind(port, host, () => {
        udp.off("error", reject);
        resolve();
      });
    });
    this.udp = udp;
    this.udpPort = udp.address().port;
    const tcp = this.tls ? createTlsServer(this.tls, (sock) => this.accept(sock)) : createServer((sock) => this.accept(sock));
    // A failed handshake is the client's problem, not the listener's: log it and carry on.
    tcp.on("tlsClientError", (err: Error) => this.logger.debug({ err: err.message }, "syslog TLS handshake failed"));
    tcp.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      tcp.once("error", reject);
      // Port 0 (tests): TCP takes the same number UDP got, so one host:port serves both.
      tcp.listen(port === 0 ? this.udpPort : port, host, () => {
        tcp.off("error", reject);
        resolve();
      });
    });
    this.tcp = tcp;
    const addr = tcp.address();
    this.tcpPort = typeof addr === "object" && addr ? addr.port : 0;
    this.logger.info({ host, udp: this.udpPort, tcp: this.tcpPort, tls: Boolean(this.tls) }, "syslog listening");
  }

  private accept(sock: TcpSocket): void {
    this.conns.add(sock);
    const framer = new SyslogFramer(
      (msg) => this.handler.handle(msg, "tcp"),
      (err) => {
        this.framingErrors++;
        this.handler.framingError(err);
      },
    );
    sock.on("data", (d: Buffer) => framer.push(d));
    sock.on("end", () => framer.end());
    sock.on("error", (err) => this.logger.debug({ err: err.message }, "syslog connection error"));
    sock.on("close", () => this.conns.delete(sock));
  }

  async close(): Promise<void> {
    this.udp?.close();
    const closed = new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    for (const s of this.conns) s.destroy();
    await closed;
  }
}
