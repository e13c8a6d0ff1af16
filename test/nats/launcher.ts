/**
 * Starts real `nats-server` processes for tests: JetStream on, ephemeral client ports, a
 * temporary store directory per node. Every server is killed and its directory removed by
 * `stop()`; tests call it in `afterAll`/`finally`, and an exit hook catches what they miss.
 *
 * A single server: `startNatsServer()`. A JetStream cluster of three: `startNatsCluster(3)`;
 * each node can be SIGKILLed and restarted on the same ports with the same store directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

/** The binary: `TFAAS_NATS_SERVER`, else Debian's package path. */
export const NATS_SERVER_BINARY = process.env.TFAAS_NATS_SERVER ?? "/usr/sbin/nats-server";

export const natsServerMissing: boolean = (() => {
  try {
    accessSync(NATS_SERVER_BINARY, constants.X_OK);
    return false;
  } catch {
    return true;
  }
})();

export const NATS_SKIP_MESSAGE = `nats-server not found at ${NATS_SERVER_BINARY} (install it or set TFAAS_NATS_SERVER); NATS tests skipped`;

export interface NatsNode {
  /** `nats://127.0.0.1:<port>`; stays the same across restarts. */
  readonly url: string;
  readonly storeDir: string;
  /** Sends the signal (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again on the same ports and store directory (after `kill`). */
  restart(): Promise<void>;
  readonly running: boolean;
  /** Everything the process printed (for diagnosing failures). */
  output(): string;
}

export interface NatsServer extends NatsNode {
  /** Kills the server and removes its store directory. Idempotent. */
  stop(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, comma-separated, for a client that fails over. */
  readonly urls: string;
  stop(): Promise<void>;
}

interface NodeSpec {
  name: string;
  storeDir: string;
  clientPort: number;
  cluster?: { name: string; port: number; routes: number[] };
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export async function startNatsServer(): Promise<NatsServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), "tfaas-nats-"));
  try {
    // -p -1 lets the server pick its port; we read it back from the ports file and keep it for restarts.
    const node = new Node({ name: "tfaas-test", storeDir: path.join(root, "store"), clientPort: -1 }, root);
    await node.restart();
    return Object.assign(node, {
      stop: async () => {
        await node.kill();
        rmSync(root, { recursive: true, force: true });
      },
    });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), "tfaas-nats-cluster-"));
  const nodes: Node[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // Routes must name each other's ports before any node starts, so these are picked up front.
    const routePorts = await Promise.all(Array.from({ length: size }, freePort));
    const clientPorts = await Promise.all(Array.from({ length: size }, freePort));
    for (let i = 0; i < size; i++) {
      const spec: NodeSpec = {
        name: `tfaas-n${i}`,
        storeDir: path.join(root, `n${i}`, "store"),
        clientPort: clientPorts[i] ?? -1,
        cluster: { name: "tfaas-test", port: routePorts[i] ?? -1, routes: routePorts.filter((_, j) => j !== i) },
      };
      nodes.push(new Node(spec, path.join(root, `n${i}`)));
    }
    await Promise.all(nodes.map((node) => node.restart()));
    const urls = nodes.map((node) => node.url).join(",");
    await waitForJetStream(urls, size);
    return { nodes, urls, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Waits until JetStream can place a stream with `replicas` copies: a cluster first has to elect
 * its meta leader and learn of every peer.
 */
export async function waitForJetStream(urls: string, replicas = 1, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const nc = await connect({ servers: urls.split(","), timeout: 2_000 });
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 });
        const probe = `tfaas_probe_${process.pid}`;
        await jsm.streams.add({ name: probe, subjects: [`${probe}.>`], num_replicas: replicas });
        await jsm.streams.delete(probe);
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`JetStream at ${urls} did not become ready`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await nc.close();
  }
}

class Node implements NatsNode {
  readonly #spec: NodeSpec;
  readonly #root: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #output = "";
  #port: number;

  constructor(spec: NodeSpec, root: string) {
    this.#spec = spec;
    this.#root = root;
    this.#port = spec.clientPort;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.#port}`;
  }

  get storeDir(): string {
    return this.#spec.storeDir;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  output(): string {
    return this.#output;
  }

  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`Cannot start ${this.#spec.name}: it is running`);
    const { cluster } = this.#spec;
    const args = ["-js", "-sd", this.#spec.storeDir, "-a", "127.0.0.1", "-p", String(this.#port), "--server_name", this.#spec.name];
    args.push("--ports_file_dir", this.#root);
    if (cluster !== undefined) {
      args.push("--cluster_name", cluster.name, "--cluster", `nats://127.0.0.1:${cluster.port}`);
      args.push("--routes", cluster.routes.map((port) => `nats://127.0.0.1:${port}`).join(","));
    }
    mkdirSync(this.#root, { recursive: true });
    const child = spawn(NATS_SERVER_BINARY, args, { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    this.#child = child;
    const append = (chunk: Buffer): void => {
      this.#output += chunk.toString();
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    this.#exited = new Promise((resolve) => {
      child.once("exit", () => {
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      });
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`Cannot start ${NATS_SERVER_BINARY}: spawn failed`);
    this.#port = await this.#waitForPortsFile(pid);
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    this.#child?.kill(signal);
    await this.#exited;
  }

  async #waitForPortsFile(pid: number): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.#child === undefined) throw new Error(`nats-server ${this.#spec.name} exited while starting:\n${this.#output}`);
      const name = readdirSync(this.#root).find((entry) => entry.endsWith(`_${pid}.ports`));
      if (name !== undefined) {
        try {
          const ports = JSON.parse(readFileSync(path.join(this.#root, name), "utf8")) as { nats?: string[] };
          const port = Number(new URL(ports.nats?.[0] ?? "").port);
          if (port > 0) return port;
        } catch {
          // Written but not complete yet; read again.
        }
      }
      if (Date.now() > deadline) throw new Error(`nats-server ${this.#spec.name} did not report its ports:\n${this.#output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Deletes every stream (KV buckets and object stores included) whose name starts with `prefix`, `KV_<prefix>` or `OBJ_<prefix>`. */
export async function deleteStreams(urls: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: urls.split(","), timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    const owned = names.filter((name) => [prefix, `KV_${prefix}`, `OBJ_${prefix}`].some((start) => name.startsWith(start)));
    await Promise.all(owned.map((name) => jsm.streams.delete(name)));
  } finally {
    await nc.close();
  }
}
