/**
 * The simulated platform key: an Ed25519 private key in `<data-dir>/tee-sim-platform.key`
 * (PKCS#8 PEM, mode 0600), created once and atomically (temporary file, then a hard link that
 * fails rather than overwrites when another process won the race).
 *
 * Guarantee stops here: this key sits on the host's disk. Anyone who can read the file (the
 * operator, root, a backup) can sign sim evidence for any measurement and any keys.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { TfaasError } from "../../shared/errors.js";
import { createFileOnce } from "../../shared/files.js";
import { rawEd25519PublicKey } from "./evidence.js";

export const SIM_PLATFORM_KEY_FILE = "tee-sim-platform.key";

export interface SimPlatformKey {
  privateKey: KeyObject;
  /** Raw Ed25519 public key (32 bytes): what verifiers pin as the sim trust anchor. */
  publicKey: Uint8Array;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

export async function loadOrCreateSimPlatformKey(dataDir: string): Promise<SimPlatformKey> {
  const path = join(dataDir, SIM_PLATFORM_KEY_FILE);
  try {
    return await readKey(path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
  }
  await fs.mkdir(dataDir, { recursive: true });
  // Another process may create the key first; then theirs is the key.
  // Encoded by the keygen call itself: exporting a generated KeyObject can deadlock Node 20 (src/crypto/keys.ts).
  const { privateKey } = generateKeyPairSync("ed25519", { privateKeyEncoding: { format: "pem", type: "pkcs8" }, publicKeyEncoding: { format: "der", type: "spki" } });
  await createFileOnce(path, privateKey);
  return readKey(path);
}

async function readKey(path: string): Promise<SimPlatformKey> {
  const handle = await fs.open(path, "r");
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new TfaasError("internal", `Cannot use sim platform key ${path}: current file type is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new TfaasError(
        "internal",
        `Cannot use sim platform key ${path}: current mode is ${(stat.mode & 0o777).toString(8).padStart(4, "0")}, but only its owner may access it (chmod 600)`,
      );
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(await handle.readFile());
    } catch (error) {
      throw new TfaasError("internal", `Cannot use sim platform key ${path}: current content is not a PEM private key`, { cause: error });
    }
    if (privateKey.asymmetricKeyType !== "ed25519") {
      throw new TfaasError("internal", `Cannot use sim platform key ${path}: current key type is ${privateKey.asymmetricKeyType ?? "unknown"}, expected ed25519`);
    }
    return { privateKey, publicKey: rawEd25519PublicKey(createPublicKey(privateKey)) };
  } finally {
    await handle.close();
  }
}
