/** What the platform keeps: everything survives a crash (SIGKILL) and a clean stop, and no process is left behind. */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deploy, startPlatform, watFixture } from "./harness.js";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "tfaas-restart-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("restart persistence", () => {
  it("keeps functions, secrets, artifacts and logs across SIGKILL and SIGTERM", async () => {
    const first = await startPlatform({ dataDir, workers: 1 });
    let workers: number[] = [];
    try {
      const digest = await deploy(first, "keeper", await watFixture("trap"), { envVars: { K: "v" } });
      await first.api("/system/secrets", { method: "POST", body: JSON.stringify({ name: "kept", value: "v" }) });
      expect((await fetch(first.url + "/function/keeper", { method: "POST" })).status).toBe(500);
      // Logs are written in batches (a crash loses at most the last ~20 ms); reading them flushes.
      expect(await (await first.api("/system/logs?name=keeper")).text()).toContain("about to trap");
      workers = first.workerPids();
      await first.stop("SIGKILL");
      // Workers notice the gateway is gone and exit on their own.
      const deadline = Date.now() + 5000;
      while (workers.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(workers.filter(alive)).toEqual([]);

      const second = await startPlatform({ dataDir, workers: 1 });
      try {
        const status = (await (await second.api("/system/function/keeper")).json()) as { image: string; envVars: Record<string, string> };
        expect(status.image).toBe(digest);
        expect(status.envVars).toEqual({ K: "v" });
        expect(await (await second.api("/system/secrets")).json()).toEqual([{ name: "kept", namespace: "openfaas-fn" }]);
        expect(await (await second.api("/system/logs?name=keeper")).text()).toContain("about to trap");
        expect((await fetch(second.url + "/function/keeper", { method: "POST" })).status).toBe(500);
        const ourWorkers = second.workerPids();
        await second.stop("SIGTERM");
        expect(second.process.exitCode).toBe(0);
        expect(ourWorkers.filter(alive)).toEqual([]);
      } finally {
        await second.dispose();
      }
    } finally {
      await first.dispose();
    }
  });

  it("generates an admin password once and keeps it private", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tfaas-pw-"));
    try {
      const platform = await startPlatform({ dataDir: dir, workers: 1, env: { TFAAS_ADMIN_PASSWORD: "" } });
      try {
        expect(platform.output()).toContain(`Admin password: kept in ${path.join(dir, "admin-password")}`);
        expect(statSync(path.join(dir, "admin-password")).mode & 0o777).toBe(0o600);
      } finally {
        await platform.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
