/**
 * A throwaway PKI for tests, made with the `openssl` CLI: a CA, a server certificate for localhost/127.0.0.1 and a
 * client certificate (for mTLS) and a NATS route certificate, all signed by the CA. EC P-256 keys, so it takes milliseconds.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface CertFiles {
  /** Paths. */
  certFile: string;
  keyFile: string;
  /** PEM text. */
  cert: string;
  key: string;
}

export interface TestPki {
  caFile: string;
  ca: string;
  server: CertFiles;
  client: CertFiles;
  /** For NATS routes: each node is both server and client of its peers, so it carries both usages. */
  route: CertFiles;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run("openssl", args, { cwd: dir });
}

async function leaf(dir: string, name: string, cn: string, ext: string): Promise<CertFiles> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, `${ext}\nbasicConstraints=critical,CA:FALSE\n`);
  await openssl(dir, [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    certFile,
    "-extfile",
    extFile,
  ]);
  return { certFile, keyFile, cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
}

/** Makes the PKI in `dir` (which must exist). */
export async function makeTestPki(dir: string): Promise<TestPki> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=Tailrace Test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const server = await leaf(dir, "server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
  const client = await leaf(dir, "client", "tailrace-drainer", "subjectAltName=DNS:tailrace-drainer\nextendedKeyUsage=clientAuth");
  const route = await leaf(
    dir,
    "route",
    "tailrace-nats-route",
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth",
  );
  const caFile = join(dir, "ca.pem");
  return { caFile, ca: await readFile(caFile, "utf8"), server, client, route };
}
