import { type FileHandle, open, readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Logger } from "@tailrace/runtime";
import { Mark } from "../../egress/mark.js";
import type { Checkpoint, CheckpointStore } from "./checkpoint.js";
import { type FileDecoder, FileLines } from "./decoder.js";

export interface TailerOptions {
  /** Names the checkpoint; stable for the life of the source (e.g. `docker-<id>`). */
  key: string;
  path: string;
  decoder: FileDecoder;
  checkpoints: CheckpointStore;
  pollMs: number;
  chunkBytes: number;
  logger: Logger;
  /** A line over the size limit was skipped. */
  onOversize?: () => void;
  /** Bytes read, for the ingress counters. */
  onRead?: (bytes: number) => void;
}

interface Identity {
  dev: string;
  ino: string;
}

/** A rotated file still to read, held open so a further rotation (`.1` → `.2`) cannot swap it under us. */
interface Rotated {
  path: string;
  fh: FileHandle;
}

/** A rotated file as one look at the directory saw it. */
interface LookedAt {
  path: string;
  /** `dev:ino` */
  key: string;
  mtimeNs: bigint;
}

/** Older first: by mtime, then (same tick) `x.log.2` before `x.log.1`, and `x.log.20240101…` by name. */
function olderFirst(a: LookedAt, b: LookedAt): number {
  if (a.mtimeNs !== b.mtimeNs) return a.mtimeNs < b.mtimeNs ? -1 : 1;
  const na = /\.(\d{1,4})$/.exec(a.path)?.[1];
  const nb = /\.(\d{1,4})$/.exec(b.path)?.[1];
  if (na !== undefined && nb !== undefined) return Number(nb) - Number(na);
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR";
}

/**
 * Follows one log file through rotation, truncation and removal, and checkpoints how far it is safely published.
 *
 * The read loop is stop-and-wait per file: read a chunk, write its lines, wait until JetStream has stored them (the
 * chunk's {@link Mark} settles), write the checkpoint, read the next. So a `kill -9` repeats at most the one chunk
 * that was in flight, and never skips a byte. Many files still publish in parallel.
 *
 * Rotation (`x.log` renamed to `x.log.1`, a new `x.log` created): the open descriptor keeps the old file, which is
 * read to its end before the new one is opened. A checkpoint names the file by device and inode, so a restart
 * after a rotation finds the rotated file in the same directory and finishes it first.
 */
export class FileTailer {
  private readonly lines: FileLines;
  private fh: FileHandle | undefined;
  private id: Identity | undefined;
  private openPath = "";
  /** Offset of the next byte to read. */
  private offset = 0;
  private size = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Files this tailer has opened (`dev:ino`, the last 64), so a tie in mtime never reads one twice. */
  private readonly seen: string[] = [];
  /** Rotated files still to read, oldest first, before the live file. */
  private backlog: Rotated[] = [];
  /** The file was removed and read to its end. */
  done = false;

  constructor(private readonly o: TailerOptions) {
    this.lines = new FileLines(o.decoder, () => {
      o.onOversize?.();
      o.logger.warn({ path: o.path }, "skipped a log file line over 1 MiB");
    });
  }

  /** Bytes written to the file that are not read yet. */
  get lag(): number {
    return Math.max(0, this.size - this.offset);
  }

  start(): void {
    this.loop = this.run().catch((err) => {
      this.o.logger.error({ err: (err as Error).message, path: this.o.path }, "file source failed");
    });
  }

  /** Stops after the chunk in flight is stored and checkpointed. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    for (const r of this.backlog.splice(0)) await r.fh.close().catch(() => undefined);
  }

  private async pause(ms: number): Promise<void> {
    await Promise.race([sleep(ms), new Promise<void>((r) => (this.wake = r))]);
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    await this.resume();
    const buf = Buffer.allocUnsafe(this.o.chunkBytes);
    while (!this.stopping) {
      if (!this.fh) {
        if (!(await this.openCurrent(0))) {
          await this.pause(this.o.pollMs);
          continue;
        }
      }
      const fh = this.fh as FileHandle;
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead > 0) {
        // The decoder may keep views of the chunk (a held partial line), so it gets its own copy.
        await this.publish(Buffer.from(buf.subarray(0, bytesRead)));
        continue;
      }
      if (await this.atEnd()) break;
    }
  }

  private async publish(chunk: Buffer): Promise<void> {
    this.o.onRead?.(chunk.length);
    this.offset += chunk.length;
    if (this.offset > this.size) this.size = this.offset;
    const mark = new Mark();
    this.lines.push(chunk, mark);
    await mark.seal();
    await this.save();
  }

  private async save(): Promise<void> {
    if (!this.id) return;
    const cp: Checkpoint = { path: this.openPath, ...this.id, offset: this.lines.safeOffset() };
    await this.o.checkpoints.put(this.o.key, cp);
  }

  /** At the end of the open file: decide whether to wait, follow a rotation, restart a truncated file, or finish. */
  private async atEnd(): Promise<boolean> {
    const fh = this.fh as FileHandle;
    const mine = await fh.stat({ bigint: true });
    this.size = Number(mine.size);
    if (mine.size < BigInt(this.offset)) {
      this.o.logger.warn({ path: this.openPath, offset: this.offset, size: this.size }, "log file truncated; reading it from the start");
      this.offset = 0;
      this.lines.reset(0);
      await this.save();
      return false;
    }
    if (mine.size > BigInt(this.offset)) return false;
    let now: Awaited<ReturnType<typeof stat>> | undefined;
    try {
      now = await stat(this.o.path, { bigint: true });
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    const replaced = now !== undefined && (String(now.ino) !== this.id?.ino || String(now.dev) !== this.id?.dev);
    if (replaced || this.openPath !== this.o.path) {
      // Rotated. Writes to the old file all happened before the rename we just saw, so once it is read to its end
      // (checked again here, after the rename) it is complete. Then come any newer rotations, then the live file.
      if ((await fh.stat({ bigint: true })).size > BigInt(this.offset)) return false;
      // Rotations since this file was opened (several may have happened between two polls).
      if (this.backlog.length === 0) this.backlog = await this.newerRotations(mine.mtimeNs);
      await this.finishFile();
      await this.openNext(mine.mtimeNs);
      return false;
    }
    if (now === undefined && mine.nlink === 0n) {
      // Removed (container gone) and fully read.
      await this.finishFile();
      await this.o.checkpoints.delete(this.o.key);
      this.done = true;
      this.o.logger.info({ path: this.o.path }, "log file removed; source finished");
      return true;
    }
    await this.pause(this.o.pollMs);
    return false;
  }

  private async finishFile(): Promise<void> {
    const mark = new Mark();
    this.lines.finish(mark);
    await mark.seal();
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    this.id = undefined;
  }

  /**
   * The oldest rotated file still to read, or else the live file. The live file may have rotated again between our
   * look at it and its opening: files rotated since `afterMtimeNs` that we have not read come first.
   */
  private async openNext(afterMtimeNs: bigint): Promise<void> {
    const next = this.backlog.shift();
    if (next) {
      await this.openCurrent(0, next.path, next.fh);
      return;
    }
    let live: FileHandle;
    try {
      live = await open(this.o.path, "r");
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    const st = await live.stat({ bigint: true });
    const older = await this.newerRotations(afterMtimeNs, { dev: String(st.dev), ino: String(st.ino) });
    const first = older.shift();
    if (!first) {
      await this.openCurrent(0, this.o.path, live);
      return;
    }
    this.backlog = [...older, { path: this.o.path, fh: live }];
    await this.openCurrent(0, first.path, first.fh);
  }

  /** Opens the file at `path` (the live one by default) at `offset`; false if it does not exist (yet). */
  private async openCurrent(offset: number, path = this.o.path, opened?: FileHandle): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = opened ?? (await open(path, "r"));
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    const st = await fh.stat({ bigint: true });
    this.fh = fh;
    this.id = { dev: String(st.dev), ino: String(st.ino) };
    this.seen.push(`${this.id.dev}:${this.id.ino}`);
    if (this.seen.length > 64) this.seen.shift();
    this.openPath = path;
    this.size = Number(st.size);
    this.offset = offset > this.size ? 0 : offset;
    this.lines.reset(this.offset);
    this.o.logger.debug(
      { path, ino: this.id.ino, mtime: String(st.mtimeNs), offset: this.offset, backlog: this.backlog.map((b) => b.path) },
      "reading log file",
    );
    await this.save();
    return true;
  }

  /** Picks up where the checkpoint left off: the same file, or the file it was rotated to. */
  private async resume(): Promise<void> {
    const cp = await this.o.checkpoints.get(this.o.key);
    if (!cp) {
      // A source seen for the first time: rotations that already exist hold its older lines; read them first.
      this.backlog = await this.newerRotations(0n);
      if (this.backlog.length) await this.openNext(0n);
      return;
    }
    const found = await this.findByIdentity(cp);
    if (!found) {
      this.o.logger.warn({ path: cp.path, offset: cp.offset }, "checkpointed log file is gone; starting on the current file");
      return;
    }
    if (found.path !== this.o.path) {
      this.o.logger.info({ path: found.path, offset: cp.offset }, "finishing a log file rotated while the agent was down");
      this.backlog = await this.newerRotations(found.mtimeNs, found);
    }
    await this.openCurrent(cp.offset, found.path);
  }

  /**
   * Rotated siblings of the live file (not compressed) last written at or after `mtimeNs`, other than the one open
   * (or `except`), oldest first, each opened at once and each file once.
   *
   * The directory is read while the writer may still rotate: between a listing and the opens, `x.log.1` can become
   * `x.log.2`, so one listing can name a file twice (under its old and new name) or not at all, and names seen at
   * different moments do not order files. So the order comes from a consistent look ({@link steadyLook}), each file
   * is opened by its name from that look, and the open is checked to hold the inode the look saw; if a rotation
   * came in between, the whole look is taken again.
   */
  private async newerRotations(mtimeNs: bigint, except?: Identity): Promise<Rotated[]> {
    const skip = [this.id, except].filter(Boolean).map((i) => `${i?.dev}:${i?.ino}`);
    for (let attempt = 1; ; attempt++) {
      const wanted = (await this.steadyLook()).filter((f) => f.mtimeNs >= mtimeNs && !skip.includes(f.key) && !this.seen.includes(f.key));
      wanted.sort(olderFirst);
      const opened: Rotated[] = [];
      let moved = false;
      for (const f of wanted) {
        const fh = await open(f.path, "r").catch(() => undefined);
        const st = await fh?.stat({ bigint: true });
        if (fh && st && `${st.dev}:${st.ino}` === f.key) {
          opened.push({ path: f.path, fh });
          continue;
        }
        await fh?.close();
        moved = true;
      }
      if (!moved) return opened;
      if (attempt === 10) {
        this.o.logger.warn(
          { path: this.o.path },
          "log files kept rotating while the agent listed them; order of the rotated files may be off",
        );
        return opened;
      }
      for (const r of opened) await r.fh.close();
    }
  }

  /**
   * The rotated files by name, from two looks in a row that agree. No rotation happened while such a look was taken
   * (a rename would show in one of the two), so its names order the files even where two were last written in the
   * same clock tick (file times are coarse). The stats of one look run at once, so a look takes about one round trip.
   */
  private async steadyLook(): Promise<LookedAt[]> {
    let before = "";
    let look: LookedAt[] = [];
    for (let i = 0; i < 20; i++) {
      const paths = (await this.rotations()).sort();
      const stats = await Promise.all(
        paths.map((path) =>
          stat(path, { bigint: true }).then(
            (st) => ({ path, key: `${st.dev}:${st.ino}`, mtimeNs: st.mtimeNs }),
            () => undefined,
          ),
        ),
      );
      look = stats.filter((f) => f !== undefined);
      const now = look.map((f) => `${f.path}=${f.key}`).join("\n");
      if (now === before) break;
      before = now;
    }
    return look;
  }

  private async rotations(): Promise<string[]> {
    const dir = dirname(this.o.path);
    const base = basename(this.o.path);
    try {
      return (await readdir(dir))
        .filter((n) => n.startsWith(`${base}.`) && !n.endsWith(".gz") && !n.endsWith(".tmp"))
        .map((n) => join(dir, n));
    } catch {
      return [];
    }
  }

  private async findByIdentity(cp: Checkpoint): Promise<{ path: string; mtimeNs: bigint; dev: string; ino: string } | undefined> {
    // The live file first, then its rotations (`x.log.1`, `x.log.20240101-000000`).
    for (const path of [this.o.path, ...(await this.rotations())]) {
      try {
        const st = await stat(path, { bigint: true });
        if (String(st.ino) === cp.ino && String(st.dev) === cp.dev) return { path, mtimeNs: st.mtimeNs, dev: cp.dev, ino: cp.ino };
      } catch {}
    }
    return undefined;
  }
}
