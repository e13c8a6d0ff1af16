/** A loopback receiver for async-call callbacks that says when a number of distinct calls have reported. */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface CallbackCounter {
  /** Where to point `X-Callback-Url`. */
  url: string;
  /** Starts counting afresh; resolves with performance.now() once `count` distinct call ids have called back. */
  expect(count: number): Promise<number>;
  close(): void;
}

export async function startCallbackCounter(): Promise<CallbackCounter> {
  let seen = new Set<string>();
  let target = Infinity;
  let done: ((at: number) => void) | undefined;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.add(String(req.headers["x-call-id"]));
      res.end();
      if (seen.size >= target && done) {
        done(performance.now());
        done = undefined;
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`,
    expect: (count) => {
      seen = new Set();
      target = count;
      return new Promise((resolve) => (done = resolve));
    },
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
