/**
 * A recording HTTP proxy on 127.0.0.1 for the site tests: it forwards every request to a target (the chain's
 * JSON-RPC endpoint or the aggregator), keeps a copy of what the site sent (method, path, headers, body), and
 * can be switched off to play an outage (connections are then reset).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the site sent it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** A running proxy. */
export class RecordingProxy {
  readonly requests: RecordedRequest[] = [];
  /** While true, every request's connection is reset. */
  down = false;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  /** Starts a proxy in front of `target` (an http:// base URL). */
  static async start(target: string): Promise<RecordingProxy> {
    const base = target.replace(/\/+$/, "");
    const holder: { proxy?: RecordingProxy } = {};
    const server = http.createServer((req, res) => {
      if (holder.proxy?.down) {
        req.socket.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === "string" && !["host", "connection", "content-length", "expect"].includes(k))
            headers[k] = v;
        holder.proxy?.requests.push({ method: req.method ?? "GET", path: req.url ?? "/", headers, body });
        fetch(`${base}${req.url ?? "/"}`, {
          method: req.method,
          headers,
          body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
        })
          .then(async (upstream) => {
            const answer = Buffer.from(await upstream.arrayBuffer());
            const type = upstream.headers.get("content-type");
            res.writeHead(upstream.status, type ? { "content-type": type } : {});
            res.end(answer);
          })
          .catch(() => req.socket.destroy());
      });
    });
    server.keepAliveTimeout = 1;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    holder.proxy = new RecordingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return holder.proxy;
  }

  /** Everything the site sent through this proxy, as one buffer per request (headers as text, then the body). */
  sent(): Buffer[] {
    return this.requests.map((r) =>
      Buffer.concat([
        Buffer.from(
          `${r.method} ${r.path}\n${Object.entries(r.headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n")}\n\n`,
        ),
        r.body,
      ]),
    );
  }

  /** Stops the proxy. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
