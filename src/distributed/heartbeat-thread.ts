/** The heartbeat thread (see heartbeat.ts): connect, then publish an empty message every interval. */
import { parentPort, workerData } from "node:worker_threads";
import { connect } from "@nats-io/transport-node";

const { url, subject, name, intervalMs } = workerData as { url: string; subject: string; name: string; intervalMs: number };

try {
  const nc = await connect({
    servers: url.split(",").map((server) => server.trim()).filter((server) => server !== ""),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  nc.publish(subject);
  await nc.flush();
  setInterval(() => nc.publish(subject), intervalMs);
  parentPort?.postMessage({ ok: true });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: error instanceof Error ? error.message : "cannot connect" });
}
