/** The gateway's NATS backends: Store, Queue and Dispatch sharing one connection. */
import os from "node:os";
import { jetstream } from "@nats-io/jetstream";
import { openNatsQueue } from "../queue/nats/index.js";
import { connectNats, DEFAULT_REQUEST_TIMEOUT_MS, openNatsStore, type NatsConnection } from "../store/nats/index.js";
import type { Queue } from "../queue/index.js";
import type { Store } from "../store/index.js";
import { LargeBodies } from "./bodies.js";
import { NatsDispatch } from "./dispatch.js";

export interface DistributedOptions {
  url: string;
  replicas: number;
  secretKeyFile: string;
  /** The async queue's admission bound. */
  maxDepth: number;
  /** How long a gateway that vanished holds its async calls before JetStream hands them to another. */
  ackWaitMs?: number;
  prefix?: string;
}

export interface DistributedBackends {
  connection: NatsConnection;
  prefix: string;
  store: Store;
  queue: Queue;
  dispatch: NatsDispatch;
  /** Closes queue, store and connection (the dispatch is closed by its owner first). */
  close(): Promise<void>;
}

export async function openDistributedBackends(options: DistributedOptions): Promise<DistributedBackends> {
  const prefix = options.prefix ?? "tfaas";
  const connection = await connectNats(options.url, { name: `tfaas-gateway-${os.hostname()}-${process.pid}` });
  const opened: Array<{ close(): Promise<void> }> = [];
  const close = async () => {
    for (const part of opened.reverse()) await part.close().catch(() => undefined);
    await connection.drain().catch(() => undefined);
  };
  try {
    const store = await openNatsStore({ connection, secretKeyFile: options.secretKeyFile, replicas: options.replicas, prefix });
    opened.push(store);
    const queue = await openNatsQueue({
      connection,
      maxDepth: options.maxDepth,
      replicas: options.replicas,
      prefix,
      ...(options.ackWaitMs !== undefined ? { ackWaitMs: options.ackWaitMs } : {}),
    });
    opened.push(queue);
    const js = jetstream(connection, { timeout: DEFAULT_REQUEST_TIMEOUT_MS });
    const bodies = await LargeBodies.open(js, prefix, options.replicas, connection.info?.max_payload ?? 1024 * 1024, options.url);
    const dispatch = new NatsDispatch({ connection, bodies, prefix });
    return { connection, prefix, store, queue, dispatch, close };
  } catch (error) {
    await close();
    throw error;
  }
}
