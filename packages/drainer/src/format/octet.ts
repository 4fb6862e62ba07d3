/**
 * Octet-counting framing (RFC 6587 section 3.4.1): `MSG-LEN SP SYSLOG-MSG`. It is what syslog over TCP and TLS uses
 * here, since payloads may hold newlines; and an `application/logplex-1` body for HTTPS drains is the same frames
 * back to back (https://devcenter.heroku.com/articles/log-drains#https-drains).
 */

export function octetFrame(msg: Buffer): Buffer {
  const prefix = `${msg.length} `;
  const out = Buffer.allocUnsafe(prefix.length + msg.length);
  out.write(prefix, 0, "latin1");
  out.set(msg, prefix.length);
  return out;
}

/** One logplex body for a batch; `count` is what goes in the `Logplex-Msg-Count` header. */
export function logplexFrames(msgs: readonly Buffer[]): { body: Buffer; count: number } {
  let size = 0;
  for (const m of msgs) size += String(m.length).length + 1 + m.length;
  const body = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const m of msgs) {
    pos += body.write(`${m.length} `, pos, "latin1");
    body.set(m, pos);
    pos += m.length;
  }
  return { body, count: msgs.length };
}
