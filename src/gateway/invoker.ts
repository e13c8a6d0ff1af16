/**
 * Runs one call of a function on the workers and turns every outcome — success, function
 * failure, platform failure — into a response, with metrics and logs. Shared by synchronous
 * invocation and the async queue.
 */
import type { WireReceipt } from "../attestation/index.js";
import { RECEIPT_HEADER } from "../crypto/index.js";
import type { InvocationRequest, InvocationUsage } from "../sandbox/index.js";
import type { UsageRecord } from "../store/index.js";
import { Headers } from "../shared/constants.js";
import { TfaasError, asTfaasError } from "../shared/errors.js";
import type { Dispatch } from "../worker/dispatch.js";
import type { BatchWriter } from "./batch-writer.js";
import { ohttpKeyProblem, ohttpRouteOf } from "./confidential-route.js";
import type { FunctionRegistry, LiveFunction } from "./functions.js";
import type { FunctionLogs } from "./logs.js";
import type { GatewayMetrics } from "./metrics.js";

export interface CallOutcome {
  status: number;
  /** Response headers, lower-case names, including `x-tfaas-error` for failures. */
  headers: Record<string, string>;
  body: Uint8Array | string;
  seconds: number;
}

export interface InvokerDeps {
  registry: FunctionRegistry;
  dispatch: Dispatch;
  logs: FunctionLogs;
  metrics: GatewayMetrics;
  usage: BatchWriter<UsageRecord>;
}

export class Invoker {
  constructor(private readonly deps: InvokerDeps) {}

  /** `readBody` runs once the call holds its in-flight slot, so a body over the limit is counted like any failure. */
  async call(fn: LiveFunction, request: Omit<InvocationRequest, "body">, readBody: () => Promise<Uint8Array>, callId: string): Promise<CallOutcome> {
    const { registry, dispatch, logs, metrics, usage } = this.deps;
    const started = process.hrtime.bigint();
    const max = fn.settings.maxInflight;
    if (max !== undefined && fn.inflight >= max) {
      return failed(new TfaasError("too-many-requests", `Cannot invoke ${fn.record.name}: ${max} calls already in flight (max_inflight)`), started);
    }
    const label = fn.id;
    fn.inflight++;
    metrics.invocationStarted.labels(label).inc();
    let outcome: CallOutcome;
    try {
      const body = await readBody();
      const route = ohttpRouteOf(fn.record.name, fn.settings.confidential, request.headers["content-type"], body, dispatch.ohttpKeys !== undefined);
      if (fn.record.replicas === 0) await registry.scale(fn, 1);
      const result = await dispatch.invoke(fn.id, { ...request, body }, fn.settings.execTimeoutMs, route);
      if (result.stderr) logs.record(fn.record.name, fn.record.namespace, result.instance, result.stderr);
      const headers = result.headers;
      if (!Object.keys(headers).some((key) => key.toLowerCase() === "content-type")) {
        headers["content-type"] = fn.settings.contentType ?? request.headers["content-type"] ?? "text/plain; charset=utf-8";
      }
      if (result.error) headers[Headers.error] = result.error.code;
      Object.assign(headers, usageHeaders(result.usage));
      // Only the worker's signer speaks here: a function cannot set this header itself.
      delete headers[RECEIPT_HEADER];
      if (result.receipt) headers[RECEIPT_HEADER] = result.receipt.header;
      outcome = { status: result.status, headers, body: result.body, seconds: elapsed(started) };
      this.account(fn, callId, result.instance, outcome, result.usage, result.receipt);
    } catch (error) {
      const failure = asTfaasError(error);
      if (failure.code === "timeout" || failure.code === "worker-crashed" || failure.code === "internal") {
        logs.record(fn.record.name, fn.record.namespace, "gateway", `call ${callId} failed: ${failure.message}`);
      }
      outcome = failed(failure, started);
    } finally {
      fn.inflight--;
    }
    fn.invocations++;
    const code = String(outcome.status);
    metrics.invocationTotal.labels(label, code).inc();
    metrics.functionSeconds.labels(label, code).observe(outcome.seconds);
    return outcome;
  }

  /** Usage of a call that reached a worker: the ledger (batched) and the per-function counters. */
  private account(fn: LiveFunction, callId: string, instance: string, outcome: CallOutcome, used: InvocationUsage, receipt: WireReceipt | undefined): void {
    const { metrics, usage } = this.deps;
    if (used.fuel !== null) metrics.fuel.labels(fn.id).inc(Number(used.fuel));
    metrics.ioBytes.labels(fn.id, "in").inc(used.ioBytesIn);
    metrics.ioBytes.labels(fn.id, "out").inc(used.ioBytesOut);
    metrics.memoryPeakBytes.labels(fn.id).observe(used.memoryPeakBytes);
    usage.add({
      callId,
      name: fn.record.name,
      namespace: fn.record.namespace,
      timestamp: new Date().toISOString(),
      status: outcome.status,
      fuel: used.fuel === null ? null : used.fuel.toString(),
      memoryPeakBytes: used.memoryPeakBytes,
      ioBytesIn: used.ioBytesIn,
      ioBytesOut: used.ioBytesOut,
      wallSeconds: outcome.seconds,
      weightsVersion: used.weightsVersion,
      instance,
      ...(receipt !== undefined ? { receipt: receipt.header } : {}),
    });
  }
}

/** The documented usage headers (docs/api.md). */
function usageHeaders(usage: InvocationUsage): Record<string, string> {
  return {
    ...(usage.fuel !== null ? { [Headers.fuel]: usage.fuel.toString() } : {}),
    [Headers.memoryPeakBytes]: String(usage.memoryPeakBytes),
    [Headers.ioBytes]: String(usage.ioBytesIn + usage.ioBytesOut),
  };
}

function elapsed(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function failed(failure: TfaasError, started: bigint): CallOutcome {
  if (failure.code === "ohttp-key") {
    return { status: failure.status, headers: { "content-type": "application/problem+json", [Headers.error]: failure.code }, body: ohttpKeyProblem(failure.message), seconds: elapsed(started) };
  }
  return {
    status: failure.status,
    headers: { "content-type": "text/plain; charset=utf-8", [Headers.error]: failure.code },
    body: failure.message + "\n",
    seconds: elapsed(started),
  };
}
