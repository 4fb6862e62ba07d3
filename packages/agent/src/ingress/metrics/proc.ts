import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { readCgroupV2 } from "./cgroup.js";
import type { Usage } from "./usage.js";

// USER_HZ is 100 on every Linux ABI Node runs on; /proc/<pid>/stat times are in these ticks.
const USEC_PER_TICK = 10_000;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in µs. */
  cpuUsec: number;
  rssBytes: number;
}

const PAGE = 4096;

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so fields count from the last `)`. */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close === -1) return undefined;
  const pid = Number.parseInt(text, 10);
  const f = text.slice(close + 2).split(" ");
  // After the name: state(0) ppid(1) … utime(11) stime(12) … rss(21).
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rss = Number(f[21]);
  if (![pid, ppid, utime, stime, rss].every(Number.isFinite)) return undefined;
  return { pid, ppid, cpuUsec: (utime + stime) * USEC_PER_TICK, rssBytes: rss * PAGE };
}

/** Every process's stat, for walking a process tree. */
async function allStats(): Promise<ProcStat[]> {
  const names = (await readdir("/proc")).filter((n) => /^\d+$/.test(n));
  const stats = await Promise.all(names.map((n) => readText(`/proc/${n}/stat`)));
  return stats.flatMap((t) => {
    const s = t ? parseProcStat(t) : undefined;
    return s ? [s] : [];
  });
}

/** The v2 cgroup path of a process (`0::/path`), if it has one. */
export async function cgroupOf(pid: number | "self"): Promise<string | undefined> {
  const text = await readText(`/proc/${pid}/cgroup`);
  return text ? /^0::(\S*)$/m.exec(text)?.[1] : undefined;
}

/** The v1 memory limit of a process's cgroup, on hybrid hosts where memory is a v1 controller. */
async function v1MemoryLimit(pid: number): Promise<number | undefined> {
  const path = (await readText(`/proc/${pid}/cgroup`))?.match(/^\d+:memory:(\S*)$/m)?.[1];
  if (path === undefined) return undefined;
  const limit = await readText(join("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes"));
  const v = limit ? Number(limit.trim()) : Number.NaN;
  // "No limit" reads as a huge page-aligned number.
  return Number.isFinite(v) && v < 2 ** 60 ? v : undefined;
}

/**
 * The resources of a supervised process and its descendants: CPU and resident memory summed over the tree from
 * /proc. When the process sits in a v2 cgroup of its own (not the agent's), that cgroup's `cpu.stat`,
 * `memory.current` and `memory.max` are used instead, as for a container.
 */
export async function readProcessTree(pid: number, cgroupRoot: string | undefined): Promise<Usage | undefined> {
  if (cgroupRoot) {
    const [mine, theirs] = await Promise.all([cgroupOf("self"), cgroupOf(pid)]);
    if (theirs !== undefined && theirs !== mine && theirs !== "/") {
      const u = await readCgroupV2(join(cgroupRoot, theirs));
      if (u?.memory !== undefined) return u;
    }
  }
  const stats = await allStats();
  const children = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const s of stats) {
    if (s.pid === pid) root = s;
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  if (!root) return undefined;
  let cpuUsec = 0;
  let memory = 0;
  const todo = [root];
  const seen = new Set<number>();
  while (todo.length) {
    const s = todo.pop() as ProcStat;
    if (seen.has(s.pid)) continue;
    seen.add(s.pid);
    cpuUsec += s.cpuUsec;
    memory += s.rssBytes;
    todo.push(...(children.get(s.pid) ?? []));
  }
  const u: Usage = { cpuUsec, memory };
  const limit = await v1MemoryLimit(pid);
  if (limit !== undefined) u.memoryQuota = limit;
  return u;
}
