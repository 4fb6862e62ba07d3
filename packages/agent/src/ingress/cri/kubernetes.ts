import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";

/** A namespace's or pod's labels, or `gone` when the API server no longer has it (404, or a pod of another uid). */
export type Labels = Record<string, string>;
export type Lookup = { labels: Labels } | "gone";

/** The API server did not answer usefully (unreachable, 401/403, 5xx): ask again later. */
export class KubernetesApiError extends Error {
  override name = "KubernetesApiError";
}

const TIMEOUT_MS = 5000;
/** How long an answer is reused: a relabelled namespace or pod places new logs after at most this long. */
const CACHE_MS = 5 * 60_000;
/** Most answers kept: a node sees many pods over its life, and each is asked for only when its logs appear. */
const CACHE_MAX = 10_000;

/** Answers by key, each kept CACHE_MS, the oldest dropped past CACHE_MAX. */
class Answers {
  private readonly m = new Map<string, { at: number; v: Lookup }>();

  get(key: string): Lookup | undefined {
    const hit = this.m.get(key);
    if (hit && performance.now() - hit.at < CACHE_MS) return hit.v;
    this.m.delete(key);
    return undefined;
  }

  set(key: string, v: Lookup): Lookup {
    this.m.set(key, { at: performance.now(), v });
    if (this.m.size > CACHE_MAX) this.m.delete(this.m.keys().next().value as string);
    return v;
  }
}

/**
 * Reads namespaces' and pods' labels from the Kubernetes API with the pod's service account (`<saDir>/token`, and
 * `<saDir>/ca.crt` for https), for the CRI source's label overrides (docs/KUBERNETES.md). A placement is decided
 * once per log file, when it appears; answers are reused for a few minutes, so a pod's containers and restarts
 * cost one GET each for the pod and its namespace.
 */
export class KubernetesMetadata {
  private readonly namespaces = new Answers();
  private readonly pods = new Answers();

  constructor(
    private readonly api: string,
    private readonly saDir: string,
  ) {}

  async namespace(name: string): Promise<Lookup> {
    const hit = this.namespaces.get(name);
    if (hit) return hit;
    const got = await this.get(`/api/v1/namespaces/${encodeURIComponent(name)}`);
    return this.namespaces.set(name, got === undefined ? "gone" : { labels: labelsOf(got) });
  }

  /** The pod's labels, when the API server's pod of that name is the one with this uid. */
  async pod(namespace: string, name: string, uid: string): Promise<Lookup> {
    const key = `${namespace}/${name}/${uid}`;
    const hit = this.pods.get(key);
    if (hit) return hit;
    const got = await this.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`);
    const mine = got !== undefined && (got.metadata as { uid?: unknown } | undefined)?.uid === uid;
    return this.pods.set(key, mine ? { labels: labelsOf(got) } : "gone");
  }

  /** The object at `path`, or undefined on 404. */
  private async get(path: string): Promise<Record<string, unknown> | undefined> {
    const url = new URL(path, this.api);
    let token: string;
    let ca: string | undefined;
    try {
      token = (await readFile(join(this.saDir, "token"), "utf8")).trim();
      if (url.protocol === "https:") ca = await readFile(join(this.saDir, "ca.crt"), "utf8");
    } catch (err) {
      throw new KubernetesApiError(`cannot read the service account in ${this.saDir}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { headers: { authorization: `Bearer ${token}`, accept: "application/json" }, timeout: TIMEOUT_MS, ...(ca ? { ca } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode === 404) return resolve(undefined);
            if (res.statusCode !== 200) return reject(new KubernetesApiError(`GET ${url.pathname}: HTTP ${res.statusCode}`));
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
            } catch {
              reject(new KubernetesApiError(`GET ${url.pathname}: not JSON`));
            }
          });
          res.on("error", (err) => reject(new KubernetesApiError(`GET ${url.pathname}: ${err.message}`, { cause: err })));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer in ${TIMEOUT_MS} ms`)));
      req.on("error", (err) => reject(new KubernetesApiError(`GET ${url.pathname}: ${err.message}`, { cause: err })));
      req.end();
    });
  }
}

function labelsOf(o: Record<string, unknown>): Labels {
  const labels = (o.metadata as { labels?: unknown } | undefined)?.labels;
  if (!labels || typeof labels !== "object") return {};
  return Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string"));
}
