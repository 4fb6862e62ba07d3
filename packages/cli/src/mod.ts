export { COMMAND_NAMES } from "./commands/index.js";
export { cfLines, cfTime, neutralise, PartJoiner } from "./format.js";
export { knownSettings } from "./settings.js";
