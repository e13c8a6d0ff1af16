/**
 * The function model: OpenFaaS' FunctionDeployment (what clients send) and FunctionStatus
 * (what they get back), plus the record the store keeps. Field names are OpenFaaS' camelCase.
 */
import { z } from "zod";
import { DEFAULT_NAMESPACE } from "./constants.js";

/** DNS-1123 label, as Kubernetes and OpenFaaS require for function and secret names. */
export const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const nameSchema = z
  .string()
  .max(63, "must be at most 63 characters")
  .regex(DNS1123, "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit");

const stringMap = z.record(z.string(), z.string());
const resources = z.object({ memory: z.string().optional(), cpu: z.string().optional() }).strict();

export const functionDeploymentSchema = z.object({
  service: nameSchema,
  image: z.string().min(1, "must name an artifact (sha256:<hex>)"),
  namespace: z.string().optional(),
  envProcess: z.string().optional(),
  envVars: stringMap.optional(),
  constraints: z.array(z.string()).optional(),
  secrets: z.array(nameSchema).optional(),
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
  limits: resources.optional(),
  requests: resources.optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
});
export type FunctionDeployment = z.infer<typeof functionDeploymentSchema>;

/** What the store keeps for a function. */
export interface FunctionRecord {
  name: string;
  namespace: string;
  deployment: FunctionDeployment;
  /** RFC 3339. */
  createdAt: string;
  /** Desired replicas: how many workers keep the function compiled and warm. */
  replicas: number;
  /** Incremented on every update, so workers know when their cached copy is stale. */
  revision: number;
}

/** What GET /system/functions answers per function: the deployment's fields plus live state. */
export type FunctionStatus = Omit<FunctionDeployment, "service" | "namespace" | "labels"> & {
  name: string;
  namespace: string;
  /** The deployment's labels plus `faas_function`, as OpenFaaS reports them. */
  labels: Record<string, string>;
  invocationCount: number;
  replicas: number;
  availableReplicas: number;
  /** RFC 3339. */
  createdAt: string;
};

export function qualifiedName(name: string, namespace: string = DEFAULT_NAMESPACE): string {
  return `${name}.${namespace}`;
}
