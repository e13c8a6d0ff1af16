/**
 * Gateway credentials: from TFAAS_USER/TFAAS_PASSWORD when set, else the login saved by
 * `tfaas login` in `<config dir>/config.json`, keyed by gateway URL. The file holds passwords in
 * clear text, as docker's and faas-cli's do; its protection is its mode (0600, directory 0700),
 * which guards against other local users but not against anyone who can act as this user.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { Defaults } from "../shared/constants.js";
import { TfaasError } from "../shared/errors.js";

export interface Credentials {
  user: string;
  password: string;
}

const credentialsSchema = z.object({ user: z.string().min(1), password: z.string() });
const configSchema = z.object({ auths: z.record(z.string(), credentialsSchema) });
type ConfigFile = z.infer<typeof configSchema>;

type Env = Readonly<Record<string, string | undefined>>;

export function configDir(env: Env): string {
  const fromEnv = env.TFAAS_CONFIG_DIR;
  if (fromEnv !== undefined && fromEnv !== "") return resolve(fromEnv);
  return join(env.HOME ?? homedir(), ".tfaas");
}

export function configFilePath(env: Env): string {
  return join(configDir(env), "config.json");
}

async function readConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return { auths: {} };
    throw new TfaasError("internal", `Cannot read the config file ${path}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TfaasError("invalid-request", `Cannot read the config file ${path}: it is not valid JSON; fix or delete it`, { cause });
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    throw new TfaasError("invalid-request", `Cannot read the config file ${path}: unexpected content; fix or delete it`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Replaces the file atomically (write a private temporary file, then rename), so a crash never leaves half a file. */
async function writeConfig(env: Env, config: ConfigFile): Promise<string> {
  const dir = configDir(env);
  const path = configFilePath(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.config.json.${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(temporary, JSON.stringify(config, null, 2) + "\n", { mode: 0o600, flag: "wx" });
    // The umask can only remove bits, but say it explicitly: the file must never be readable by others.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (cause) {
    await rm(temporary, { force: true });
    throw new TfaasError("internal", `Cannot write the config file ${path}: ${(cause as Error).message}`, { cause });
  }
  return path;
}

/** Saves a login for one gateway and returns the config file's path. */
export async function saveLogin(env: Env, gatewayUrl: string, credentials: Credentials): Promise<string> {
  const config = await readConfig(configFilePath(env));
  config.auths[gatewayUrl] = { user: credentials.user, password: credentials.password };
  return writeConfig(env, config);
}

/** Forgets the login for one gateway; answers whether there was one. */
export async function removeLogin(env: Env, gatewayUrl: string): Promise<boolean> {
  const config = await readConfig(configFilePath(env));
  if (!Object.hasOwn(config.auths, gatewayUrl)) return false;
  delete config.auths[gatewayUrl];
  await writeConfig(env, config);
  return true;
}

/** The credentials to send to a gateway, or undefined when none are known (the gateway will answer 401). */
export async function resolveCredentials(env: Env, gatewayUrl: string): Promise<Credentials | undefined> {
  const password = env.TFAAS_PASSWORD;
  if (password !== undefined && password !== "") {
    const user = env.TFAAS_USER;
    return { user: user !== undefined && user !== "" ? user : Defaults.adminUser, password };
  }
  const config = await readConfig(configFilePath(env));
  return config.auths[gatewayUrl];
}
