/** `tfaas invoke --async` and `tfaas call status|wait|cancel`: the real binary against a real platform. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "./async-receiver.js";
import { platformEnv, runCli, type Run } from "./cli-runner.js";
import { deploy, startPlatform, watFixture, type Platform } from "./harness.js";

let platform: Platform;
let receiver: Receiver;

beforeAll(async () => {
  [platform, receiver] = await Promise.all([startPlatform({ workers: 1 }), startReceiver()]);
  await deploy(platform, "echo", await watFixture("echo"));
  await deploy(platform, "slow", await watFixture("async-slow"), { annotations: { "com.tfaas.limits.fuel": "100000000000" } });
});
afterAll(async () => {
  await platform?.dispose();
  await receiver?.close();
});

/** The CLI from the test's own directory, with the platform and its credentials in the environment. */
function tfaas(args: string[], stdin = ""): Promise<Run> {
  return runCli(args, { env: platformEnv(platform), stdin });
}

describe("tfaas async calls", () => {
  it("queues with --async, prints the id, waits for the result and shows the status", async () => {
    const queued = await tfaas(["invoke", "echo", "--async", "--callback-url", `${receiver.url}/cli`], "from the cli");
    expect(queued.code).toBe(0);
    const callId = queued.stdout.trim();
    expect(callId).toMatch(/^[0-9a-f-]{36}$/);
    const waited = await tfaas(["call", "wait", callId, "--timeout", "20s"]);
    expect(waited).toMatchObject({ code: 0, stdout: "from the cli" });
    const [delivery] = await receiver.waitFor(callId);
    expect(delivery!.body.toString()).toBe("from the cli");
    const json = await tfaas(["call", "status", callId, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ callId, function: "echo", state: "succeeded", attempts: 1, statusCode: 200 });
    const human = await tfaas(["call", "status", callId]);
    expect(human.stdout).toMatch(/^State:\s+succeeded$/m);
    expect(human.stdout).toMatch(/^Callback:\s+http:\/\/127\.0\.0\.1:\d+\/cli \((pending|delivered), 1 attempt\(s\)\)$/m);
  });

  it("cancels a queued call, refuses to cancel a running one, and gives up waiting at the timeout", async () => {
    // Calls run one at a time: these keep the queue busy for longer than the CLI processes below take.
    const blockers: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${platform.url}/async-function/slow`, { method: "POST", body: `5000 blocker ${i}` });
      blockers.push(res.headers.get("x-call-id")!);
    }
    const queued = (await tfaas(["invoke", "slow", "--async"], "1 queued")).stdout.trim();
    const timedOut = await tfaas(["call", "wait", queued, "--timeout", "50ms"]);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/Cannot wait for call .*: current state is queued after 50ms/);
    expect(await tfaas(["call", "cancel", queued])).toMatchObject({ code: 0, stdout: `Cancelled: ${queued}\n` });
    const cancelledWait = await tfaas(["call", "wait", queued]);
    expect(cancelledWait.code).toBe(1);
    expect(cancelledWait.stderr).toMatch(/current state is cancelled/);
    const refused = await tfaas(["call", "cancel", blockers[0]!]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/409.*current state is (running|succeeded)/);
    expect((await tfaas(["call", "status", "no-such-call"])).stderr).toMatch(/404/);
  });

  it("refuses --callback-url without --async and --async with another method", async () => {
    expect((await tfaas(["invoke", "echo", "--callback-url", "http://127.0.0.1:1/"])).stderr).toMatch(/add --async/);
    expect((await tfaas(["invoke", "echo", "--async", "-m", "GET"])).stderr).toMatch(/POST only/);
  });
});
