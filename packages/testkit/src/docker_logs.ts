import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Docker cuts a log line into json-file entries of at most 16 KiB; all but the last lack the trailing `\n`. */
export const DOCKER_CHUNK = 16 * 1024;

let clock = BigInt(Date.now()) * 1_000_000n;

/** Strictly increasing RFC3339Nano timestamps, as Go's time.RFC3339Nano prints them (trailing zeros trimmed). */
export function rfc3339Nano(ns?: bigint): string {
  const t = ns ?? (clock += 1000n);
  const iso = new Date(Number(t / 1_000_000n)).toISOString().slice(0, 19);
  const frac = (t % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${iso}${frac ? `.${frac}` : ""}Z`;
}

/** A fake `/var/lib/docker/containers/<id>/` with Docker's real file layout and formats. */
export class DockerContainer {
  readonly dir: string;
  readonly log: string;

  constructor(
    root: string,
    readonly id: string,
    labels: Record<string, string>,
    name = `/${id.slice(0, 8)}`,
  ) {
    this.dir = join(root, id);
    this.log = join(this.dir, `${id}-json.log`);
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(
      join(this.dir, "config.v2.json"),
      JSON.stringify({ ID: id, Name: name, Config: { Labels: labels }, State: { Running: true } }),
    );
  }

  /** The json-file lines Docker writes for one line of output: 16 KiB entries, the last ending in `\n`. */
  static entries(line: string, stream: "stdout" | "stderr" = "stdout", time?: string): string {
    const bytes = Buffer.from(`${line}\n`, "utf8");
    let out = "";
    for (let i = 0; i < bytes.length; i += DOCKER_CHUNK) {
      // Docker cuts bytes, not characters; these tests keep multi-byte characters off the cuts.
      const part = bytes.subarray(i, i + DOCKER_CHUNK).toString("utf8");
      out += `${JSON.stringify({ log: part, stream, time: time ?? rfc3339Nano() })}\n`;
    }
    return out;
  }

  write(lines: string[], stream: "stdout" | "stderr" = "stdout"): void {
    appendFileSync(this.log, lines.map((l) => DockerContainer.entries(l, stream)).join(""));
  }

  /** Docker's rotation (max-file): `x-json.log.N` → `.N+1`, `x-json.log` → `.1`, then a fresh `x-json.log`. */
  rotate(keep = 5): void {
    for (let n = keep - 1; n >= 1; n--) {
      try {
        renameSync(`${this.log}.${n}`, `${this.log}.${n + 1}`);
      } catch {}
    }
    renameSync(this.log, `${this.log}.1`);
    writeFileSync(this.log, "");
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A 64-hex container id, unique per call. */
export function containerId(n: number): string {
  return `${n.toString(16).padStart(8, "0")}${Date.now().toString(16)}`.padEnd(64, "a").slice(0, 64);
}
