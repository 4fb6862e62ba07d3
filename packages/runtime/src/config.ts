/**
 * Strict configuration from the environment. Each deployable declares its settings once (name, parser, default,
 * doc); {@link loadConfig} reads them all, collects every problem, and throws one {@link ConfigError} that lists them.
 */

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
  }
}

export interface Setting<T> {
  doc: string;
  /** Parses the raw string; throws an Error whose message says what is wrong. */
  parse(raw: string): T;
  /** Used when the variable is unset or empty. Without one, the setting is required. */
  default?: T;
  /** Printed instead of the value in docs and errors. */
  secret?: boolean;
  /** How the default reads in docs, when its raw value would not (e.g. durations, held as ms). */
  display?: string;
}

export type Spec = Record<string, Setting<unknown>>;
export type ConfigOf<S extends Spec> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export function loadConfig<S extends Spec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw === "") {
      if ("default" in setting) out[name] = setting.default;
      else problems.push(`${name} is required: ${setting.doc}`);
      continue;
    }
    try {
      out[name] = setting.parse(raw);
    } catch (err) {
      const shown = setting.secret ? "(secret)" : JSON.stringify(raw);
      problems.push(`${name}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

/** Refuses `TAILRACE_*` variables that no component knows: a typo must not silently fall back to a default. */
export function checkUnknown(known: Iterable<string>, env: NodeJS.ProcessEnv = process.env): void {
  const set = new Set(known);
  const unknown = Object.keys(env).filter((k) => k.startsWith("TAILRACE_") && !set.has(k));
  if (unknown.length) throw new ConfigError(unknown.map((k) => `${k} is not a Tailrace setting`));
}

export const str = (doc: string, dflt?: string): Setting<string> => ({
  doc,
  parse: (raw) => raw,
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const secret = (doc: string, dflt?: string): Setting<string> => ({ ...str(doc, dflt), secret: true });

export const int = (doc: string, dflt: number | undefined, min: number, max: number): Setting<number> => ({
  doc,
  parse(raw) {
    if (!/^-?\d+$/.test(raw)) throw new Error("must be an integer");
    const v = Number(raw);
    if (v < min || v > max) throw new Error(`must be between ${min} and ${max}`);
    return v;
  },
  ...(dflt !== undefined ? { default: dflt } : {}),
});

export const port = (doc: string, dflt?: number): Setting<number> => int(doc, dflt, 0, 65535);

export const bool = (doc: string, dflt: boolean): Setting<boolean> => ({
  doc,
  parse(raw) {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new Error("must be true or false");
  },
  default: dflt,
});

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses durations such as `500ms`, `15s`, `1h`; returns milliseconds. */
export function parseDuration(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(raw.trim());
  if (!m) throw new Error("must be a duration such as 500ms, 15s, 5m or 1h");
  return Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
}

/** Renders ms as the largest whole unit: 86400000 → `1d`, 5 → `5ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const duration = (doc: string, dflt?: number): Setting<number> => ({
  doc,
  parse: parseDuration,
  ...(dflt !== undefined ? { default: dflt, display: formatDuration(dflt) } : {}),
});

export const url = (doc: string, protocols: string[], dflt?: string): Setting<string> => ({
  doc,
  parse(raw) {
    for (const part of raw.split(",")) {
      let u: URL;
      try {
        u = new URL(part.trim());
      } catch {
        throw new Error("must be a URL");
      }
      if (!protocols.includes(u.protocol)) throw new Error(`must use ${protocols.join(" or ")}`);
    }
    return raw;
  },
  ...(dflt !== undefined ? { default: dflt } : {}),
});

/** Renders a spec as a Markdown table, for docs/CONFIGURATION.md. */
export function describe(spec: Spec): string {
  const rows = Object.entries(spec).map(([name, s]) => {
    const shown = s.display ?? String(s.default);
    const d = "default" in s ? (s.secret ? "(secret)" : shown === "" ? "(empty)" : `\`${shown}\``) : "required";
    return `| \`${name}\` | ${d} | ${s.doc} |`;
  });
  return ["| variable | default | meaning |", "|---|---|---|", ...rows].join("\n");
}
