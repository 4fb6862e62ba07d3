import { parseArgs } from "node:util";
import { Agent, loadAgentConfig } from "@tailrace/agent";
import { checkName } from "@tailrace/envelope";
import { createLogger } from "@tailrace/runtime";
import { UsageError } from "../errors.js";

export const runUsage = `tailrace run --tenant T --app A [--process web] [--instance 0] [--log-rate-limit BYTES] [--quiet] -- CMD ARGS...
  Supervises CMD as a container runtime would: stdout lines become OUT and stderr lines ERR log envelopes of app A,
  published to NATS (NATS_URL). Exits with CMD's exit code.`;

export async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  if (dash === -1 || dash === argv.length - 1) throw new UsageError(`missing -- CMD\n${runUsage}`);
  const { values } = parseArgs({
    args: argv.slice(0, dash),
    options: {
      tenant: { type: "string" },
      app: { type: "string" },
      process: { type: "string", default: "web" },
      instance: { type: "string", default: "0" },
      quiet: { type: "boolean" },
      "log-rate-limit": { type: "string" },
    },
  });
  if (!values.tenant || !values.app) throw new UsageError(`--tenant and --app are required\n${runUsage}`);
  try {
    checkName("tenant", values.tenant);
    checkName("app", values.app);
    checkName("process type", values.process);
    checkName("instance", values.instance);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [command, ...args] = argv.slice(dash + 1) as [string, ...string[]];
  const logger = createLogger({ name: "tailrace-run", level: process.env.TAILRACE_LOG_LEVEL ?? "warn" });
  const agent = new Agent(loadAgentConfig(), logger);
  await agent.start();
  const child = agent.supervise({
    command,
    args,
    tenant: values.tenant,
    app: values.app,
    processType: values.process,
    instanceId: values.instance,
    echo: !values.quiet,
    ...(values["log-rate-limit"] ? { logRateLimit: rateLimit(values["log-rate-limit"]) } : {}),
  });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on("SIGINT", forward("SIGINT"));
  process.on("SIGTERM", forward("SIGTERM"));
  const code = await child.exited;
  const unsent = await agent.stop();
  if (unsent > 0) process.stderr.write(`tailrace: ${unsent} envelopes could not be delivered to NATS\n`);
  return code;
}

function rateLimit(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError("--log-rate-limit must be a positive number of bytes per second");
  return Number(raw);
}
