/** A real callback receiver on loopback for the async tests: records every delivery; paths under /fail answer 500. */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Delivery {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** Deliveries carrying this call id. */
  of(callId: string): Delivery[];
  /** Resolves once `count` deliveries carry the call id. */
  waitFor(callId: string, count?: number, ms?: number): Promise<Delivery[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      deliveries.push({ path: req.url ?? "/", headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = req.url?.startsWith("/fail") === true ? 500 : 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const of = (callId: string) => deliveries.filter((d) => d.headers["x-call-id"] === callId);
  return {
    url,
    deliveries,
    of,
    waitFor: async (callId, count = 1, ms = 15_000) => {
      const deadline = Date.now() + ms;
      while (of(callId).length < count) {
        if (Date.now() > deadline) throw new Error(`callback for ${callId} not received ${count} time(s) in ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return of(callId);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
