export type { Asset, ConsoleAssets } from "./assets.js";
export { consoleAssets, loadAssets } from "./assets.js";
export { contentSecurityPolicy } from "./csp.js";
export { handleConsole } from "./handler.js";
export { BEARER_PROTOCOL, bearerFromProtocols, selectProtocol } from "./protocol.js";
