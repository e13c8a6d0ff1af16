/**
 * The dispatcher runs queued calls: per function in arrival order, with at most
 * `concurrency` calls of one function and `globalConcurrency` calls in all running at once.
 * An attempt answering 429 or 5xx is retried after a capped exponential backoff until the
 * function's attempts are used up; while a call waits for its retry, later calls of the same
 * function may start. Finished calls hand their callback to the CallbackSender, and a periodic
 * sweep removes results past retention.
 *
 * It keeps in memory only which functions have work and what runs; the queue is the truth, so
 * a restart picks up where the last process stopped (calls it left running run again).
 */
import { TfaasError, type ErrorCode } from "../shared/errors.js";
import { log } from "../shared/log.js";
import { backoffDelayMs, type Backoff } from "./backoff.js";
import { settleWithin, type CallbackSender } from "./callbacks.js";
import type { FunctionLimits } from "./limits.js";
import type { CallResult, Claim, ClaimedCall, Queue } from "./queue.js";

/** Runs attempts; the gateway implements it on its Invoker. */
export interface CallRunner {
  /** One attempt. Never throws for function or platform failures: they are results with a status. */
  run(call: ClaimedCall): Promise<CallResult>;
  /** The function's limits (the platform defaults when it no longer exists). */
  limits(name: string, namespace: string): FunctionLimits;
}

export interface DispatcherOptions {
  queue: Queue;
  runner: CallRunner;
  callbacks: CallbackSender;
  globalConcurrency: number;
  retry: Backoff;
  /** Finished calls are kept this long, then swept. */
  retentionMs: number;
  sweepIntervalMs: number;
  now?: () => number;
}

/** Failures of the queue's backing service that pass; anything else is an answer. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set(["unavailable", "internal", "timeout"]);

interface Due {
  name: string;
  namespace: string;
  readyAt: number;
}

export class Dispatcher {
  readonly #options: DispatcherOptions;
  readonly #now: () => number;
  /** Functions that may have queued calls. Replaced, never mutated, when notified, so a stale claim result cannot drop fresh news. */
  readonly #due = new Map<string, Due>();
  readonly #running = new Map<string, number>();
  #total = 0;
  readonly #active = new Set<Promise<void>>();
  #pumping = false;
  #again = false;
  #accepting = false;
  /** Set after stop's drain: late outcomes are left for the next start (their calls stay `running`, then requeue). */
  #abandoned = false;
  #wake: NodeJS.Timeout | undefined;
  #wakeAt = Infinity;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.#accepting = true;
    for (const waiting of await this.#options.queue.waiting()) {
      this.#due.set(keyOf(waiting.name, waiting.namespace), { ...waiting });
    }
    await this.#options.callbacks.resume();
    this.#sweeper = setInterval(() => void this.sweep(), this.#options.sweepIntervalMs);
    this.#sweeper.unref();
    void this.#pump();
  }

  /** Tells the dispatcher a call of the function was just enqueued. */
  notify(name: string, namespace: string): void {
    if (!this.#accepting) return;
    this.#due.set(keyOf(name, namespace), { name, namespace, readyAt: this.#now() });
    void this.#pump();
  }

  /** Removes results past retention now (also runs periodically). */
  async sweep(): Promise<number> {
    try {
      return await this.#options.queue.sweep(this.#now() - this.#options.retentionMs);
    } catch (error) {
      if (this.#accepting) log.error("cannot sweep finished async calls", { error });
      return 0;
    }
  }

  /** Calls running now. */
  get running(): number {
    return this.#total;
  }

  /**
   * Stops starting calls and waits up to `drainMs` for those running to finish and be recorded.
   * Calls still running after that stay `running` in the queue and run again at the next start.
   */
  async stop(drainMs: number): Promise<void> {
    this.#accepting = false;
    clearTimeout(this.#wake);
    clearInterval(this.#sweeper);
    await Promise.all([settleWithin([...this.#active], drainMs), this.#options.callbacks.stop(drainMs)]);
    this.#abandoned = true;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        let round: { again: boolean; at: number };
        do round = await this.#claimRound();
        while (this.#accepting && round.again);
        this.#armWake(round.at);
      } while (this.#again && this.#accepting);
    } catch (error) {
      if (this.#accepting) log.error("cannot dispatch async calls", { error });
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Claims, in one batch, a call for every free slot of every function ready `at` the round's
   * start. Answers `again` when another round may start more: a call started, or a claim came
   * back empty and gave back a global slot that a function was denied in this round.
   */
  async #claimRound(): Promise<{ again: boolean; at: number }> {
    const { queue, runner, globalConcurrency } = this.#options;
    const now = this.#now();
    const claims: Array<Promise<{ key: string; due: Due; limits: FunctionLimits; claim: Claim }>> = [];
    let denied = false;
    for (const [key, due] of this.#due) {
      // No slot left: every function from here on is denied (no need to look up its limits).
      if (this.#total >= globalConcurrency) {
        denied = true;
        break;
      }
      if (due.readyAt > now) continue;
      const limits = runner.limits(due.name, due.namespace);
      const free = limits.concurrency - (this.#running.get(key) ?? 0);
      const slots = Math.min(free, globalConcurrency - this.#total);
      if (slots < free) denied = true;
      for (let i = 0; i < slots; i++) {
        this.#reserve(key);
        claims.push(
          queue.claim(due.name, due.namespace, now).then(
            (claim) => ({ key, due, limits, claim }),
            (error: unknown) => {
              this.#release(key);
              throw error;
            },
          ),
        );
      }
    }
    if (claims.length === 0) return { again: false, at: now };
    let started = false;
    let gaveBack = false;
    for (const { key, due, limits, claim } of await Promise.all(claims)) {
      if (claim.call !== undefined) {
        started = true;
        this.#launch(key, claim.call, limits);
        // Round robin: a function that just got a slot goes to the back, so when the global
        // limit is what binds, busy functions cannot starve the others.
        const current = this.#due.get(key);
        if (current !== undefined) {
          this.#due.delete(key);
          this.#due.set(key, current);
        }
        continue;
      }
      this.#release(key);
      gaveBack = true;
      if (this.#due.get(key) !== due) continue;
      if (claim.nextReadyAt === undefined) this.#due.delete(key);
      else due.readyAt = claim.nextReadyAt;
    }
    return { again: started || (gaveBack && denied), at: now };
  }

  #launch(key: string, call: ClaimedCall, limits: FunctionLimits): void {
    const task = this.#execute(call, limits)
      .catch((error: unknown) => {
        if (!this.#abandoned) log.error("cannot record an async call's outcome", { call: call.callId, error });
      })
      .finally(() => {
        this.#release(key);
        this.#active.delete(task);
        if (this.#accepting) void this.#pump();
      });
    this.#active.add(task);
  }

  async #execute(call: ClaimedCall, limits: FunctionLimits): Promise<void> {
    const { queue, runner, retry, callbacks } = this.#options;
    const result = await runner.run(call);
    if (this.#abandoned) return;
    const now = this.#now();
    const retryable = result.statusCode === 429 || result.statusCode >= 500;
    if (retryable && call.attempts < limits.maxAttempts) {
      const notBefore = now + backoffDelayMs(call.attempts, retry);
      await this.#record(call.callId, () => queue.retry(call.callId, result, notBefore));
      const key = keyOf(call.name, call.namespace);
      const readyAt = Math.min(this.#due.get(key)?.readyAt ?? Infinity, notBefore);
      // A new entry, not a change to the old one: a claim round still waiting for the queue
      // compares entries by identity, and would otherwise drop this one when its claim comes
      // back empty (taken before this retry was recorded), and the retry would never run.
      this.#due.set(key, { name: call.name, namespace: call.namespace, readyAt });
      return;
    }
    await this.#record(call.callId, () => queue.finish(call.callId, result.statusCode < 400 ? "succeeded" : "failed", result, now));
    if (call.callbackUrl !== undefined) callbacks.schedule(call.callId, now);
  }

  /**
   * Records an attempt's outcome, trying again while the queue is briefly unavailable (a
   * JetStream leader moving, say): given up, the call would stay `running` under this
   * process's lease until it stops. Refusals (`conflict`: the call is no longer ours) are final.
   */
  async #record(callId: string, write: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const transient = error instanceof TfaasError && TRANSIENT.has(error.code);
        if (!transient || !this.#accepting || this.#abandoned) throw error;
        log.warn("cannot record an async call's outcome yet; trying again", { call: callId, attempt, error });
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** Math.min(attempt, 6))));
      }
    }
  }

  #reserve(key: string): void {
    this.#running.set(key, (this.#running.get(key) ?? 0) + 1);
    this.#total++;
  }

  #release(key: string): void {
    const left = (this.#running.get(key) ?? 1) - 1;
    if (left === 0) this.#running.delete(key);
    else this.#running.set(key, left);
    this.#total--;
  }

  /**
   * Wakes the pump when the earliest function not ready at `since` (the last round's start)
   * becomes ready. Counted from the round's start, not from now: a claim answers with the next
   * ready time after the round's start, which may have passed by the time the round ends.
   * Functions ready at `since` and not claimed are waiting for a slot: a finishing call pumps.
   */
  #armWake(since: number): void {
    if (!this.#accepting) return;
    let earliest = Infinity;
    for (const due of this.#due.values()) if (due.readyAt > since && due.readyAt < earliest) earliest = due.readyAt;
    if (earliest === this.#wakeAt) return;
    clearTimeout(this.#wake);
    this.#wakeAt = earliest;
    if (earliest === Infinity) return;
    this.#wake = setTimeout(() => {
      this.#wakeAt = Infinity;
      void this.#pump();
    }, Math.max(0, earliest - this.#now()));
    this.#wake.unref();
  }
}

function keyOf(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}
