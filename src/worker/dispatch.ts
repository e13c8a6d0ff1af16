/**
 * Dispatch: what the gateway needs from the workers, whatever connects them. The embedded
 * WorkerPool (child processes over IPC) and the distributed NATS dispatch (src/distributed)
 * both provide it; FunctionRegistry, Invoker and the attestation route use only this.
 */
import type { WireEvidence, WorkerIdentityInfo } from "../attestation/index.js";
import type { OhttpKeyConfig } from "../confidential/index.js";
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
  /**
   * One call on a worker; platform failures reject with `unavailable`, `timeout` or `worker-crashed`.
   * `route.ohttpKeyId`: a confidential call (docs/confidential.md) for the worker holding that key;
   * `ohttp-key` when none does.
   */
  invoke(id: string, request: InvocationRequest, timeoutMs: number, route?: { ohttpKeyId: number }): Promise<WireResult & { instance: string }>;
  /** The OHTTP key configurations of the workers that take confidential calls; absent: none do. */
  ohttpKeys?(): OhttpKeyConfig[];
  /** Evidence from every reachable worker binding its keys to `nonce`; failures listed per worker. */
  attest(nonce: Uint8Array, timeoutMs: number): Promise<WorkerAttestationReply[]>;
}
