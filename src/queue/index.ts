/**
 * Asynchronous invocations: the Queue interface and its embedded SQLite implementation, the
 * Dispatcher that runs queued calls with bounded concurrency and retries, callback delivery
 * and the policy that says where callbacks may go.
 */
export type {
  CallRecord,
  CallRequest,
  CallResult,
  CallState,
  CallbackRecord,
  CallbackState,
  Claim,
  ClaimedCall,
  FinishedState,
  NewCall,
  Queue,
  WaitingFunction,
} from "./queue.js";
export { openSqliteQueue, type SqliteQueueOptions } from "./sqlite/index.js";
export { Dispatcher, type CallRunner, type DispatcherOptions } from "./dispatcher.js";
export { CallbackSender, CallbackHeaders, type CallbackOptions } from "./callbacks.js";
export {
  CallbackPolicy,
  ADDRESS_GROUPS,
  DISTRIBUTED_CALLBACK_RULES,
  EMBEDDED_CALLBACK_RULES,
  type CallbackPolicyRules,
  type CallbackTarget,
  type ResolvedAddress,
  type Resolver,
} from "./callback-policy.js";
export { AsyncAnnotations, functionLimits, type FunctionLimits } from "./limits.js";
export type { Backoff } from "./backoff.js";
