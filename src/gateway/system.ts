/** The OpenFaaS management API: /system/functions, /system/function, /system/scale-function, /system/secrets, info. */
import { z } from "zod";
import { DEFAULT_NAMESPACE } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";
import { functionDeploymentSchema, nameSchema } from "../shared/function.js";
import type { Store } from "../store/index.js";
import { checkNamespace, type FunctionRegistry } from "./functions.js";
import { readJson, sendJson, sendText, type Context, type Route } from "./http.js";

/** Management bodies are small; a generous bound still stops a memory exhaustion attempt. */
const MAX_JSON_BYTES = 4 * 1024 * 1024;

const deleteSchema = z.object({ functionName: nameSchema, namespace: z.string().optional() });
const scaleSchema = z.object({
  serviceName: z.string().optional(),
  namespace: z.string().optional(),
  replicas: z.number().int().min(0).max(1000),
});
const secretSchema = z
  .object({
    name: nameSchema,
    namespace: z.string().optional(),
    value: z.string().optional(),
    rawValue: z.base64().optional(),
  })
  .refine((s) => s.value !== undefined || s.rawValue !== undefined, { message: "value or rawValue is required" });
const secretNameSchema = z.object({ name: nameSchema, namespace: z.string().optional() });

export interface SystemInfo {
  release: string;
  sha: string;
  /** `embedded` (one machine) or `nats` (distributed mode). */
  orchestration: "embedded" | "nats";
}

export function systemRoutes(registry: FunctionRegistry, store: Store, info: SystemInfo): Route[] {
  const namespaceOf = (ctx: Context) => checkNamespace(ctx.url.searchParams.get("namespace") ?? undefined);
  const secretValue = (body: { value?: string | undefined; rawValue?: string | undefined }) =>
    body.rawValue !== undefined ? Buffer.from(body.rawValue, "base64") : Buffer.from(body.value ?? "", "utf8");

  return [
    {
      pattern: /^\/system\/info$/,
      auth: true,
      methods: {
        GET: ({ res }) =>
          sendJson(res, 200, {
            provider: { provider: "tfaas", orchestration: info.orchestration, version: { release: info.release, sha: info.sha } },
            version: { release: info.release, sha: info.sha, commit_message: "" },
            arch: process.arch === "x64" ? "x86_64" : process.arch,
          }),
      },
    },
    {
      pattern: /^\/system\/namespaces$/,
      auth: true,
      methods: { GET: ({ res }) => sendJson(res, 200, [DEFAULT_NAMESPACE]) },
    },
    {
      pattern: /^\/system\/functions$/,
      auth: true,
      methods: {
        GET: (ctx) => {
          namespaceOf(ctx);
          sendJson(ctx.res, 200, registry.list().map((fn) => registry.status(fn)));
        },
        POST: async ({ req, res }) => {
          const deployment = await readJson(req, MAX_JSON_BYTES, functionDeploymentSchema, "deploy function");
          await registry.deploy(deployment, "create");
          res.writeHead(202).end();
        },
        PUT: async ({ req, res }) => {
          const deployment = await readJson(req, MAX_JSON_BYTES, functionDeploymentSchema, "update function");
          await registry.deploy(deployment, "update");
          res.writeHead(202).end();
        },
        DELETE: async ({ req, res }) => {
          const body = await readJson(req, MAX_JSON_BYTES, deleteSchema, "delete function");
          await registry.remove(body.functionName, checkNamespace(body.namespace));
          res.writeHead(202).end();
        },
      },
    },
    {
      pattern: /^\/system\/function\/([^/]+)$/,
      auth: true,
      methods: {
        GET: (ctx) => sendJson(ctx.res, 200, registry.status(registry.require(ctx.params[0]!, namespaceOf(ctx)))),
      },
    },
    {
      pattern: /^\/system\/scale-function\/([^/]+)$/,
      auth: true,
      methods: {
        POST: async (ctx) => {
          const body = await readJson(ctx.req, MAX_JSON_BYTES, scaleSchema, "scale function");
          const fn = registry.require(ctx.params[0]!, checkNamespace(body.namespace ?? ctx.url.searchParams.get("namespace") ?? undefined));
          await registry.scale(fn, body.replicas);
          ctx.res.writeHead(202).end();
        },
      },
    },
    {
      pattern: /^\/system\/secrets$/,
      auth: true,
      methods: {
        GET: async (ctx) => {
          const namespace = namespaceOf(ctx);
          const names = await store.secrets.list(namespace);
          sendJson(ctx.res, 200, names.map((name) => ({ name, namespace })));
        },
        POST: async ({ req, res }) => {
          const body = await readJson(req, MAX_JSON_BYTES, secretSchema, "create secret");
          await store.secrets.create(body.name, checkNamespace(body.namespace), secretValue(body));
          sendText(res, 201, "");
        },
        PUT: async ({ req, res }) => {
          const body = await readJson(req, MAX_JSON_BYTES, secretSchema, "update secret");
          await store.secrets.update(body.name, checkNamespace(body.namespace), secretValue(body));
          await registry.secretsChanged();
          sendText(res, 202, "");
        },
        DELETE: async ({ req, res }) => {
          const body = await readJson(req, MAX_JSON_BYTES, secretNameSchema, "delete secret");
          const namespace = checkNamespace(body.namespace);
          if (!(await store.secrets.remove(body.name, namespace))) {
            throw new TfaasError("secret-not-found", `Cannot delete secret ${body.name}: it does not exist`);
          }
          await registry.secretsChanged();
          sendText(res, 202, "");
        },
      },
    },
  ];
}
