/**
 * Intel PCS collateral: TCB info (v3) and QE identity (v2) as the provisioning certification
 * service returns them, `{"tcbInfo":{…},"signature":"<hex r‖s>"}`. The signature covers the exact
 * bytes of the inner object as served, so the raw text is kept and never re-serialised.
 */
import { verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { TfaasError } from "../../shared/errors.js";

const svn = z.object({ svn: z.number().int().min(0).max(255) });
const hex = z.string().regex(/^[0-9a-fA-F]*$/);

const tcbInfoSchema = z.object({
  id: z.enum(["SGX", "TDX"]),
  version: z.literal(3),
  issueDate: z.iso.datetime(),
  nextUpdate: z.iso.datetime(),
  fmspc: hex,
  pceId: hex,
  tcbType: z.number(),
  tcbEvaluationDataNumber: z.number(),
  tdxModule: z.object({ mrsigner: hex, attributes: hex, attributesMask: hex }).optional(),
  tcbLevels: z.array(
    z.object({
      tcb: z.object({
        sgxtcbcomponents: z.array(svn).length(16),
        pcesvn: z.number().int().min(0),
        tdxtcbcomponents: z.array(svn).length(16).optional(),
      }),
      tcbDate: z.iso.datetime(),
      tcbStatus: z.string(),
      advisoryIDs: z.array(z.string()).optional(),
    }),
  ),
});

const qeIdentitySchema = z.object({
  id: z.enum(["QE", "TD_QE", "QVE"]),
  version: z.literal(2),
  issueDate: z.iso.datetime(),
  nextUpdate: z.iso.datetime(),
  miscselect: hex,
  miscselectMask: hex,
  attributes: hex,
  attributesMask: hex,
  mrsigner: hex,
  isvprodid: z.number().int(),
  tcbLevels: z.array(z.object({ tcb: z.object({ isvsvn: z.number().int() }), tcbDate: z.iso.datetime(), tcbStatus: z.string() })),
});

export type TcbInfo = z.infer<typeof tcbInfoSchema>;
export type QeIdentity = z.infer<typeof qeIdentitySchema>;

export interface SignedCollateral<T> {
  body: T;
  /** The inner object's bytes exactly as served: what the signature covers. */
  signedText: string;
  /** r ‖ s, 64 bytes. */
  signature: Uint8Array;
}

function splitSigned(text: string, key: "tcbInfo" | "enclaveIdentity"): { signedText: string; signature: Uint8Array } {
  const match = new RegExp(`^\\s*\\{"${key}":(\\{.*\\}),"signature":"([0-9a-fA-F]{128})"\\}\\s*$`, "s").exec(text);
  if (match === null) {
    throw new TfaasError("invalid-request", `Cannot read ${key} collateral: current text is not {"${key}":{…},"signature":"<128 hex>"}`);
  }
  return { signedText: match[1] as string, signature: new Uint8Array(Buffer.from(match[2] as string, "hex")) };
}

function parseBody<T>(schema: z.ZodType<T>, text: string, key: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TfaasError("invalid-request", `Cannot read ${key} collateral: current text is not JSON`, { cause: error });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TfaasError("invalid-request", `Cannot read ${key} collateral: field ${issue?.path.join(".") ?? "?"} ${issue?.message ?? "is invalid"}`);
  }
  return result.data;
}

export function parseTcbInfo(text: string): SignedCollateral<TcbInfo> {
  const { signedText, signature } = splitSigned(text, "tcbInfo");
  return { body: parseBody(tcbInfoSchema, signedText, "tcbInfo"), signedText, signature };
}

export function parseQeIdentity(text: string): SignedCollateral<QeIdentity> {
  const { signedText, signature } = splitSigned(text, "enclaveIdentity");
  return { body: parseBody(qeIdentitySchema, signedText, "enclaveIdentity"), signedText, signature };
}

/** ECDSA P-256/SHA-256 over the served bytes, by the TCB signing key. */
export function collateralSignatureVerifies(collateral: SignedCollateral<unknown>, key: KeyObject): boolean {
  try {
    return verify("sha256", Buffer.from(collateral.signedText, "utf8"), { key, dsaEncoding: "ieee-p1363" }, collateral.signature);
  } catch {
    return false;
  }
}

export function collateralCurrent(body: { issueDate: string; nextUpdate: string }, now: Date): { ok: boolean; detail: string } {
  const ok = now >= new Date(body.issueDate) && now <= new Date(body.nextUpdate);
  return { ok, detail: `issued ${body.issueDate}, next update ${body.nextUpdate}; now ${now.toISOString()}` };
}
