/**
 * TCB status of a platform against Intel's TCB info, following Intel's matching rule: the first
 * TCB level (they are ordered newest first) whose every SGX component SVN and PCE SVN is at most
 * the PCK certificate's — and, for TDX, whose every TDX component SVN is at most the quote's
 * TEE_TCB_SVN — gives the status. No matching level means the platform is older than anything
 * Intel lists: `NotSupported`.
 *
 * Guarantee stops here: TDX module identities (`tdxModuleIdentities`, TDX 1.5 module versions)
 * are not evaluated; when the quote's module major version (TEE_TCB_SVN[1]) is non-zero, the
 * first two TDX components are skipped as Intel's rule prescribes and nothing replaces them.
 */
import { toHex } from "../bytes.js";
import type { QeIdentity, TcbInfo } from "./collateral.js";
import type { PckTcb } from "./pck.js";

export interface TcbEvaluation {
  /** Intel's status names (UpToDate, SWHardeningNeeded, ConfigurationNeeded, OutOfDate, Revoked, …) or `NotSupported`. */
  status: string;
  tcbDate?: string;
  advisoryIds: string[];
}

export function platformMatches(info: TcbInfo, pck: PckTcb): { ok: boolean; detail: string } {
  const fmspc = toHex(pck.fmspc);
  const pceId = toHex(pck.pceId);
  const ok = fmspc === info.fmspc.toLowerCase() && pceId === info.pceId.toLowerCase();
  return { ok, detail: `PCK FMSPC ${fmspc} / PCE ID ${pceId}; TCB info FMSPC ${info.fmspc.toLowerCase()} / PCE ID ${info.pceId.toLowerCase()}` };
}

export function evaluateTcb(info: TcbInfo, pck: PckTcb, teeTcbSvn?: Uint8Array): TcbEvaluation {
  const tdxStart = teeTcbSvn !== undefined && (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0;
  for (const level of info.tcbLevels) {
    const sgxOk = level.tcb.sgxtcbcomponents.every((component, index) => (pck.sgxTcbComponents[index] ?? 0) >= component.svn);
    if (!sgxOk || pck.pceSvn < level.tcb.pcesvn) continue;
    if (info.id === "TDX") {
      const tdx = level.tcb.tdxtcbcomponents;
      if (teeTcbSvn === undefined || tdx === undefined) continue;
      if (!tdx.every((component, index) => index < tdxStart || (teeTcbSvn[index] ?? 0) >= component.svn)) continue;
    }
    return { status: level.tcbStatus, tcbDate: level.tcbDate, advisoryIds: level.advisoryIDs ?? [] };
  }
  return { status: "NotSupported", advisoryIds: [] };
}

function maskedEqual(actualHex: string, expectedHex: string, maskHex: string): boolean {
  const actual = Buffer.from(actualHex, "hex");
  const expected = Buffer.from(expectedHex, "hex");
  const mask = Buffer.from(maskHex, "hex");
  if (actual.length !== mask.length || expected.length !== mask.length) return false;
  return mask.every((byte, index) => ((actual[index] as number) & byte) === ((expected[index] as number) & byte));
}

/** The quoting enclave's identity and TCB status against Intel's QE identity collateral. */
export function evaluateQeIdentity(
  identity: QeIdentity,
  qe: { mrSigner: Uint8Array; isvProdId: number; isvSvn: number; miscSelect: number; attributes: Uint8Array },
): { ok: boolean; status: string; detail: string } {
  const miscSelect = Buffer.alloc(4);
  miscSelect.writeUInt32LE(qe.miscSelect);
  const problems: string[] = [];
  if (toHex(qe.mrSigner) !== identity.mrsigner.toLowerCase()) problems.push("MRSIGNER differs");
  if (qe.isvProdId !== identity.isvprodid) problems.push(`ISVPRODID ${qe.isvProdId} ≠ ${identity.isvprodid}`);
  // MISCSELECT is a little-endian u32 in the report and big-endian hex in the collateral.
  if (!maskedEqual(Buffer.from(miscSelect).reverse().toString("hex"), identity.miscselect, identity.miscselectMask)) problems.push("MISCSELECT differs under mask");
  if (!maskedEqual(toHex(qe.attributes), identity.attributes, identity.attributesMask)) problems.push("ATTRIBUTES differ under mask");
  const level = identity.tcbLevels.find((candidate) => qe.isvSvn >= candidate.tcb.isvsvn);
  const status = level?.tcbStatus ?? "NotSupported";
  if (status !== "UpToDate") problems.push(`QE TCB status ${status} (ISVSVN ${qe.isvSvn})`);
  return {
    ok: problems.length === 0,
    status,
    detail: problems.length === 0 ? `QE identity ${identity.id} matches; ISVSVN ${qe.isvSvn} is UpToDate` : problems.join("; "),
  };
}
