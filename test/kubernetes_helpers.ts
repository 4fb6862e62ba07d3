/** Renders deploy/kubernetes with `kubectl kustomize` and gives typed access to what the tests look at. */
import { execFileSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}

export interface PodSpec {
  containers: Container[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  volumes?: Array<{ name: string; hostPath?: { path: string }; configMap?: { name: string }; emptyDir?: object }>;
  topologySpreadConstraints?: Array<{
    topologyKey: string;
    whenUnsatisfiable: string;
    labelSelector?: { matchLabels?: Record<string, string> };
  }>;
}

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values: string[] }>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // RBAC objects.
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
  // The fields of the kinds this repository uses; each test narrows by kind.
  spec?: {
    replicas?: number;
    selector?: Selector & Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    podSelector?: Selector;
    policyTypes?: string[];
    ingress?: Array<{ from?: Array<{ podSelector?: Selector; namespaceSelector?: Selector }>; ports?: Array<{ port: number }> }>;
    ports?: Array<{ name?: string; port: number; targetPort?: number | string }>;
    maxUnavailable?: number;
  };
}

/** `kubectl kustomize DIR`, parsed. Without kubectl the test fails and says what is missing; it never skips. */
export function kustomize(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error(
        "kubectl is not installed: test/kubernetes.test.ts renders deploy/kubernetes with `kubectl kustomize` (install kubectl)",
      );
    }
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length > 0) throw new Error(`kubectl kustomize ${dir} printed invalid YAML: ${d.errors[0]?.message}`);
    return d.toJS() as K8sObject;
  });
}

/** Whether a selector selects a pod with these labels (matchLabels, and In/Exists expressions). */
export function selects(sel: Selector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === "In" && !e.values.includes(labels[e.key] ?? "\0")) return false;
    if (e.operator === "Exists" && !(e.key in labels)) return false;
    if (e.operator !== "In" && e.operator !== "Exists") throw new Error(`selector operator ${e.operator} is not handled here`);
  }
  return true;
}

/** A container's environment as its process sees it: secrets and downward-API fields as stand-in values. */
export function envOf(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of c.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.secretKeyRef) env[v.name] = `secret-${v.valueFrom.secretKeyRef.key}-0123456789abcdef`;
    else if (v.valueFrom?.fieldRef) env[v.name] = "node-a1";
    else throw new Error(`${c.name}: env ${v.name} has neither a value nor a secret or field reference`);
  }
  return env;
}
