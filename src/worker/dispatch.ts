/**
 * Dispatch: what the gateway needs from the workers, whatever connects them. The embedded
 * WorkerPool (child processes over IPC) and the distributed NATS dispatch (src/distributed)
 * both provide it; FunctionRegistry, Invoker and the attestation route use only this.
 */
import type { WireEvidence, WorkerIdentityInfo } from "../attestation/index.js";
import type { InvocationRequest } from "../sandbox/index.js";
import type { TfaasError } from "../shared/errors.js";
import type { FunctionSpec, WireResult } from "./protocol.js";

export interface WorkerAttestationReply {
  instance: string;
  identity?: WorkerIdentityInfo;
  evidence?: WireEvidence;
  error?: TfaasError;
}

export interface Dispatch {
  /** Starts the workers (or joins them); the gateway awaits it before restoring functions. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** Keeps `spec` ready on `replicas` workers; answers how many hold it. */
  place(id: string, spec: FunctionSpec, replicas: number): number;
  remove(id: string): void;
  /** Workers that can run the function now. */
  availableReplicas(id: string): number;
  /** One call on a worker; platform failures reject with `unavailable`, `timeout` or `worker-crashed`. */
  invoke(id: string, request: InvocationRequest, timeoutMs: number): Promise<WireResult & { instance: string }>;
  /** Evidence from every reachable worker binding its keys to `nonce`; failures listed per worker. */
  attest(nonce: Uint8Array, timeoutMs: number): Promise<WorkerAttestationReply[]>;
}
