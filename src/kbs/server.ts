/**
 * The key broker over HTTP (`tfaas kbs serve`, or embedded in tests): POST /kbs/v1/challenge and
 * POST /kbs/v1/key as src/worker/key-release.ts describes, GET /healthz. Errors are plain text with
 * the stable code in X-Tfaas-Error, as the gateway answers; refusals are 403 `forbidden`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { TfaasError } from "../shared/errors.js";
import { KEY_RELEASE_PATHS } from "../worker/key-release.js";
import { readBody, sendError, sendJson, sendText } from "../gateway/http.js";
import type { KeyBroker } from "./broker.js";

/** Key requests carry evidence (a few KiB; SEV-SNP certificate tables more). */
const MAX_REQUEST_BYTES = 256 * 1024;

export interface KeyBrokerServer {
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

async function json(req: http.IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_REQUEST_BYTES);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new TfaasError("invalid-request", "Cannot read key broker request: body is not JSON");
  }
}

export function keyBrokerHandler(broker: KeyBroker): http.RequestListener {
  return async (req, res) => {
    try {
      const pathname = new URL(req.url ?? "/", "http://kbs").pathname;
      if (pathname === "/healthz" && req.method === "GET") return sendText(res, 200, "OK");
      if (pathname !== KEY_RELEASE_PATHS.challenge && pathname !== KEY_RELEASE_PATHS.key) throw new TfaasError("not-found", `Cannot find ${pathname}`);
      if (req.method !== "POST") {
        res.setHeader("allow", "POST");
        throw new TfaasError("method-not-allowed", `Cannot ${req.method ?? "GET"} this path: allowed methods are POST`);
      }
      const body = await json(req);
      if (pathname === KEY_RELEASE_PATHS.challenge) return sendJson(res, 200, broker.challenge(body));
      sendJson(res, 200, await broker.release(body, req.socket.remoteAddress));
    } catch (error) {
      sendError(res, error);
    }
  };
}

export async function serveKeyBroker(broker: KeyBroker, options: { port: number; host: string }): Promise<KeyBrokerServer> {
  const server = http.createServer(keyBrokerHandler(broker));
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server.address() as AddressInfo));
  });
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
