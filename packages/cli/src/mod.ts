export { COMMAND_NAMES } from "./commands/index.js";
export { cfLines, cfTime, neutralise, PartJoiner } from "./format.js";
export { CLUSTER_NAME, ROUTE_USER, ZONE_TAG, ZONES } from "./nats_cluster.js";
export { knownSettings } from "./settings.js";
