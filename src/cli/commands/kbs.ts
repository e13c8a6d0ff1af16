/**
 * `tfaas kbs`: the function owner's key broker. `serve` answers workers' key requests (deny by
 * default, every decision logged on stderr with its reason, never a key); `list` shows which
 * artifacts have keys and what their policies allow; `policy` replaces an artifact's policy.
 * Keys get there with `tfaas deploy --encrypt --kbs-dir <dir>`.
 */
import path from "node:path";
import type { Command } from "commander";
import { encodeSealedUpload } from "../../artifacts/index.js";
import { sealArtifact } from "../../confidential/index.js";
import { KeyBroker, KeyStore, serveKeyBroker } from "../../kbs/index.js";
import { Annotations } from "../../shared/constants.js";
import { TfaasError } from "../../shared/errors.js";
import { loadPolicy } from "../../tee/index.js";
import { configDir } from "../credentials.js";
import type { CliIo } from "../io.js";
import { writeJson } from "../output.js";
import { parseInteger } from "../parse-flags.js";
import { trustAnchorsOf, type VerifierFlags } from "./attest.js";

interface DirFlags {
  dir?: string;
}

/** Default `<config dir>/kbs`: the owner's machine, never the platform's. */
export function kbsDir(io: CliIo, flags: DirFlags): string {
  return path.resolve(io.cwd, flags.dir ?? path.join(configDir(io.env), "kbs"));
}

function dirOption(command: Command): Command {
  return command.option("--dir <dir>", "the broker's key directory (default: <config dir>/kbs)");
}

export function registerKbs(program: Command, io: CliIo): void {
  const kbs = program.command("kbs").description("the key broker that releases encrypted code's keys to attested workers");
  dirOption(
    kbs
      .command("serve")
      .description("serve key requests: keys are wrapped to a worker only when its fresh evidence satisfies the artifact's policy")
      .option("--port <port>", "port to listen on", parseInteger(0, 65535), 8400)
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--sim-platform-key <file>", "the sim platform key to trust, pinned out of band")
      .option("--amd-ark-ask <file>", "SEV-SNP: AMD's ASK and ARK (one PEM, ASK first)")
      .option("--amd-vcek <file>", "SEV-SNP: the chip's VCEK, when the host does not supply it")
      .option("--intel-root <file>", "TDX/SGX: Intel SGX Root CA (PEM or DER)")
      .option("--intel-tcb-info <file>", "TDX/SGX: PCS TCB info")
      .option("--intel-qe-identity <file>", "TDX/SGX: PCS QE identity")
      .option("--intel-tcb-signing-chain <file>", "TDX/SGX: TCB signing chain (PEM)")
      .option("--intel-root-crl <file>", "TDX/SGX: root CA CRL")
      .option("--intel-pck-crl <file>", "TDX/SGX: PCK CA CRL"),
  ).action(async (flags: DirFlags & VerifierFlags & { port: number; host: string }) => {
    const dir = kbsDir(io, flags);
    const broker = new KeyBroker({ keys: new KeyStore(dir), trustAnchors: await trustAnchorsOf(flags) });
    const server = await serveKeyBroker(broker, { port: flags.port, host: flags.host });
    io.stdout.write(`Key directory: ${dir}\nready: ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  });

  dirOption(kbs.command("list").description("artifacts with a key, and the TEE types their policies allow (never the keys)").option("--json", "print as JSON")).action(
    async (flags: DirFlags & { json?: boolean }) => {
      const store = new KeyStore(kbsDir(io, flags));
      const rows = [];
      for (const digest of await store.list()) {
        const entry = await store.get(digest);
        if (entry === undefined) continue;
        rows.push({ artifactDigest: digest, createdAt: entry.createdAt, allows: entry.policy === undefined ? [] : Object.keys(entry.policy.tee).filter((tee) => entry.policy!.tee[tee as keyof typeof entry.policy.tee] !== undefined), ...(entry.policyProblem !== undefined ? { policyProblem: entry.policyProblem } : {}) });
        entry.key.fill(0);
      }
      if (flags.json === true) return writeJson(io, rows);
      for (const row of rows) io.stdout.write(`${row.artifactDigest}  ${row.createdAt}  ${row.allows.length > 0 ? `allows ${row.allows.join(", ")}` : `DENIES ALL: ${row.policyProblem ?? "no policy"}`}\n`);
    },
  );

  dirOption(kbs.command("policy").description("replace the release policy of an artifact's key").argument("<digest>", "sha256:<hex> of the plaintext code").requiredOption("--policy <file>", "attestation policy (YAML or JSON)")).action(
    async (digest: string, flags: DirFlags & { policy: string }) => {
      const policy = await loadPolicy(flags.policy);
      await new KeyStore(kbsDir(io, flags)).setPolicy(digest, policy);
      io.stdout.write(`Policy of ${digest} replaced\n`);
    },
  );
}

export interface EncryptFlags extends DirFlags {
  encrypt?: boolean;
  kbs?: string;
  kbsDir?: string;
  kbsPolicy?: string;
}

/**
 * `tfaas deploy --encrypt`: seals the code here (AES-256-GCM, fresh key), puts the key and its
 * policy into the owner's broker directory, and returns the envelope to upload plus the annotation
 * naming the broker. The plaintext and the key never leave this machine, except the key to the broker.
 */
export async function sealForBroker(io: CliIo, code: Uint8Array, kind: "wasm" | "javascript", flags: EncryptFlags): Promise<{ envelope: Uint8Array<ArrayBuffer>; measurement: string; annotations: Record<string, string> }> {
  if (flags.kbs === undefined) throw new TfaasError("invalid-request", "Cannot deploy with --encrypt: --kbs <url> is missing (the URL workers reach your key broker at)");
  if (flags.kbsPolicy === undefined) throw new TfaasError("invalid-request", "Cannot deploy with --encrypt: --kbs-policy <file> is missing (which workers may receive the key; deny by default)");
  const policy = await loadPolicy(flags.kbsPolicy);
  const sealed = sealArtifact(code);
  try {
    await new KeyStore(kbsDir(io, { ...(flags.kbsDir !== undefined ? { dir: flags.kbsDir } : {}) })).put({ artifactDigest: sealed.digest, key: sealed.key, policy });
  } finally {
    sealed.key.fill(0);
  }
  const envelope = encodeSealedUpload({ kind, digest: sealed.digest, ciphertext: sealed.ciphertext });
  return { envelope, measurement: sealed.digest, annotations: { [Annotations.keyBroker]: flags.kbs } };
}
