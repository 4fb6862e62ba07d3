import type { Mark } from "../../egress/mark.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import { StreamPairDecoder } from "../file/decoder.js";
import { parseRfc3339Nano } from "../file/time.js";
import type { InstanceSink } from "../instance.js";

const SP = 0x20;

/**
 * The CRI log format (containerd, CRI-O): `<RFC3339Nano> <stdout|stderr> <P|F> <message>` a line. `P` marks a
 * chunk of a longer line, re-joined with the `F` that ends it, per stream. Other tags after `P`/`F` (`F:x`) are
 * ignored, as the format allows.
 */
export class CriDecoder extends StreamPairDecoder {
  constructor(
    sink: InstanceSink,
    private readonly counters: AgentCounters,
  ) {
    super(sink);
  }

  line(line: Buffer, start: number, mark: Mark): void {
    const a = line.indexOf(SP);
    const b = a === -1 ? -1 : line.indexOf(SP, a + 1);
    let c = b === -1 ? -1 : line.indexOf(SP, b + 1);
    // An empty message may come without the space after the tag.
    if (b !== -1 && c === -1) c = line.length;
    const ts = a > 0 ? parseRfc3339Nano(line.toString("latin1", 0, a)) : undefined;
    const stream = b > a ? line.toString("latin1", a + 1, b) : "";
    const tag = c > b ? line[b + 1] : undefined;
    if (ts === undefined || (stream !== "stdout" && stream !== "stderr") || (tag !== 0x50 && tag !== 0x46)) {
      this.counters.drop("malformed");
      return;
    }
    let msg = line.subarray(Math.min(c + 1, line.length));
    if (msg.length > 0 && msg[msg.length - 1] === 0x0d) msg = msg.subarray(0, msg.length - 1);
    const target = stream === "stdout" ? this.out : this.err;
    // Its own copy: a held chunk must not pin the whole read buffer.
    if (tag === 0x50) target.hold(Buffer.from(msg), ts, start, mark);
    else target.end(msg, ts, mark);
  }
}
