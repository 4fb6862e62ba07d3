/**
 * How a component proves who it is to NATS and protects the connection: credentials (a creds file, an nkey seed,
 * or a user and password), TLS (a CA to trust, a client certificate for mTLS) and the prefix of its reply subjects.
 * Every deployable spreads {@link natsSpec} into its own spec; {@link natsSecurity} turns the values into what
 * {@link connectNats} takes. deploy/nats/ holds the server side: one user per component, each allowed only the
 * subjects it needs (issue 8).
 */
import { accessSync, constants } from "node:fs";
import { ConfigError, type ConfigOf, type Setting, secret, str } from "./config.js";

/** A path to a file that must be readable now; empty means unset. */
const file = (doc: string): Setting<string> => ({
  doc,
  parse(raw) {
    try {
      accessSync(raw, constants.R_OK);
    } catch (err) {
      throw new Error(`cannot read ${raw}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    }
    return raw;
  },
  default: "",
});

/** One or more subject tokens without wildcards: reply subjects are `<prefix>.<random>`. */
const subjectPrefix = (doc: string): Setting<string> => ({
  doc,
  parse(raw) {
    if (!/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(raw)) throw new Error("must be subject tokens such as _INBOX_agent (no wildcards)");
    return raw;
  },
  default: "",
});

/** The NATS connection settings every deployable shares; documented per deployable in docs/CONFIGURATION.md. */
export const natsSpec = {
  NATS_CREDS: file("NATS creds file (user JWT and nkey seed); one of NATS_CREDS, NATS_NKEY_SEED_FILE or NATS_USER"),
  NATS_NKEY_SEED_FILE: file("file holding this component's NATS nkey seed (`SU...`), for nkey authentication"),
  NATS_USER: str("NATS user name, with NATS_PASSWORD", ""),
  NATS_PASSWORD: secret("NATS password of NATS_USER", ""),
  NATS_CA: file("PEM CA that signs the NATS servers' certificates; setting it requires TLS to NATS"),
  NATS_CERT: file("PEM client certificate for NATS mutual TLS, with NATS_KEY"),
  NATS_KEY: file("PEM private key of NATS_CERT"),
  NATS_INBOX_PREFIX: subjectPrefix(
    "prefix of this component's NATS reply subjects; empty is `_INBOX_<component>` (agent, doppler, drainer), as deploy/nats/ permits",
  ),
};

export type NatsSettings = ConfigOf<typeof natsSpec>;

/** What {@link connectNats} needs to authenticate and encrypt; file paths are read at each (re)connect. */
export interface NatsSecurity {
  credsFile?: string;
  nkeySeedFile?: string;
  user?: string;
  password?: string;
  /** Require TLS, even with neither a CA nor a client certificate (the system CAs are then trusted). */
  tls?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  inboxPrefix: string;
}

/**
 * Checks that the settings fit together and maps them to {@link NatsSecurity}. `component` names the default
 * inbox prefix. Throws {@link ConfigError}; a password never appears in its message.
 */
export function natsSecurity(c: NatsSettings & { NATS_URL?: string }, component: string): NatsSecurity {
  const problems: string[] = [];
  const methods = [c.NATS_CREDS && "NATS_CREDS", c.NATS_NKEY_SEED_FILE && "NATS_NKEY_SEED_FILE", c.NATS_USER && "NATS_USER"].filter(
    Boolean,
  );
  if (methods.length > 1) problems.push(`${methods.join(" and ")}: set only one way to authenticate to NATS`);
  if (c.NATS_PASSWORD && !c.NATS_USER) problems.push("NATS_PASSWORD=(secret): needs NATS_USER");
  if (!c.NATS_CERT !== !c.NATS_KEY) problems.push("NATS_CERT and NATS_KEY go together: set both or neither");
  if (problems.length) throw new ConfigError(problems);
  const tlsUrl = (c.NATS_URL ?? "").split(",").some((u) => u.trim().startsWith("tls://"));
  return {
    ...(c.NATS_CREDS ? { credsFile: c.NATS_CREDS } : {}),
    ...(c.NATS_NKEY_SEED_FILE ? { nkeySeedFile: c.NATS_NKEY_SEED_FILE } : {}),
    ...(c.NATS_USER ? { user: c.NATS_USER, password: c.NATS_PASSWORD } : {}),
    ...(tlsUrl || c.NATS_CA || c.NATS_CERT ? { tls: true } : {}),
    ...(c.NATS_CA ? { caFile: c.NATS_CA } : {}),
    ...(c.NATS_CERT ? { certFile: c.NATS_CERT, keyFile: c.NATS_KEY } : {}),
    inboxPrefix: c.NATS_INBOX_PREFIX || `_INBOX_${component}`,
  };
}
