import { readFile } from "node:fs/promises";
import { totalmem } from "node:os";
import { join } from "node:path";
import type { Usage } from "./usage.js";

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** `usage_usec` from a cgroup v2 `cpu.stat`. */
export function parseCpuStat(text: string): number | undefined {
  const m = /^usage_usec (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A cgroup v2 limit file: a number of bytes, or `max` (no limit: the host's memory is the bound). */
export function parseMax(text: string): number | undefined {
  const t = text.trim();
  if (t === "max") return totalmem();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/**
 * Reads a cgroup v2 directory: `cpu.stat` usage_usec, `memory.current` and `memory.max`. Undefined when the
 * directory has no cpu.stat (it does not exist, or is not a cgroup). Files of controllers that are not enabled
 * (memory on a hybrid v1/v2 host) are simply absent from the result.
 */
export async function readCgroupV2(dir: string): Promise<Usage | undefined> {
  const [cpu, current, max] = await Promise.all([
    readText(join(dir, "cpu.stat")),
    readText(join(dir, "memory.current")),
    readText(join(dir, "memory.max")),
  ]);
  if (cpu === undefined) return undefined;
  const u: Usage = {};
  const usec = parseCpuStat(cpu);
  if (usec !== undefined) u.cpuUsec = usec;
  if (current !== undefined && /^\d+\s*$/.test(current)) u.memory = Number(current.trim());
  if (max !== undefined) {
    const q = parseMax(max);
    if (q !== undefined) u.memoryQuota = q;
  }
  return u;
}

/** Where Docker puts a container's cgroup under a v2 root: the systemd driver's scope, then the cgroupfs one. */
export function dockerCgroupDirs(root: string, id: string): string[] {
  return [join(root, "system.slice", `docker-${id}.scope`), join(root, "docker", id)];
}

const QOS = ["", "burstable", "besteffort"] as const;

/**
 * Where the kubelet puts a CRI container's cgroup under a v2 root, for each QoS class (Guaranteed pods sit directly
 * under kubepods): the systemd driver's `kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid with _>.slice/
 * <runtime>-<id>.scope` (containerd's `cri-containerd-`, CRI-O's `crio-`), then the cgroupfs driver's
 * `kubepods/<qos>/pod<uid>/<id>`.
 */
export function kubepodsCgroupDirs(root: string, podUid: string, id: string): string[] {
  const uid = podUid.replaceAll("-", "_");
  const systemd = QOS.flatMap((q) => {
    const pod = q
      ? join("kubepods.slice", `kubepods-${q}.slice`, `kubepods-${q}-pod${uid}.slice`)
      : join("kubepods.slice", `kubepods-pod${uid}.slice`);
    return [join(root, pod, `cri-containerd-${id}.scope`), join(root, pod, `crio-${id}.scope`)];
  });
  const cgroupfs = QOS.map((q) => join(root, "kubepods", q, `pod${podUid}`, id));
  return [...systemd, ...cgroupfs];
}

/** The cgroup v2 mount point, from /proc/self/mountinfo: `/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts. */
export async function findCgroupRoot(): Promise<string | undefined> {
  const info = await readText("/proc/self/mountinfo");
  for (const line of info?.split("\n") ?? []) {
    // `36 25 0:31 / /sys/fs/cgroup/unified rw,... - cgroup2 cgroup2 rw`
    const [left, right] = line.split(" - ");
    if (right?.startsWith("cgroup2 ")) return left?.split(" ")[4];
  }
  return undefined;
}
