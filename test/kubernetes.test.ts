/**
 * deploy/kubernetes, rendered with `kubectl kustomize` as an operator would apply it, checked against the code as
 * compose.test.ts checks docker-compose.yml: commands, settings, ports, probes, NATS users, mounts and the Secrets that
 * docs/KUBERNETES.md has the operator create. kubernetes_nats.test.ts checks the NATS Helm values.
 */
import { dirname } from "node:path";
import { COMMAND_NAMES } from "@tailrace/cli";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { healthPort, loadConfigOf, natsUsers, repoFile, requiredSettings, SETTINGS } from "./deploy_helpers.js";
import { type Container, envOf, type K8sObject, kustomize, selects } from "./kubernetes_helpers.js";

const ROOT = new URL("../deploy/kubernetes/", import.meta.url).pathname;
const zones = kustomize(`${ROOT}overlays/zones`);
const base = kustomize(`${ROOT}base`);
const values = parse(repoFile("deploy/kubernetes/nats/values.yaml")) as {
  fullnameOverride: string;
  config: { cluster: { replicas: number }; nats?: { port?: number } };
};
const DOC = repoFile("docs/KUBERNETES.md");

const workloads = (objs: K8sObject[]) => objs.filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet");
const tailrace = (objs: K8sObject[]) =>
  workloads(objs).flatMap((w) =>
    (w.spec?.template?.spec.containers ?? []).filter((c) => c.image.startsWith("tailrace:")).map((c) => ({ w, c })),
  );
const command = (c: Container) => c.args?.[0] ?? "";
const byName = (objs: K8sObject[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

/** `kubectl create secret generic NAME --from-literal=KEY=... --from-file=KEY=...` in the doc, as NAME → keys. */
function documentedSecrets(): Map<string, string[]> {
  const text = DOC.replace(/\\\n\s*/g, " ");
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(
    /kubectl -n tailrace create secret generic ([\w-]+)((?:\s+--from-(?:literal|file)=[\w.-]+=(?:"[^"]*"|\S+))+)/g,
  )) {
    out.set(
      m[1] as string,
      [...(m[2] as string).matchAll(/--from-(?:literal|file)=([\w.-]+)=/g)].map((k) => k[1] as string),
    );
  }
  return out;
}

describe("deploy/kubernetes", () => {
  it("kubernetes - renders, in the namespace tailrace: an agent DaemonSet, doppler and drainer Deployments, each with a PodDisruptionBudget", () => {
    for (const objs of [base, zones]) {
      expect(objs.find((o) => o.kind === "Namespace")?.metadata.name).toBe("tailrace");
      const clusterScoped = ["Namespace", "ClusterRole", "ClusterRoleBinding"];
      for (const o of objs.filter((x) => !clusterScoped.includes(x.kind))) {
        expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe("tailrace");
      }
      expect(byName(objs, "DaemonSet", "tailrace-agent")).toBeDefined();
      expect(
        tailrace(objs)
          .map(({ c }) => command(c))
          .sort(),
      ).toEqual(["agent", "doppler", "drainer"]);
      for (const name of ["tailrace-doppler", "tailrace-drainer"]) {
        const d = byName(objs, "Deployment", name);
        const pdb = byName(objs, "PodDisruptionBudget", name);
        expect(pdb?.spec?.maxUnavailable, `${name}'s PodDisruptionBudget`).toBe(1);
        expect(selects(pdb?.spec?.selector, d?.spec?.template?.metadata.labels ?? {}), `${name}'s PDB selects its pods`).toBe(true);
        expect(d?.spec?.replicas).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it("kubernetes - every Tailrace container runs a command the CLI has, with settings the code knows and takes", () => {
    for (const { w, c } of tailrace(zones)) {
      const where = `${w.kind} ${w.metadata.name}`;
      expect(c.command, `${where} keeps the image's entrypoint`).toBeUndefined();
      expect(COMMAND_NAMES, `${where} runs ${command(c)}`).toContain(command(c));
      const env = envOf(c);
      for (const key of Object.keys(env)) expect(SETTINGS, `${where} sets ${key}`).toContain(key);
      for (const key of requiredSettings(command(c))) expect(env, `${where} must set required ${key}`).toHaveProperty(key);
      // The process's own loader takes every value (a typo or a value out of range fails here, as at start).
      expect(() => loadConfigOf(command(c), c.args ?? [], env), where).not.toThrow();
    }
  });

  it("kubernetes - every container drops all capabilities on a read-only root; only the agent runs as root, to read the kubelet's files", () => {
    for (const { w, c } of tailrace(zones)) {
      const sc = c.securityContext;
      expect(sc, w.metadata.name).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(sc?.runAsNonRoot, w.metadata.name).toBe(command(c) !== "agent");
    }
  });

  it("kubernetes - liveness probes /healthz and readiness probes /readyz, on the port each process listens on", () => {
    for (const { w, c } of tailrace(zones)) {
      const config = loadConfigOf(command(c), c.args ?? [], envOf(c));
      const port = healthPort(command(c), config);
      const where = `${w.metadata.name}`;
      expect(c.livenessProbe?.httpGet, where).toEqual({ path: "/healthz", port });
      expect(c.readinessProbe?.httpGet, where).toEqual({ path: "/readyz", port });
      expect(
        c.ports?.map((p) => p.containerPort),
        where,
      ).toEqual([port]);
      if (command(c) === "agent")
        expect(config.TAILRACE_AGENT_HTTP_ADDR, "the kubelet reaches the pod's address, not its loopback").toMatch(/^0\.0\.0\.0:/);
      if (command(c) === "doppler") expect(config.TAILRACE_DOPPLER_HOST).toBe("0.0.0.0");
      if (command(c) === "drainer") expect(config.TAILRACE_DRAINER_HOST).toBe("0.0.0.0");
    }
    const svc = byName(zones, "Service", "tailrace-doppler");
    const doppler = byName(zones, "Deployment", "tailrace-doppler");
    const named = doppler?.spec?.template?.spec.containers[0]?.ports?.find((p) => p.name === svc?.spec?.ports?.[0]?.targetPort);
    expect(named?.containerPort, "the Service reaches the API port").toBe(8080);
    expect(selects({ matchLabels: svc?.spec?.selector }, doppler?.spec?.template?.metadata.labels ?? {})).toBe(true);
  });

  it("kubernetes - each component connects to the chart's three NATS nodes as its own auth.conf user, with its password from the Secret", () => {
    const secrets = documentedSecrets();
    const nats = `${values.fullnameOverride}-headless`;
    const port = values.config.nats?.port ?? 4222;
    const urls = Array.from({ length: values.config.cluster.replicas }, (_, i) => `nats://${values.fullnameOverride}-${i}.${nats}:${port}`);
    for (const { w, c } of tailrace(zones)) {
      const name = command(c);
      const env = new Map((c.env ?? []).map((e) => [e.name, e]));
      expect(env.get("NATS_URL")?.value?.split(","), w.metadata.name).toEqual(urls);
      expect(env.get("NATS_USER")?.value, `${name} has its own NATS user`).toBe(name);
      expect(natsUsers.has(name), `auth.conf defines the user ${name}`).toBe(true);
      const ref = env.get("NATS_PASSWORD")?.valueFrom?.secretKeyRef;
      expect(ref, `${name}'s password comes from a Secret`).toEqual({ name: "tailrace-nats", key: `${name}-password` });
      for (const e of c.env ?? []) {
        const r = e.valueFrom?.secretKeyRef;
        if (r) expect(secrets.get(r.name), `docs/KUBERNETES.md creates ${r.name} with ${r.key}`).toContain(r.key);
      }
    }
    expect(secrets.get("tailrace-jwt"), "the doppler's TAILRACE_JWT_SECRET").toEqual(["secret"]);
  });

  it("kubernetes - the agent mounts the directories its settings name: pod logs, the kubelet's symlinks beside them, cgroups, checkpoints", () => {
    const agent = byName(zones, "DaemonSet", "tailrace-agent");
    const pod = agent?.spec?.template?.spec;
    const c = pod?.containers[0] as Container;
    const config = loadConfigOf("agent", c.args ?? [], envOf(c));
    const hostPathAt = (path: string) => {
      const m = c.volumeMounts?.find((v) => v.mountPath === path);
      return { host: pod?.volumes?.find((v) => v.name === m?.name)?.hostPath?.path, readOnly: m?.readOnly ?? false };
    };
    const cri = config.TAILRACE_CRI_DIR as string;
    expect(hostPathAt(cri)).toEqual({ host: "/var/log/pods", readOnly: true });
    // The CRI source finds container ids in the directory beside TAILRACE_CRI_DIR (ingress/cri/source.ts).
    expect(hostPathAt(`${dirname(cri)}/containers`)).toEqual({ host: "/var/log/containers", readOnly: true });
    expect(hostPathAt(config.TAILRACE_CGROUP_ROOT as string)).toEqual({ host: "/sys/fs/cgroup", readOnly: true });
    // Checkpoints outlive the pod: a restarted agent repeats and loses nothing.
    expect(hostPathAt(config.TAILRACE_STATE_DIR as string)).toEqual({ host: "/var/lib/tailrace/agent", readOnly: false });
    expect(config.TAILRACE_CHECKPOINT_FSYNC).toBe(true);
  });

  it("kubernetes - only the agent has a service account token, where its settings look, and it may only get namespaces and pods", () => {
    const agent = byName(zones, "DaemonSet", "tailrace-agent")?.spec?.template?.spec;
    const c = agent?.containers[0] as Container;
    const config = loadConfigOf("agent", c.args ?? [], envOf(c));
    expect(config.TAILRACE_KUBERNETES_API).toBe("https://kubernetes.default.svc");
    // Where Kubernetes mounts a pod's service account token and CA.
    expect(config.TAILRACE_KUBERNETES_SA_DIR).toBe("/var/run/secrets/kubernetes.io/serviceaccount");
    expect(agent?.automountServiceAccountToken).toBe(true);
    const sa = agent?.serviceAccountName ?? "";
    expect(byName(zones, "ServiceAccount", sa)).toBeDefined();
    const bindings = zones.filter(
      (o) =>
        o.kind === "ClusterRoleBinding" &&
        o.subjects?.some((x) => x.kind === "ServiceAccount" && x.name === sa && x.namespace === "tailrace"),
    );
    const rules = bindings.flatMap((b) => byName(zones, "ClusterRole", b.roleRef?.name ?? "")?.rules ?? []);
    expect(rules).toEqual([{ apiGroups: [""], resources: ["namespaces", "pods"], verbs: ["get"] }]);
    for (const w of workloads(zones).filter((x) => x.kind === "Deployment")) {
      expect(w.spec?.template?.spec.automountServiceAccountToken, w.metadata.name).toBe(false);
    }
  });

  it("kubernetes - NetworkPolicies: ingress refused by default, each open port is one a component listens on, for the pods that have it", () => {
    const policies = zones.filter((o) => o.kind === "NetworkPolicy");
    const deny = policies.find((p) => p.metadata.name === "default-deny-ingress");
    expect(deny?.spec?.podSelector).toEqual({});
    expect(deny?.spec?.policyTypes).toEqual(["Ingress"]);
    expect(deny?.spec?.ingress).toBeUndefined();
    const natsLabels = { "app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats" };
    const pods = [
      ...tailrace(zones).map(({ w, c }) => ({
        labels: w.spec?.template?.metadata.labels ?? {},
        ports: c.ports?.map((p) => p.containerPort) ?? [],
      })),
      // The chart's pods (release `nats`): client, route and monitoring ports of values.yaml (the chart's defaults).
      { labels: natsLabels, ports: [values.config.nats?.port ?? 4222, 6222, 8222] },
    ];
    for (const p of policies.filter((x) => x !== deny)) {
      const selected = pods.filter((pod) => selects(p.spec?.podSelector, pod.labels));
      expect(selected.length, `${p.metadata.name} selects pods`).toBeGreaterThan(0);
      for (const rule of p.spec?.ingress ?? []) {
        for (const { port } of rule.ports ?? []) {
          expect(
            selected.some((pod) => pod.ports.includes(port)),
            `${p.metadata.name}: port ${port} is listened on`,
          ).toBe(true);
        }
        for (const from of rule.from ?? []) {
          if (from.podSelector)
            expect(
              pods.some((pod) => selects(from.podSelector, pod.labels)),
              `${p.metadata.name}: from pods that exist`,
            ).toBe(true);
        }
      }
    }
    // Every Tailrace component may reach NATS's client port; routes come only from NATS pods.
    const natsPolicy = policies.find((p) => p !== deny && selects(p.spec?.podSelector, natsLabels));
    const from = (port: number) =>
      natsPolicy?.spec?.ingress?.filter((r) => r.ports?.some((x) => x.port === port)).flatMap((r) => r.from ?? []) ?? [];
    for (const { w } of tailrace(zones)) {
      expect(
        from(4222).some((f) => selects(f.podSelector, w.spec?.template?.metadata.labels ?? {})),
        w.metadata.name,
      ).toBe(true);
    }
    expect(from(6222).map((f) => f.podSelector)).toEqual([{ matchLabels: natsLabels }]);
  });

  it("kubernetes - resource requests cite figures that docs/BENCHMARKS.md has", () => {
    const bench = repoFile("docs/BENCHMARKS.md");
    for (const { w, c } of tailrace(zones))
      expect(c.resources?.requests, w.metadata.name).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    for (const file of ["agent", "doppler", "drainer"]
      .map((n) => `deploy/kubernetes/base/${n}.yaml`)
      .concat("deploy/kubernetes/nats/values.yaml")) {
      const text = repoFile(file);
      const comment = text.match(/# docs\/BENCHMARKS\.md, [\s\S]*?\n(?!\s*#)/)?.[0] ?? "";
      expect(comment, `${file} cites docs/BENCHMARKS.md`).not.toBe("");
      for (const [, section] of comment.matchAll(/"([^"]+)"/g)) expect(bench, `${file}: section "${section}"`).toContain(`### ${section}`);
      for (const [n] of comment.matchAll(/\d{1,3}(?:,\d{3})+(?:\.\d+)?/g)) {
        // A full `npm run bench` replaces the generated figures: cite the new ones (and check the requests still fit).
        expect(
          bench.includes(n) || bench.includes(n.replaceAll(",", "")),
          `${file}: figure ${n} is no longer in docs/BENCHMARKS.md (a bench run replaced it?)`,
        ).toBe(true);
      }
    }
  });

  it("kubernetes - the zones overlay runs three dopplers and three drainers spread over zones, beside three NATS nodes", () => {
    for (const name of ["tailrace-doppler", "tailrace-drainer"]) {
      const d = byName(zones, "Deployment", name);
      expect(d?.spec?.replicas).toBe(values.config.cluster.replicas);
      const spread = d?.spec?.template?.spec.topologySpreadConstraints?.find((t) => t.topologyKey === "topology.kubernetes.io/zone");
      expect(spread, name).toBeDefined();
      expect(selects(spread?.labelSelector, d?.spec?.template?.metadata.labels ?? {}), `${name}'s spread counts its own pods`).toBe(true);
      expect(byName(base, "Deployment", name)?.spec?.template?.spec.topologySpreadConstraints).toBeUndefined();
    }
    // The chart's servers set no_advertise, so clients see one server and the automatic choice would be R1.
    const envOfCommand = (cmd: string) => envOf(tailrace(zones).find(({ c }) => command(c) === cmd)?.c as Container);
    expect(envOfCommand("doppler").TAILRACE_STREAM_REPLICAS).toBe(String(values.config.cluster.replicas));
    expect(envOfCommand("drainer").TAILRACE_DRAIN_STREAM_REPLICAS).toBe(String(values.config.cluster.replicas));
  });
});
