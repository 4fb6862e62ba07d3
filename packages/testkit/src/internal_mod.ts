export type { NatsServer, NatsServerOptions } from "./nats_server.js";
export { natsServerBin, startNatsServer } from "./nats_server.js";
export type { TempDir } from "./tmp.js";
export { tempDir } from "./tmp.js";
export { TEST_JWT_SECRET, testToken } from "./tokens.js";
export { waitFor } from "./wait.js";
