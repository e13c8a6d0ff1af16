/**
 * The gateway: the OpenFaaS REST API plus TFaaS' extensions, on node:http. It is composed here
 * from its routes; the store, the workers (a Dispatch) and the credentials come from src/main.ts.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { PlatformConfig } from "../config/index.js";
import type { Dispatcher, Queue } from "../queue/index.js";
import { Headers } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import type { Store, UsageRecord } from "../store/index.js";
import type { Dispatch } from "../worker/dispatch.js";
import { artifactRoutes } from "./artifacts-route.js";
import { attestationRoute } from "./attestation-route.js";
import { createAsyncInvocations } from "./async-route.js";
import { AUTH_CHALLENGE, createBasicAuth, type Credentials } from "./auth.js";
import { FunctionRegistry } from "./functions.js";
import { findRoute, methodNotAllowed, sendError, sendText, type Route } from "./http.js";
import { BatchWriter } from "./batch-writer.js";
import { ohttpKeysRoute } from "./confidential-route.js";
import { invokeRoute } from "./invoke-route.js";
import { Invoker } from "./invoker.js";
import { FunctionLogs } from "./logs.js";
import { logsRoute } from "./logs-route.js";
import { receiptsRoutes } from "./receipts-route.js";
import { usageRoute } from "./usage-route.js";
import { createMetrics, type GatewayMetrics } from "./metrics.js";
import { systemRoutes, type SystemInfo } from "./system.js";

export interface GatewayOptions {
  config: PlatformConfig;
  store: Store;
  /** The workers: the embedded WorkerPool or the distributed NATS dispatch. */
  dispatch: Dispatch;
  /** Durable asynchronous calls; the gateway runs them while it is up. */
  queue: Queue;
  credentials: Credentials;
  info: SystemInfo;
}

export interface Gateway {
  server: http.Server;
  registry: FunctionRegistry;
  invoker: Invoker;
  metrics: GatewayMetrics;
  /** Runs queued async calls; distributed mode tells it of calls other gateways enqueued. */
  asyncDispatcher: Dispatcher;
  listen(port: number, host: string): Promise<AddressInfo>;
  close(): Promise<void>;
}

export async function createGateway({ config, store, dispatch, queue, credentials, info }: GatewayOptions): Promise<Gateway> {
  const metrics = createMetrics();
  const logs = new FunctionLogs(store.logs);
  const registry = new FunctionRegistry({
    store,
    dispatch,
    logs,
    defaultExecTimeoutMs: config.execTimeoutMs,
    defaultFuelLimit: BigInt(config.fuelLimit),
    maxOutputBytes: config.maxOutputBytes,
    onReplicas: (id, replicas) => metrics.serviceCount.labels(id).set(replicas),
  });
  const authorized = createBasicAuth(credentials);
  const usage = new BatchWriter<UsageRecord>({ what: "usage records", write: (records) => store.usage.append(records) });
  const invoker = new Invoker({ registry, dispatch, logs, metrics, usage });
  const asyncCalls = createAsyncInvocations({ config, queue, registry, invoker, authorized, metrics: metrics.registry });

  const routes: Route[] = [
    invokeRoute(registry, invoker, config.maxRequestBytes),
    { pattern: /^\/healthz$/, auth: false, methods: { GET: ({ res }) => sendText(res, 200, "OK") } },
    {
      pattern: /^\/metrics$/,
      auth: false,
      methods: {
        GET: async ({ res }) => {
          const text = await metrics.registry.metrics();
          sendText(res, 200, text, { "content-type": metrics.registry.contentType });
        },
      },
    },
    ...systemRoutes(registry, store, info),
    ...artifactRoutes(store.artifacts, config.maxArtifactBytes),
    logsRoute(registry, store.logs, logs),
    usageRoute(store.usage, usage),
    attestationRoute(dispatch),
    ohttpKeysRoute(() => dispatch.ohttpKeys?.() ?? []),
    ...receiptsRoutes(store.usage, usage),
    ...asyncCalls.routes,
  ];

  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://gateway");
      const found = findRoute(routes, url.pathname);
      if (!found) throw new TfaasError("not-found", `Cannot find ${url.pathname}`);
      const { route, params } = found;
      if (route.auth && !authorized(req)) {
        throw new TfaasError("unauthorized", "Cannot authorize: missing or invalid credentials");
      }
      const handler = route.methods[req.method ?? "GET"] ?? route.methods["*"];
      if (!handler) {
        res.setHeader("allow", Object.keys(route.methods).join(", "));
        throw methodNotAllowed(route, req.method ?? "GET");
      }
      await handler({ req, res, url, params });
    } catch (error) {
      const challenge = error instanceof TfaasError && error.code === "unauthorized" ? { [Headers.authenticate]: AUTH_CHALLENGE } : {};
      sendError(res, error, challenge);
    }
  });
  server.keepAliveTimeout = 65_000;

  await dispatch.start();
  await registry.restore();
  await asyncCalls.start();

  return {
    server,
    registry,
    invoker,
    metrics,
    asyncDispatcher: asyncCalls.dispatcher,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    close: async () => {
      await asyncCalls.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.all([logs.flush(), usage.flush()]);
    },
  };
}
