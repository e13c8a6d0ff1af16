/**
 * Confidential calls from the command line: `tfaas invoke --confidential` (the `tfaas/client`
 * library with the CLI's attestation cache, policy and trust anchors) and `tfaas confidential keys`
 * (which published keys this client would encrypt to, and why).
 */
import type { Command } from "commander";
import { ConfidentialClient, type ConfidentialRequest } from "../../client/index.js";
import { TfaasError } from "../../shared/errors.js";
import { loadPolicy, parsePolicy, type Policy } from "../../tee/index.js";
import { computeRuntimeMeasurement, RECEIPT_MODES } from "../../attestation/index.js";
import type { CliIo } from "../io.js";
import { writeChunk } from "../io.js";
import { writeJson } from "../output.js";
import { addVerifierOptions, attestationCache, gatewayOf, trustAnchorsOf, type VerifierFlags } from "./attest.js";

/** The options `tfaas invoke` adds for --confidential (the verifier's, without a second --gateway). */
export function addConfidentialOptions(command: Command): Command {
  return command
    .option("--confidential", "encrypt the request to an attested worker (Oblivious HTTP), decrypt the answer and verify its receipt")
    .option("--policy <file>", "with --confidential: attestation policy (default: sim workers running this build's code)")
    .option("--sim-platform-key <file>", "with --confidential: the sim platform key to trust, pinned out of band")
    .option("--trust-sim-key-from-gateway", "with --confidential: trust the sim platform key the gateway reports (INSECURE)");
}

async function policyOf(flags: VerifierFlags): Promise<Policy> {
  if (flags.policy !== undefined) return loadPolicy(flags.policy);
  const measurements = await Promise.all(RECEIPT_MODES.map(async (receipts) => (await computeRuntimeMeasurement({ tee: "sim", receipts })).hex));
  return parsePolicy({ tee: { sim: { measurements } } });
}

export async function confidentialClient(io: CliIo, flags: VerifierFlags): Promise<ConfidentialClient> {
  const gateway = await gatewayOf(io, flags);
  return new ConfidentialClient({
    url: gateway.url,
    ...(gateway.credentials !== undefined ? { credentials: gateway.credentials } : {}),
    policy: await policyOf(flags),
    trustAnchors: await trustAnchorsOf(flags),
    trustSimKeyFromGateway: flags.trustSimKeyFromGateway === true,
    cache: attestationCache(io),
    ...(flags.ttl !== undefined ? { ttlSeconds: flags.ttl } : {}),
  });
}

/** `tfaas invoke --confidential`: the decrypted body on stdout; worker and receipt verdict on stderr. */
export async function invokeConfidential(io: CliIo, flags: VerifierFlags, name: string, request: ConfidentialRequest): Promise<void> {
  const client = await confidentialClient(io, flags);
  if (flags.trustSimKeyFromGateway === true) io.stderr.write("WARNING: --trust-sim-key-from-gateway: the worker's key is vouched for by the gateway itself; the encryption protects nothing from it.\n");
  const answer = await client.invoke(name, request);
  await writeChunk(io.stdout, answer.body);
  const worker = `${answer.worker.workerId} (${answer.worker.tee}, measurement ${answer.worker.measurement}, ${answer.worker.source === "cache" ? "cached attestation" : "attested now"})`;
  io.stderr.write(`confidential: status ${answer.status} from ${worker}\n`);
  if (!answer.receipt.present) {
    io.stderr.write("receipt: none (the gateway runs with receipts off)\n");
  } else if (answer.receipt.ok) {
    io.stderr.write(`receipt: verified (seq ${answer.receipt.receipt?.content.seq}, plaintext digests match)\n`);
  } else {
    const failed = answer.receipt.checks.filter((check) => !check.ok);
    for (const check of failed) io.stderr.write(`receipt: ✗ ${check.name}: ${check.detail}\n`);
    throw new TfaasError("unauthorized", `Cannot accept the call's receipt: failed checks are ${failed.map((check) => check.name).join(", ")}`);
  }
  if (answer.status >= 400) throw new TfaasError("function-failed", `Cannot complete ${name}: the function answered ${answer.status}${answer.headers["x-tfaas-error"] ? ` (${answer.headers["x-tfaas-error"]})` : ""}`);
}

export function registerConfidential(program: Command, io: CliIo): void {
  const confidential = program.command("confidential").description("confidential functions: encrypted calls to attested workers");
  addVerifierOptions(
    confidential
      .command("keys")
      .description("list the published OHTTP keys bound to workers that pass the policy (attesting them if no cached result does)")
      .option("--json", "print as JSON"),
  ).action(async (flags: VerifierFlags & { json?: boolean }) => {
    const workers = await (await confidentialClient(io, flags)).workers();
    const rows = workers.map((worker) => ({ keyId: worker.config.keyId, publicKey: Buffer.from(worker.config.publicKey).toString("base64url"), workerId: worker.workerId, tee: worker.tee, measurement: worker.measurement, source: worker.source }));
    if (flags.json === true) return writeJson(io, rows);
    for (const row of rows) io.stdout.write(`key ${row.keyId}  ${row.publicKey}  ${row.workerId}  ${row.tee}  measurement ${row.measurement}  (${row.source === "cache" ? "cached attestation" : "attested now"})\n`);
  });
}
