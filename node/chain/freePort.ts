import net from "node:net";

/**
 * Asks the operating system for a TCP port that is free on `host` right now. Another process may take it
 * before the caller binds it, so callers that can retry should.
 *
 * @example
 * const port = await freePort("127.0.0.1");
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`cannot read the port bound on ${host}`));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * Resolves whether `port` can be bound on `host` right now (false when another process listens on it).
 *
 * @example
 * if (!(await isPortFree("127.0.0.1", 8545))) console.error("8545 is taken");
 */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(false);
      else reject(err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
