import type { Server } from "node:net";

/** Listens and resolves with the port actually bound (useful with port 0); rejects with the listen error. */
export async function listenOn(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === "object" && addr ? addr.port : 0;
}

/** Stops listening and ends every connection, keep-alive ones included. */
export function closeHttpServer(server: import("node:http").Server): Promise<void> {
  return new Promise((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}
