/**
 * The NATS connection distributed mode shares between its Store, Queue and dispatch.
 *
 * Reconnect behaviour: once connected, the client reconnects forever (every second, to any
 * server of the cluster it has learned of). While it is disconnected, publishes and requests
 * are buffered by the client and every Store and Queue operation waits at most its request
 * timeout (`requestTimeoutMs`, default 5 s), then fails with `unavailable` naming the server;
 * nothing is retried silently, so callers see the outage and decide.
 */
import { connect, errors as natsErrors, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import { TfaasError } from "../../shared/errors.js";
import { log } from "../../shared/log.js";

export type { NatsConnection } from "@nats-io/transport-node";

export interface ConnectNatsOptions {
  /** Shown by the server (`nats server report connections`), e.g. `tfaas-gateway-<host>`. */
  name: string;
  /** How long the first connection may take before failing; default 5,000 ms. */
  connectTimeoutMs?: number;
}

/** Milliseconds every JetStream request may wait (also while reconnecting) before it fails with `unavailable`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Connects to `url` (one URL or several, comma-separated). Fails with `unavailable` naming the
 * URL (credentials removed) when no server answers.
 */
export async function connectNats(url: string, options: ConnectNatsOptions): Promise<NatsConnection> {
  const servers = url
    .split(",")
    .map((server) => server.trim())
    .filter((server) => server.length > 0);
  const shown = redactNatsUrl(url);
  if (servers.length === 0) throw new TfaasError("invalid-request", `Cannot connect to NATS: current URL is ${JSON.stringify(shown)}`);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      timeout: options.connectTimeoutMs ?? 5_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
  } catch (cause) {
    throw new TfaasError("unavailable", `Cannot connect to NATS at ${shown}: ${describe(cause)}`, { cause });
  }
  void watchStatus(nc, shown);
  return nc;
}

/** `nats://user:pass@host:4222` → `nats://***@host:4222`, so URLs can go into messages and logs. */
export function redactNatsUrl(url: string): string {
  return url.replace(/(\/\/)[^/@,]*@/g, "$1***@");
}

async function watchStatus(nc: NatsConnection, shown: string): Promise<void> {
  for await (const status of nc.status()) {
    if (status.type === "disconnect") log.warn("disconnected from NATS; reconnecting", { url: shown });
    else if (status.type === "reconnect") log.info("reconnected to NATS", { server: redactNatsUrl(status.server) });
  }
}

/**
 * A failure of a NATS operation as a TfaasError: connection trouble and timeouts become
 * `unavailable` naming the server; anything else `internal`. TfaasErrors pass through.
 */
export function natsFailure(action: string, server: string, cause: unknown): TfaasError {
  if (cause instanceof TfaasError) return cause;
  const unreachable =
    cause instanceof natsErrors.TimeoutError ||
    cause instanceof natsErrors.ConnectionError ||
    cause instanceof natsErrors.ClosedConnectionError ||
    cause instanceof natsErrors.DrainingConnectionError ||
    cause instanceof natsErrors.NoRespondersError ||
    cause instanceof natsErrors.RequestError ||
    // JetStream answers 503/"no responders" while a clustered stream has no leader.
    (cause instanceof JetStreamError && /timeout|no responders|unavailable|leader|not enabled/i.test(cause.message)) ||
    (cause instanceof JetStreamApiError && cause.status === 503);
  if (unreachable) return new TfaasError("unavailable", `Cannot ${action}: NATS at ${server} is unavailable (${describe(cause)})`, { cause });
  return new TfaasError("internal", `Cannot ${action}: NATS at ${server} failed (${describe(cause)})`, { cause });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : "unknown error";
}
