import type { Mark } from "../../egress/mark.js";
import type { AgentCounters } from "../../telemetry/counters.js";
import { StreamPairDecoder } from "../file/decoder.js";
import { parseRfc3339Nano } from "../file/time.js";
import type { InstanceSink } from "../instance.js";

interface JsonFileEntry {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

/**
 * Docker's json-file format: one `{"log":"...\n","stream":"stdout|stderr","time":"RFC3339Nano"}` object a line.
 * Docker cuts lines longer than 16 KiB into entries whose `log` has no trailing `\n`; those are re-joined per
 * stream. Each line keeps the container's own timestamp (of its first chunk), to the nanosecond.
 */
export class DockerJsonDecoder extends StreamPairDecoder {
  constructor(
    sink: InstanceSink,
    private readonly counters: AgentCounters,
  ) {
    super(sink);
  }

  line(line: Buffer, start: number, mark: Mark): void {
    if (line.length === 0) return;
    let entry: JsonFileEntry;
    try {
      entry = JSON.parse(line.toString("utf8")) as JsonFileEntry;
    } catch {
      this.counters.drop("malformed");
      return;
    }
    const { log, stream } = entry;
    const ts = typeof entry.time === "string" ? parseRfc3339Nano(entry.time) : undefined;
    if (typeof log !== "string" || (stream !== "stdout" && stream !== "stderr") || ts === undefined) {
      this.counters.drop("malformed");
      return;
    }
    const target = stream === "stdout" ? this.out : this.err;
    if (log.endsWith("\n")) {
      let n = log.length - 1;
      if (n > 0 && log.charCodeAt(n - 1) === 13) n--;
      target.end(Buffer.from(log.slice(0, n), "utf8"), ts, mark);
    } else {
      target.hold(Buffer.from(log, "utf8"), ts, start, mark);
    }
  }
}
