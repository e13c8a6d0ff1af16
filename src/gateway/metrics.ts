/** Prometheus metrics under OpenFaaS' names (so its dashboards and alerts carry over), plus TFaaS' own. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface GatewayMetrics {
  registry: Registry;
  invocationStarted: Counter<"function_name">;
  invocationTotal: Counter<"function_name" | "code">;
  functionSeconds: Histogram<"function_name" | "code">;
  serviceCount: Gauge<"function_name">;
  workerRestarts: Counter<"instance">;
  fuel: Counter<"function_name">;
  ioBytes: Counter<"function_name" | "direction">;
  memoryPeakBytes: Histogram<"function_name">;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tfaas_gateway_" });
  return {
    registry,
    invocationStarted: new Counter({
      name: "gateway_function_invocation_started",
      help: "Function invocations started",
      labelNames: ["function_name"],
      registers: [registry],
    }),
    invocationTotal: new Counter({
      name: "gateway_function_invocation_total",
      help: "Function invocations completed, by status code",
      labelNames: ["function_name", "code"],
      registers: [registry],
    }),
    functionSeconds: new Histogram({
      name: "gateway_functions_seconds",
      help: "Function invocation duration in seconds",
      labelNames: ["function_name", "code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    serviceCount: new Gauge({
      name: "gateway_service_count",
      help: "Desired replicas per function",
      labelNames: ["function_name"],
      registers: [registry],
    }),
    workerRestarts: new Counter({
      name: "tfaas_worker_restarts_total",
      help: "Worker processes replaced after they stopped",
      labelNames: ["instance"],
      registers: [registry],
    }),
    fuel: new Counter({
      name: "tfaas_function_fuel_total",
      help: "Fuel (weighted WebAssembly instructions) consumed by calls",
      labelNames: ["function_name"],
      registers: [registry],
    }),
    ioBytes: new Counter({
      name: "tfaas_function_io_bytes_total",
      help: "Bytes crossing the WASI boundary, by direction (in: stdin and files read; out: stdout and stderr)",
      labelNames: ["function_name", "direction"],
      registers: [registry],
    }),
    memoryPeakBytes: new Histogram({
      name: "tfaas_function_memory_peak_bytes",
      help: "Peak linear memory per call",
      labelNames: ["function_name"],
      buckets: [65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864, 268_435_456, 1_073_741_824],
      registers: [registry],
    }),
  };
}
