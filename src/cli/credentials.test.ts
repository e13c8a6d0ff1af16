import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configDir, configFilePath, removeLogin, resolveCredentials, saveLogin } from "./credentials.js";

describe("credentials", () => {
  let home: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "tfaas-credentials-"));
    env = { TFAAS_CONFIG_DIR: join(home, "config") };
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("uses TFAAS_CONFIG_DIR, else ~/.tfaas", () => {
    expect(configDir(env)).toBe(join(home, "config"));
    expect(configDir({ HOME: "/home/someone" })).toBe("/home/someone/.tfaas");
    expect(configFilePath(env)).toBe(join(home, "config", "config.json"));
  });

  it("saves logins per gateway URL in a file only its owner can read", async () => {
    const path = await saveLogin(env, "http://a:8080", { user: "admin", password: "pw-a" });
    await saveLogin(env, "http://b:8080", { user: "ops", password: "pw-b" });
    expect(path).toBe(configFilePath(env));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(configDir(env))).mode & 0o777).toBe(0o700);
    expect(await resolveCredentials(env, "http://a:8080")).toEqual({ user: "admin", password: "pw-a" });
    expect(await resolveCredentials(env, "http://b:8080")).toEqual({ user: "ops", password: "pw-b" });
    expect(await resolveCredentials(env, "http://c:8080")).toBeUndefined();
  });

  it("tightens a config file that was readable by others when it is rewritten", async () => {
    await mkdir(configDir(env), { recursive: true });
    await writeFile(configFilePath(env), JSON.stringify({ auths: {} }), { mode: 0o644 });
    await saveLogin(env, "http://a:8080", { user: "admin", password: "pw" });
    expect((await stat(configFilePath(env))).mode & 0o777).toBe(0o600);
  });

  it("prefers TFAAS_USER/TFAAS_PASSWORD over the saved login, with admin as the default user", async () => {
    await saveLogin(env, "http://a:8080", { user: "saved", password: "saved-pw" });
    expect(await resolveCredentials({ ...env, TFAAS_USER: "ci", TFAAS_PASSWORD: "env-pw" }, "http://a:8080")).toEqual({ user: "ci", password: "env-pw" });
    expect(await resolveCredentials({ ...env, TFAAS_PASSWORD: "env-pw" }, "http://a:8080")).toEqual({ user: "admin", password: "env-pw" });
    expect(await resolveCredentials({ ...env, TFAAS_USER: "ci" }, "http://a:8080")).toEqual({ user: "saved", password: "saved-pw" });
  });

  it("forgets one gateway's login and keeps the others", async () => {
    await saveLogin(env, "http://a:8080", { user: "admin", password: "pw-a" });
    await saveLogin(env, "http://b:8080", { user: "admin", password: "pw-b" });
    expect(await removeLogin(env, "http://a:8080")).toBe(true);
    expect(await removeLogin(env, "http://a:8080")).toBe(false);
    expect(await resolveCredentials(env, "http://a:8080")).toBeUndefined();
    expect(JSON.parse(await readFile(configFilePath(env), "utf8"))).toEqual({ auths: { "http://b:8080": { user: "admin", password: "pw-b" } } });
  });

  it("explains a damaged config file without printing its content", async () => {
    await mkdir(configDir(env), { recursive: true });
    await writeFile(configFilePath(env), '{"auths": {"http://a": {"password": "leaky"}}');
    await expect(resolveCredentials(env, "http://a")).rejects.toThrow(/not valid JSON; fix or delete it$/);
    await writeFile(configFilePath(env), '{"auths": {"http://a": {"password": "leaky"}}}');
    const error = await resolveCredentials(env, "http://a").catch((caught: unknown) => caught as Error);
    expect((error as Error).message).toContain("unexpected content");
    expect((error as Error).message).not.toContain("leaky");
  });
});
