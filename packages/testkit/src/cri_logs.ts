import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rfc3339Nano } from "./docker_logs.js";

/** containerd's default cut for long lines (max_container_log_line_size). */
export const CRI_CHUNK = 16 * 1024;

/** A fake `/var/log/pods/<ns>_<pod>_<uid>/<container>/` in the CRI log format. */
export class CriContainer {
  readonly dir: string;
  readonly log: string;

  constructor(root: string, namespace: string, pod: string, uid: string, container: string, restart = 0) {
    this.dir = join(root, `${namespace}_${pod}_${uid}`, container);
    this.log = join(this.dir, `${restart}.log`);
    mkdirSync(this.dir, { recursive: true });
  }

  /** `<time> <stream> P|F <msg>` lines for one line of output, cut into 16 KiB P chunks and a final F. */
  static lines(line: string, stream: "stdout" | "stderr" = "stdout"): string {
    const bytes = Buffer.from(line, "utf8");
    let out = "";
    let i = 0;
    do {
      const part = bytes.subarray(i, i + CRI_CHUNK);
      i += CRI_CHUNK;
      out += `${rfc3339Nano()} ${stream} ${i < bytes.length ? "P" : "F"} ${part.toString("utf8")}\n`;
    } while (i < bytes.length);
    return out;
  }

  write(lines: string[], stream: "stdout" | "stderr" = "stdout"): void {
    appendFileSync(this.log, lines.map((l) => CriContainer.lines(l, stream)).join(""));
  }

  private rotations = 0;

  /** The kubelet's rotation: `0.log` → `0.log.<YYYYMMDD-hhmmss>`, then a fresh `0.log` (a counter keeps names unique). */
  rotate(): void {
    const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    renameSync(this.log, `${this.log}.${stamp.slice(0, 8)}-${stamp.slice(8)}${String(++this.rotations).padStart(3, "0")}`);
    writeFileSync(this.log, "");
  }
}
