import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/** Where a file source stands: the file (by identity and path) and the offset of the first byte not yet stored. */
export interface Checkpoint {
  path: string;
  /** Device and inode as decimal strings: they identify the file across a rename (rotation). */
  dev: string;
  ino: string;
  offset: number;
}

const SAFE = /^[A-Za-z0-9_.-]+$/;

/**
 * One small JSON file per source in the state directory, replaced atomically: written to a temporary file, fsynced,
 * then renamed over the old one. A crash leaves either the old checkpoint or the new one, never a torn one.
 */
export class CheckpointStore {
  private ready: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly fsync = true,
  ) {}

  private file(key: string): string {
    if (!SAFE.test(key)) throw new Error(`checkpoint key ${JSON.stringify(key)} is not a safe file name`);
    return join(this.dir, `${key}.json`);
  }

  private ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    return this.ready;
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    try {
      const v = JSON.parse(await readFile(this.file(key), "utf8")) as Partial<Checkpoint>;
      if (typeof v.path !== "string" || typeof v.dev !== "string" || typeof v.ino !== "string") return undefined;
      if (typeof v.offset !== "number" || !Number.isSafeInteger(v.offset) || v.offset < 0) return undefined;
      return { path: v.path, dev: v.dev, ino: v.ino, offset: v.offset };
    } catch {
      return undefined;
    }
  }

  async put(key: string, cp: Checkpoint): Promise<void> {
    await this.ensureDir();
    const target = this.file(key);
    const tmp = `${target}.tmp`;
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(cp)}\n`);
      if (this.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  }

  async delete(key: string): Promise<void> {
    await rm(this.file(key), { force: true });
  }

  /** Keys with a checkpoint whose name starts with `prefix`. */
  async keys(prefix: string): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((f) => f.startsWith(prefix) && f.endsWith(".json")).map((f) => f.slice(0, -5));
    } catch {
      return [];
    }
  }
}
