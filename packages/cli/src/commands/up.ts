import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Agent, loadAgentConfig } from "@tailrace/agent";
import { mintToken } from "@tailrace/auth";
import { Doppler, loadDopplerConfig } from "@tailrace/doppler";
import { Drainer, loadDrainerConfig } from "@tailrace/drainer";
import { checkUnknown, createLogger } from "@tailrace/runtime";
import { type LocalCluster, startLocalCluster } from "../nats_cluster.js";
import { type LocalNats, startLocalNats } from "../nats_server.js";
import { knownSettings } from "../settings.js";
import { untilSignal } from "../signals.js";

export const upUsage = `tailrace up [--port P] [--dir .tailrace] [--tls] [--cluster]
  Runs the whole stack in the foreground: nats-server (unless NATS_URL is set), the doppler, the agent and a demo app
  under tenant "demo". Prints the API URL, a dev token and commands to try. Ctrl-C stops everything.
  --tls serves the API over HTTPS with a self-signed development certificate (made with openssl under the dir).
  --cluster runs three nats-servers instead, one per zone (az:a, az:b, az:c), with authenticated TLS routes, so the
  streams are R3 and the drills of docs/OPERATIONS.md can be tried by hand (kill a node, watch the tail go on).`;

/** The dev secret persists under the state dir, so tokens printed by one `up` keep working after a restart. */
function devSecret(dir: string): string {
  if (process.env.TAILRACE_JWT_SECRET) return process.env.TAILRACE_JWT_SECRET;
  const file = join(dir, "jwt-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const s = randomBytes(32).toString("base64url");
  writeFileSync(file, `${s}\n`, { mode: 0o600 });
  return s;
}

/** A self-signed certificate for localhost and 127.0.0.1, made once with openssl and kept under `dir`. */
function devCertificate(dir: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  if (!existsSync(cert) || !existsSync(key)) {
    // biome-ignore format: one openssl invocation
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "90",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
  }
  return { cert, key };
}

export async function up(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "8080" },
      dir: { type: "string", default: ".tailrace" },
      tls: { type: "boolean" },
      cluster: { type: "boolean" },
    },
  });
  checkUnknown(knownSettings);
  const dir = resolve(values.dir);
  mkdirSync(dir, { recursive: true });
  const logger = createLogger({ name: "tailrace-up", level: process.env.TAILRACE_LOG_LEVEL ?? "warn" });

  let nats: LocalNats | LocalCluster | undefined;
  let natsUrl = process.env.NATS_URL;
  if (natsUrl && values.cluster) throw new Error("--cluster starts its own NATS cluster: unset NATS_URL, or leave out --cluster");
  if (!natsUrl) {
    // The cluster's streams get 3 replicas without a setting: the doppler and drainer pick R3 on a 3-node cluster.
    nats = values.cluster ? await startLocalCluster(join(dir, "nats-cluster")) : await startLocalNats(join(dir, "nats"));
    natsUrl = nats.url;
  }
  const natsStore =
    nats && "nodes" in nats
      ? ` (3 nodes in zones az:a-c, store ${join(dir, "nats-cluster")})`
      : nats
        ? ` (store ${join(dir, "nats")})`
        : "";
  const secret = devSecret(dir);
  const tls = values.tls ? devCertificate(join(dir, "tls")) : undefined;
  const env = {
    ...process.env,
    NATS_URL: natsUrl,
    TAILRACE_JWT_SECRET: secret,
    TAILRACE_DOPPLER_PORT: values.port,
    TAILRACE_DOPPLER_HOST: "127.0.0.1",
    ...(tls ? { TAILRACE_TLS_CERT: tls.cert, TAILRACE_TLS_KEY: tls.key } : {}),
  };
  const doppler = new Doppler(loadDopplerConfig(env), logger.child({ component: "doppler" }));
  const agent = new Agent(loadAgentConfig(env), logger.child({ component: "agent" }));
  const drainer = new Drainer(
    loadDrainerConfig({ ...env, TAILRACE_DRAINER_HOST: "127.0.0.1", TAILRACE_DRAINER_PORT: "0" }),
    logger.child({ component: "drainer" }),
  );
  let demo: ReturnType<Agent["supervise"]> | undefined;
  let stopping = false;
  const stopAll = async () => {
    stopping = true;
    demo?.kill("SIGTERM");
    await demo?.exited;
    await agent.stop(5000).catch(() => undefined);
    await drainer.stop().catch(() => undefined);
    await doppler.stop().catch(() => undefined);
    await nats?.stop();
  };
  try {
    await doppler.start();
    await drainer.start();
    await agent.start();
    await agent.startSources();
    const demoScript = join(dirname(fileURLToPath(import.meta.url)), "..", "demo", "app.js");
    const startDemo = () => {
      demo = agent.supervise({
        command: process.execPath,
        args: [demoScript],
        tenant: "demo",
        app: "demo",
        processType: "web",
        instanceId: "0",
        echo: false,
      });
      demo.exited.then(() => {
        if (!stopping) setTimeout(startDemo, 1000);
      });
    };
    if (process.env.TAILRACE_DEMO !== "off") startDemo();
  } catch (err) {
    await stopAll();
    throw err;
  }

  const api = `${tls ? "https://localhost" : "http://127.0.0.1"}:${doppler.port}`;
  const token = await mintToken({
    secret,
    tenants: ["demo"],
    scopes: ["logs.read", "drains.write"],
    ttlSec: 24 * 3600,
    subject: "tailrace-up",
  });
  process.stdout.write(
    [
      "",
      "Tailrace is up.",
      `  API        ${api}`,
      `  NATS       ${natsUrl}${natsStore}`,
      "  Demo app   tenant demo, app demo: a line a second",
      "",
      `  Console    ${api}/#token=${token}&app=demo`,
      "",
      "Try, in another terminal:",
      `  export TAILRACE_API=${api}`,
      `  export TAILRACE_TOKEN=${token}`,
      ...(tls ? [`  export TAILRACE_CA=${tls.cert}    # trust the development certificate (curl: --cacert)`] : []),
      "  pnpm exec tailrace logs demo --recent",
      "  pnpm exec tailrace logs demo",
      `  curl${tls ? ` --cacert ${tls.cert}` : ""} -H "Authorization: Bearer $TAILRACE_TOKEN" '${api}/api/v1/read/demo?limit=5'`,
      "",
      `Mint other tokens with: TAILRACE_JWT_SECRET=$(cat ${join(dir, "jwt-secret")}) pnpm exec tailrace token --tenant demo`,
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  await untilSignal();
  process.stdout.write("stopping…\n");
  await stopAll();
  return 0;
}
