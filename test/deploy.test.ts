/**
 * deploy/: the Kubernetes manifests parsed with the yaml package and the fields that matter
 * checked (probes, limits, non-root, the secrets key, NATS settings, Service ↔ pods), and the
 * Dockerfile's shape (multi-stage, built from the repository, not root).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "./harness.js";

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    ports?: Array<{ port: number; targetPort: string | number }>;
    template?: {
      metadata: { labels: Record<string, string> };
      spec: {
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        automountServiceAccountToken?: boolean;
        initContainers?: Container[];
        containers: Container[];
        volumes?: Array<{ name: string; secret?: { secretName: string; defaultMode?: number }; emptyDir?: { medium?: string } }>;
      };
    };
  };
}

const dir = path.join(repoRoot, "deploy", "kubernetes");

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(path.join(dir, file), "utf8")).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as Manifest;
  });
}

function only(list: Manifest[], kind: string): Manifest {
  const found = list.filter((manifest) => manifest.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** The port number a probe or Service names, by name or number. */
function portNumber(container: Container, port: string | number | undefined): number | undefined {
  if (typeof port === "number") return port;
  return container.ports?.find((entry) => entry.name === port)?.containerPort;
}

function checkPod(deployment: Manifest, containerName: string, healthPort: number): Container {
  const pod = deployment.spec!.template!.spec;
  expect(deployment.spec!.selector!.matchLabels).toEqual(
    Object.fromEntries(Object.entries(deployment.spec!.template!.metadata.labels).filter(([key]) => key in deployment.spec!.selector!.matchLabels!)),
  );
  expect(pod.securityContext?.runAsNonRoot).toBe(true);
  expect(pod.securityContext?.runAsUser).not.toBe(0);
  expect(pod.automountServiceAccountToken).toBe(false);
  const container = pod.containers.find((entry) => entry.name === containerName)!;
  expect(container).toBeDefined();
  for (const probe of [container.readinessProbe, container.livenessProbe]) {
    expect(probe?.httpGet?.path).toBe("/healthz");
    expect(portNumber(container, probe?.httpGet?.port)).toBe(healthPort);
  }
  expect(container.resources?.limits?.cpu).toBeDefined();
  expect(container.resources?.limits?.memory).toBeDefined();
  for (const each of [container, ...(pod.initContainers ?? [])]) {
    expect(each.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(each.securityContext?.capabilities?.drop).toContain("ALL");
  }
  expect(container.envFrom?.map((source) => source.configMapRef?.name)).toContain("tfaas-config");

  // The secrets key: a Secret mounted read-only into the init container, copied to a memory
  // volume the main container reads at TFAAS_SECRETS_KEY_FILE.
  const secretVolume = pod.volumes?.find((volume) => volume.secret !== undefined);
  expect(secretVolume?.secret).toEqual({ secretName: "tfaas-secrets-key", defaultMode: 0o400 });
  const init = pod.initContainers?.find((entry) => entry.volumeMounts?.some((mount) => mount.name === secretVolume!.name));
  expect(init?.command?.join(" ")).toMatch(/install -m 0400 .*secrets\.key \/run\/tfaas\/secrets\.key/);
  expect(container.volumeMounts?.some((mount) => mount.name === secretVolume!.name)).toBe(false);
  const run = pod.volumes?.find((volume) => volume.emptyDir?.medium === "Memory");
  expect(container.volumeMounts?.find((mount) => mount.name === run?.name)?.mountPath).toBe("/run/tfaas");
  return container;
}

describe("deploy/kubernetes", () => {
  const config = only(manifests("config.yaml"), "ConfigMap");
  const gateway = manifests("gateway.yaml");
  const worker = only(manifests("worker.yaml"), "Deployment");

  it("configures an existing NATS JetStream cluster with replicated streams and the mounted secrets key", () => {
    expect(config.metadata.name).toBe("tfaas-config");
    expect(config.data?.TFAAS_NATS_URL).toMatch(/^nats:\/\/[a-z0-9.-]+:4222$/);
    expect(config.data?.TFAAS_NATS_REPLICAS).toBe("3");
    expect(config.data?.TFAAS_SECRETS_KEY_FILE).toBe("/run/tfaas/secrets.key");
    const values = parseAllDocuments(readFileSync(path.join(dir, "nats-values.yaml"), "utf8"))[0]!.toJS() as {
      config: { cluster: { enabled: boolean; replicas: number }; jetstream: { enabled: boolean } };
    };
    expect(values.config.cluster).toEqual({ enabled: true, replicas: 3 });
    expect(values.config.jetstream.enabled).toBe(true);
  });

  it("runs gateways as a Deployment behind a Service, probed on /healthz", () => {
    const deployment = only(gateway, "Deployment");
    const container = checkPod(deployment, "gateway", 8080);
    expect(container.args?.slice(0, 1)).toEqual(["up"]);
    expect(container.args).toContain("0.0.0.0");
    expect(container.env?.find((entry) => entry.name === "TFAAS_ADMIN_PASSWORD")?.valueFrom?.secretKeyRef).toEqual({ name: "tfaas-admin", key: "password" });
    expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2);

    const service = only(gateway, "Service");
    const selector = service.spec!.selector as Record<string, string>;
    const podLabels = deployment.spec!.template!.metadata.labels;
    for (const [key, value] of Object.entries(selector)) expect(podLabels[key]).toBe(value);
    expect(service.spec!.ports?.map((port) => portNumber(container, port.targetPort))).toEqual([8080]);
  });

  it("runs workers as a Deployment with resource limits, probed on their /healthz listener", () => {
    const container = checkPod(worker, "worker", 8081);
    expect(container.args?.[0]).toBe("worker");
    const at = container.args!.indexOf("--health-port");
    expect(container.args?.[at + 1]).toBe("8081");
    expect(container.resources?.limits).toEqual({ cpu: "1", memory: "1Gi" });
  });

  it("lists every manifest in the kustomization, all for one image", () => {
    const kustomization = parseAllDocuments(readFileSync(path.join(dir, "kustomization.yaml"), "utf8"))[0]!.toJS() as { resources: string[]; images: Array<{ name: string }> };
    expect(kustomization.resources.sort()).toEqual(["config.yaml", "gateway.yaml", "worker.yaml"]);
    const images = new Set(
      [...gateway, worker].flatMap((manifest) => [...(manifest.spec?.template?.spec.containers ?? []), ...(manifest.spec?.template?.spec.initContainers ?? [])].map((c) => c.image.split(":")[0])),
    );
    expect([...images]).toEqual(kustomization.images.map((image) => image.name));
  });
});

describe("deploy/Dockerfile", () => {
  const text = readFileSync(path.join(repoRoot, "deploy", "Dockerfile"), "utf8");
  const instructions = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#") && line.trim() !== "")
    .join("\n")
    .replace(/\\\n/g, " ");

  it("builds in one stage and runs in another, as a non-root user, from the repository's sources", () => {
    const stages = [...instructions.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)];
    expect(stages).toHaveLength(2);
    expect(stages[0]![2]).toBe("build");
    expect(instructions).toMatch(/^COPY package\.json package-lock\.json/m);
    expect(instructions).toMatch(/^COPY src \.\/src$/m);
    expect(instructions).toMatch(/^RUN npm ci/m);
    const runtime = instructions.slice(stages[1]!.index);
    expect(runtime).not.toMatch(/apt-get install/);
    expect(runtime).toMatch(/^COPY --from=build \/src\/dist/m);
    const user = /^USER\s+(\S+)/m.exec(runtime)?.[1];
    expect(user).toBeDefined();
    expect(user!.split(":")[0]).not.toMatch(/^(0|root)$/);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "bin\/tfaas\.js"\]/m);
  });
});
