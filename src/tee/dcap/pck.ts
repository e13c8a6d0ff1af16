/**
 * The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): the platform's
 * FMSPC, PCE ID and the TCB it was certified at (16 SGX TCB component SVNs, PCE SVN, CPU SVN).
 */
import { TfaasError } from "../../shared/errors.js";
import { children, content, decodeOid, decodeUnsignedInteger, parseDer, type DerNode } from "../der.js";
import type { Certificate } from "../x509.js";

const SGX_EXTENSION = "1.2.840.113741.1.13.1";

export interface PckTcb {
  fmspc: Uint8Array;
  pceId: Uint8Array;
  /** SGX TCB component SVNs 1–16. */
  sgxTcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
}

function entries(node: DerNode): Map<string, DerNode> {
  const map = new Map<string, DerNode>();
  for (const entry of children(node)) {
    const [oid, value] = children(entry);
    if (oid !== undefined && value !== undefined) map.set(decodeOid(oid), value);
  }
  return map;
}

export function pckTcbOf(certificate: Certificate): PckTcb {
  const extension = certificate.extensions.get(SGX_EXTENSION);
  if (extension === undefined) throw new TfaasError("invalid-request", "Cannot read PCK certificate: current certificate has no SGX extension");
  const top = entries(parseDer(extension.value, "SGX extension"));
  const need = (map: Map<string, DerNode>, oid: string): DerNode => {
    const found = map.get(oid);
    if (found === undefined) throw new TfaasError("invalid-request", `Cannot read PCK certificate: current SGX extension lacks ${oid}`);
    return found;
  };
  const tcb = entries(need(top, `${SGX_EXTENSION}.2`));
  const sgxTcbComponents: number[] = [];
  for (let index = 1; index <= 16; index++) sgxTcbComponents.push(Number(decodeUnsignedInteger(need(tcb, `${SGX_EXTENSION}.2.${index}`))));
  return {
    fmspc: content(need(top, `${SGX_EXTENSION}.4`)),
    pceId: content(need(top, `${SGX_EXTENSION}.3`)),
    sgxTcbComponents,
    pceSvn: Number(decodeUnsignedInteger(need(tcb, `${SGX_EXTENSION}.2.17`))),
    cpuSvn: content(need(tcb, `${SGX_EXTENSION}.2.18`)),
  };
}
