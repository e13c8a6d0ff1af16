/**
 * Verification of sim evidence: well-formed, signed by a pinned simulated platform key. A pass
 * means only that the holder of that key — i.e. the host — vouched for the claims (see backend.ts).
 */
import { timingSafeEqual } from "node:crypto";
import { CheckList, type Check } from "../check.js";
import { parseSimEvidence, simSignatureVerifies, type SimEvidence } from "./evidence.js";

export function verifySimEvidence(bytes: Uint8Array, platformKeys: readonly Uint8Array[] | undefined): { evidence: SimEvidence | undefined; checks: Check[] } {
  const checks = new CheckList();
  let evidence: SimEvidence | undefined;
  checks.run("sim.parse", () => {
    evidence = parseSimEvidence(bytes);
    return { ok: true, detail: `SIMULATED evidence version ${evidence.version}, ${bytes.length} bytes` };
  });
  if (evidence === undefined) return { evidence, checks: checks.checks };
  const claimed = evidence.platformKey;
  const pinned = (platformKeys ?? []).some((key) => key.length === claimed.length && timingSafeEqual(key, claimed));
  checks.add(
    "sim.platform-key",
    pinned,
    pinned
      ? "signed by a pinned simulated platform key (a key on the host's disk: no hardware protection)"
      : platformKeys === undefined || platformKeys.length === 0
        ? "no sim platform key pinned in the trust anchors"
        : "the evidence names a platform key that is not pinned",
  );
  const signed = simSignatureVerifies(evidence, claimed);
  checks.add("sim.signature", signed, signed ? "Ed25519 signature verifies under the named platform key" : "signature does not verify: evidence altered or forged");
  return { evidence, checks: checks.checks };
}
