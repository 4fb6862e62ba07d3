/** Resolves on the first SIGINT or SIGTERM. A second one exits at once, for a shutdown that hangs. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.once(sig, () => process.exit(130));
      resolve(sig);
    };
    process.once("SIGINT", on);
    process.once("SIGTERM", on);
  });
}
