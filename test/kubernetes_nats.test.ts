/**
 * deploy/kubernetes/nats/values.yaml, the values for the official NATS Helm chart: its keys are the chart's (1.2.9),
 * its cluster is compose's (deploy/nats/), its zone init script writes the tag a real API answer names, and
 * nats-server 2.9 takes its config blocks: three nodes on loopback, built from these very values the way the chart
 * renders them, form a zoned JetStream cluster over authenticated TLS routes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { CLUSTER_NAME, ROUTE_USER, ZONE_TAG, ZONES } from "@tailrace/cli";
import { freePort, makeTestPki, natsServerBin, tempDir } from "@tailrace/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { natsUsers, repoFile, waitForMetaLeader } from "./deploy_helpers.js";
import { type EnvVar, kustomize } from "./kubernetes_helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the chart's values are free-form below its merge/patch points.
type Values = Record<string, any>;
const values = parse(repoFile("deploy/kubernetes/nats/values.yaml")) as Values;
const chartKeys = new Set(
  repoFile("test/fixtures/nats-chart-1.2.9-values-keys.txt")
    .split("\n")
    .filter((l) => l && !l.startsWith("#")),
);
const compose = parse(repoFile("docker-compose.yml"), { merge: true }) as Values;

/** Below these keys the chart takes anything (config to merge, JSON patches, env, constraints, extra objects). */
const FREE = new Set(["merge", "patch", "env", "topologySpreadConstraints", "extraResources"]);

function keyPaths(o: Values, prefix = ""): string[] {
  return Object.entries(o).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [path, ...(v && typeof v === "object" && !Array.isArray(v) && !FREE.has(k) ? keyPaths(v, path) : [])];
  });
}

/** The chart's rule for config `merge` maps: `<< x >>` is written unquoted (a variable or a unit). */
function natsConf(o: Values, indent = ""): string {
  return Object.entries(o)
    .map(([k, v]) => {
      if (k.endsWith("$include")) return `${indent}include ${v}`;
      if (v && typeof v === "object" && !Array.isArray(v)) return `${indent}${k} {\n${natsConf(v, `${indent}  `)}${indent}}`;
      const raw = typeof v === "string" ? /^<< (.*) >>$/.exec(v)?.[1] : undefined;
      return `${indent}${k}: ${raw ?? JSON.stringify(v)}`;
    })
    .join("\n")
    .concat("\n");
}

const initContainer = () => (values.podTemplate.patch as Values[]).find((p) => p.path === "/spec/initContainers")?.value[0];
const envValue = (name: string) => values.container.env[name] as string | { valueFrom: { secretKeyRef: { name: string; key: string } } };

/** Runs the init container's script as the pod would, against `api`, and resolves to its exit code. */
async function runZoneScript(env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  const c = initContainer();
  const child = spawn(c.command[0], c.command.slice(1), { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, err };
}

describe("deploy/kubernetes/nats/values.yaml", () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });

  it("kubernetes - every key is one of the NATS chart's (1.2.9), and the chart's free-form points hold what they take", () => {
    const unknown = keyPaths(values).filter((k) => !chartKeys.has(k));
    expect(unknown, "keys the chart does not have").toEqual([]);
    for (const p of [...values.podTemplate.patch, ...values.container.patch])
      expect(p).toMatchObject({ op: "add", path: expect.stringMatching(/^\//) });
    for (const [name, v] of Object.entries(values.container.env)) {
      expect(
        typeof v === "string" || (v as Values).valueFrom !== undefined,
        `env ${name} is a string or a valueFrom map, as the chart requires`,
      ).toBe(true);
    }
  });

  it("kubernetes - the chart's cluster is compose's: three zones, JetStream unique_tag, route user and password, TLS with verify, nats-server 2.9", () => {
    const { cluster, jetstream } = values.config;
    expect(cluster.replicas).toBe(ZONES.length);
    expect(cluster.merge.name).toBe(CLUSTER_NAME);
    expect(cluster.merge.authorization).toEqual({ user: ROUTE_USER, password: "<< $TAILRACE_NATS_ROUTE_PASSWORD >>", timeout: 5 });
    expect(repoFile("deploy/nats/cluster.conf")).toContain(
      `authorization { user: ${ROUTE_USER}, password: $TAILRACE_NATS_ROUTE_PASSWORD, timeout: 5 }`,
    );
    // Left unset: the chart would write the password into the ConfigMap.
    expect(cluster.routeURLs).toBeUndefined();
    expect(cluster.tls).toMatchObject({ enabled: true, secretName: "nats-route-tls", merge: { verify: true } });
    expect(values.tlsCA).toMatchObject({ enabled: true, secretName: "nats-route-tls" });
    expect(jetstream.enabled).toBe(true);
    expect(jetstream.merge.unique_tag).toBe(ZONE_TAG);
    expect(values.podTemplate.topologySpreadConstraints).toEqual({
      "topology.kubernetes.io/zone": { maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" },
    });
    expect(compose.services["nats-1"].image).toBe("nats:2.9-alpine");
    expect(values.container.image).toEqual({ repository: "nats", tag: expect.stringMatching(/^2\.9\.\d+-alpine$/) });
    // The route list: every node, as the user `route` with the password Kubernetes puts in.
    const urls = JSON.parse(envValue("TAILRACE_NATS_ROUTE_URLS") as string) as string[];
    expect(urls).toEqual(
      Array.from(
        { length: cluster.replicas },
        (_, i) => `nats-route://${ROUTE_USER}:$(TAILRACE_NATS_ROUTE_PASSWORD)@nats-${i}.nats-headless:${cluster.port}`,
      ),
    );
    // Kubernetes expands $(VAR) only from variables defined before; the chart writes the env map in key order.
    expect("TAILRACE_NATS_ROUTE_PASSWORD" < "TAILRACE_NATS_ROUTE_URLS").toBe(true);
  });

  it("kubernetes - the NATS pods get every password auth.conf reads, from the Secret keys the Tailrace pods use", () => {
    const pods = kustomize(new URL("../deploy/kubernetes/base", import.meta.url).pathname);
    const used = new Map<string, string>();
    for (const o of pods) {
      for (const c of o.spec?.template?.spec.containers ?? []) {
        const env = new Map((c.env ?? []).map((e: EnvVar) => [e.name, e]));
        const user = env.get("NATS_USER")?.value;
        const ref = env.get("NATS_PASSWORD")?.valueFrom?.secretKeyRef;
        if (user && ref) used.set(user, `${ref.name}/${ref.key}`);
      }
    }
    expect([...used.keys()].sort()).toEqual(["agent", "doppler", "drainer"]);
    for (const [user, variable] of [...natsUsers, ["route", "TAILRACE_NATS_ROUTE_PASSWORD"]] as Array<[string, string]>) {
      const v = envValue(variable);
      expect(typeof v === "object" && v.valueFrom.secretKeyRef, `${variable} comes from a Secret`).toEqual({
        name: "tailrace-nats",
        key: `${user}-password`,
      });
      if (used.has(user))
        expect(used.get(user), `${user} logs in with the password the server checks`).toBe(`tailrace-nats/${user}-password`);
    }
    // auth.conf is mounted from the ConfigMap nats-auth at the path the include names.
    expect(values.config.merge["auth$include"]).toBe("../nats-auth/auth.conf");
    expect(values.podTemplate.patch).toContainEqual({
      op: "add",
      path: "/spec/volumes/-",
      value: { name: "nats-auth", configMap: { name: "nats-auth" } },
    });
    expect(values.container.patch).toContainEqual({
      op: "add",
      path: "/volumeMounts/-",
      value: { name: "nats-auth", mountPath: "/etc/nats-auth" },
    });
  });

  it("kubernetes - the init container's ServiceAccount (the chart's, named after the release) may get nodes, and nothing more", () => {
    expect(values.serviceAccount.enabled).toBe(true);
    const extra = values.extraResources as Values[];
    const role = extra.find((o) => o.kind === "ClusterRole");
    const binding = extra.find((o) => o.kind === "ClusterRoleBinding");
    expect(role?.rules).toEqual([{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }]);
    expect(binding?.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role?.metadata.name });
    // The chart names its ServiceAccount after the release (fullnameOverride); the manifests' namespace is tailrace.
    expect(binding?.subjects).toEqual([{ kind: "ServiceAccount", name: values.fullnameOverride, namespace: "tailrace" }]);
    // The script reads the node name the downward API gives.
    expect(initContainer().env).toContainEqual({ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } });
  });

  it("kubernetes - the zone init script tags the server with its node's zone, as deploy/nats/nats-N.conf does, and fails without one", async () => {
    const tmp = await tempDir("k8s-zone-");
    const pki = await makeTestPki(tmp.path);
    const sa = join(tmp.path, "sa");
    mkdirSync(sa);
    writeFileSync(join(sa, "token"), "the-token\n");
    const asked: string[] = [];
    const api = createServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
      asked.push(`${req.url} ${req.headers.authorization}`);
      const zone = req.url === "/api/v1/nodes/node-b" ? { "topology.kubernetes.io/zone": "eu-west-1b" } : {};
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ metadata: { name: "n", labels: zone } }));
    });
    api.listen(0, "127.0.0.1");
    await once(api, "listening");
    // The Tailrace image, whose node runs the script: the one the manifests run.
    const images = new Set(
      kustomize(new URL("../deploy/kubernetes/base", import.meta.url).pathname).flatMap(
        (o) => o.spec?.template?.spec.containers.map((c) => c.image) ?? [],
      ),
    );
    expect([...images]).toEqual([initContainer().image]);
    const fromPod = Object.fromEntries((initContainer().env as EnvVar[]).map((e) => [e.name, e.value ?? ""]));
    expect(fromPod).toMatchObject({
      SA_DIR: "/var/run/secrets/kubernetes.io/serviceaccount",
      NODE_EXTRA_CA_CERTS: `${fromPod.SA_DIR}/ca.crt`,
    });
    const env = (node: string) => ({
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String((api.address() as AddressInfo).port),
      NODE_NAME: node,
      SA_DIR: sa,
      NODE_EXTRA_CA_CERTS: pki.caFile,
      ZONE_FILE: join(tmp.path, `${node}.conf`),
    });
    expect(await runZoneScript(env("node-b"))).toEqual({ code: 0, err: "" });
    const tag = readFileSync(join(tmp.path, "node-b.conf"), "utf8");
    expect(tag).toBe(`server_tags: ["${ZONE_TAG}:eu-west-1b"]\n`);
    expect(repoFile("deploy/nats/nats-2.conf")).toMatch(new RegExp(`^server_tags: \\["${ZONE_TAG}:b"\\]$`, "m"));
    expect(asked).toEqual(["/api/v1/nodes/node-b Bearer the-token"]);
    const bad = await runZoneScript(env("node-x"));
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("node node-x has no usable topology.kubernetes.io/zone label");
    api.close();
    await tmp.remove();
  });

  it("kubernetes - nats-server 2.9 forms a zoned JetStream cluster from these values' config, routes from the environment", async () => {
    const tmp = await tempDir("k8s-nats-");
    const tls = join(tmp.path, "tls");
    execFileSync("sh", [new URL("../deploy/nats/tls/make-certs.sh", import.meta.url).pathname, tls], { stdio: "ignore" });
    const { cluster, jetstream } = values.config;
    const nodes = await Promise.all(
      ZONES.map(async (zone, i) => ({
        name: `nats-${i}`,
        zone,
        dir: join(tmp.path, `nats-${i}`),
        port: await freePort(),
        routePort: await freePort(),
        http: await freePort(),
      })),
    );
    const password = "pw-route_1";
    // What Kubernetes makes of the env map: $(TAILRACE_NATS_ROUTE_PASSWORD) put in, each pod's DNS name here on loopback.
    let urls = (envValue("TAILRACE_NATS_ROUTE_URLS") as string).replaceAll("$(TAILRACE_NATS_ROUTE_PASSWORD)", password);
    for (const n of nodes) urls = urls.replace(`@${n.name}.nats-headless:${cluster.port}`, `@127.0.0.1:${n.routePort}`);
    const env = {
      PATH: process.env.PATH,
      TAILRACE_NATS_AGENT_PASSWORD: "pw-agent",
      TAILRACE_NATS_DOPPLER_PASSWORD: "pw-doppler",
      TAILRACE_NATS_DRAINER_PASSWORD: "pw-drainer",
      TAILRACE_NATS_ADMIN_PASSWORD: "pw-admin",
      TAILRACE_NATS_SYS_PASSWORD: "pw-sys",
      TAILRACE_NATS_ROUTE_PASSWORD: password,
      TAILRACE_NATS_ROUTE_URLS: urls,
    };
    const logs = new Map<string, string>();
    for (const n of nodes) {
      // The chart's layout: /etc/nats-config/nats.conf beside /etc/nats-auth and /etc/nats-zone.
      for (const d of ["nats-config", "nats-auth", "nats-zone"]) mkdirSync(join(n.dir, d), { recursive: true });
      copyFileSync(new URL("../deploy/nats/auth.conf", import.meta.url), join(n.dir, "nats-auth", "auth.conf"));
      writeFileSync(join(n.dir, "nats-zone", "zone.conf"), `server_tags: ["${ZONE_TAG}:${n.zone}"]\n`);
      const clusterBlock = {
        port: n.routePort,
        no_advertise: true,
        ...cluster.merge,
        tls: { cert_file: join(tls, "route.pem"), key_file: join(tls, "route.key"), ca_file: join(tls, "ca.pem"), ...cluster.tls.merge },
      };
      // What the chart's files/config/config.yaml and jetstream.yaml write with these values, then the merges.
      const chartJetstream = {
        max_memory_store: 0,
        store_dir: join(n.dir, "data"),
        max_file_store: `<< ${jetstream.fileStore.pvc.size} >>`,
      };
      const conf =
        `server_name: ${n.name}\nlame_duck_grace_period: 10s\nlame_duck_duration: 30s\npid_file: ${join(n.dir, "nats.pid")}\n` +
        `port: ${n.port}\nhttp_port: ${n.http}\n` +
        natsConf({ jetstream: { ...chartJetstream, ...jetstream.merge }, cluster: clusterBlock }) +
        natsConf(values.config.merge);
      writeFileSync(join(n.dir, "nats-config", "nats.conf"), conf);
      const child = spawn(natsServerBin(), ["--config", join(n.dir, "nats-config", "nats.conf")], {
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      logs.set(n.name, "");
      child.stderr?.on("data", (d: Buffer) => logs.set(n.name, (logs.get(n.name) + d.toString()).slice(-20_000)));
      children.push(child);
    }
    await waitForMetaLeader(
      nodes.map((n) => n.http),
      logs,
    );
    for (const n of nodes) {
      const varz = (await (await fetch(`http://127.0.0.1:${n.http}/varz`)).json()) as { tags?: string[]; cluster?: { name?: string } };
      expect(varz.tags).toEqual([`${ZONE_TAG}:${n.zone}`]);
      expect(varz.cluster?.name).toBe(CLUSTER_NAME);
      const js = (await (await fetch(`http://127.0.0.1:${n.http}/jsz`)).json()) as { config?: { max_storage?: number } };
      expect(js.config?.max_storage, "the volume's size, as nats-server 2.9 reads it").toBe(10 * 1024 ** 3);
      expect(((await (await fetch(`http://127.0.0.1:${n.http}/routez`)).json()) as { num_routes: number }).num_routes).toBe(2);
      // The chart's readiness and liveness probes.
      for (const q of ["js-server-only", "js-enabled-only"])
        expect((await fetch(`http://127.0.0.1:${n.http}/healthz?${q}=true`)).status).toBe(200);
    }
    for (const [name, log] of logs) expect(log, name).not.toMatch(/Authorization Violation|authentication error|error parsing/i);
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => (c.exitCode !== null ? null : once(c, "exit"))));
    await tmp.remove();
  }, 90_000);
});
