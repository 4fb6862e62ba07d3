import { readdir, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { kubepodsCgroupDirs, readCgroupV2 } from "../metrics/cgroup.js";
import type { Usage } from "../metrics/usage.js";

/** One CRI log file: where it is, and the pod it belongs to (from `<namespace>_<pod>_<uid>/<container>/<n>.log`). */
export interface CriLogPlace {
  /** The CRI log directory (`/var/log/pods`). */
  dir: string;
  /** `<namespace>_<pod>_<uid>`. */
  podDir: string;
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  /** `<n>.log`: n counts the container's restarts; each restart is a new container id. */
  log: string;
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;

/**
 * The container id of a CRI log, from the kubelet's symlinks in `/var/log/containers`:
 * `<pod>_<namespace>_<container>-<id>.log` → `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log`. The link
 * targets are host paths, so only their last three parts are compared (the agent may mount the host's directory
 * elsewhere).
 */
export async function criContainerId(containersDir: string, p: CriLogPlace): Promise<string | undefined> {
  const prefix = `${p.pod}_${p.namespace}_${p.container}-`;
  const want = `/${p.podDir}/${p.container}/${p.log}`;
  for (const name of await readdir(containersDir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith(".log")) continue;
    const id = name.slice(prefix.length, -4);
    if (!CONTAINER_ID.test(id)) continue;
    const target = await readlink(join(containersDir, name)).catch(() => "");
    if (target.endsWith(want)) return id;
  }
  return undefined;
}

/**
 * The resources of the container that writes one CRI log: its cgroup v2 directory, found from the pod uid in the log
 * path and the container id (see {@link kubepodsCgroupDirs}), and the bytes its log files take as `disk`. Undefined
 * while the container has no cgroup (not started yet, or exited: the log of a restarted container's previous run
 * stays, and must not report as a second live instance).
 */
export class CriContainerMetrics {
  private id: string | undefined;
  private cgroup: string | undefined;

  constructor(
    private readonly place: CriLogPlace,
    private readonly containersDir: string,
    private readonly cgroupRoot: string,
  ) {}

  async read(): Promise<Usage | undefined> {
    this.id ??= await criContainerId(this.containersDir, this.place);
    if (this.id === undefined) return undefined;
    let u: Usage | undefined;
    if (this.cgroup !== undefined) u = await readCgroupV2(this.cgroup);
    else {
      for (const dir of kubepodsCgroupDirs(this.cgroupRoot, this.place.uid, this.id)) {
        u = await readCgroupV2(dir);
        if (u) {
          this.cgroup = dir;
          break;
        }
      }
    }
    if (!u) return undefined;
    return { ...u, disk: await this.logBytes() };
  }

  /** `<n>.log` and its rotations (`<n>.log.<date>`, also compressed ones), which the container's output fills. */
  private async logBytes(): Promise<number> {
    const dir = join(this.place.dir, this.place.podDir, this.place.container);
    let bytes = 0;
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (n === this.place.log || n.startsWith(`${this.place.log}.`)) bytes += (await stat(join(dir, n)).catch(() => ({ size: 0 }))).size;
    }
    return bytes;
  }
}
