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

export interface FunctionStatus {
  name: string;
  image: string;
  namespace: string;
  envProcess?: string;
  envVars?: Record<string, string>;
  constraints?: string[];
  secrets?: string[];
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  limits?: { memory?: string; cpu?: string };
  requests?: { memory?: string; cpu?: string };
  readOnlyRootFilesystem?: boolean;
  invocationCount: number;
  replicas: number;
  availableReplicas: number;
  createdAt: string;
}

export function qualifiedName(name: string, namespace: string = DEFAULT_NAMESPACE): string {
  return `${name}.${namespace}`;
}
