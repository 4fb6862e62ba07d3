import { parseArgs } from "node:util";
import { mintToken, SCOPES, type Scope } from "@tailrace/auth";
import { checkName } from "@tailrace/envelope";
import { parseDuration } from "@tailrace/runtime";
import { UsageError } from "../errors.js";

export const tokenUsage = `tailrace token --tenant T [--tenant T2]... [--scope S]... [--ttl 1h]
  Mints a development token signed with TAILRACE_JWT_SECRET. Scopes: ${SCOPES.join(", ")} (default logs.read).`;

export async function token(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: "string", multiple: true },
      scope: { type: "string", multiple: true },
      ttl: { type: "string", default: "1h" },
    },
  });
  const secret = process.env.TAILRACE_JWT_SECRET;
  if (!secret) throw new UsageError("TAILRACE_JWT_SECRET is not set: it is the secret the doppler verifies tokens with");
  const scopes = (values.scope ?? ["logs.read"]) as Scope[];
  for (const s of scopes)
    if (!(SCOPES as readonly string[]).includes(s)) throw new UsageError(`unknown scope ${s}: use ${SCOPES.join(", ")}`);
  const tenants = values.tenant ?? [];
  try {
    for (const t of tenants) checkName("tenant", t);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (tenants.length === 0 && !scopes.includes("logs.admin")) throw new UsageError(`--tenant is required\n${tokenUsage}`);
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch (err) {
    throw new UsageError(`--ttl ${(err as Error).message}`);
  }
  process.stdout.write(`${await mintToken({ secret, tenants, scopes, ttlSec: Math.ceil(ttlMs / 1000) })}\n`);
  return 0;
}
