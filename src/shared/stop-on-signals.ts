/** How a long-running process (`tfaas up`, `tfaas worker`) stops on SIGINT or SIGTERM. */
import { log } from "./log.js";

/**
 * On the first SIGINT or SIGTERM: logs `messages.stopping`, runs `close`, and exits 0, or 1 after
 * logging `messages.failed` when closing fails. Signals that arrive while it closes are ignored.
 */
export function stopOnSignals(close: () => Promise<void>, messages: { stopping: string; failed: string }): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(messages.stopping, { signal });
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error(messages.failed, { error });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
