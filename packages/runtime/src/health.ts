/** `/healthz` and `/readyz` answers shared by every process. */
export interface Readiness {
  /** Name → ready. The process is ready when all are. */
  checks(): Record<string, boolean>;
}

export function readyzBody(r: Readiness): { status: number; body: string } {
  const checks = r.checks();
  const ok = Object.values(checks).every(Boolean);
  return { status: ok ? 200 : 503, body: `${JSON.stringify({ ready: ok, checks })}\n` };
}
