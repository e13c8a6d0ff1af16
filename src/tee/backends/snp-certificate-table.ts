/**
 * The SEV-SNP certificate table the host may attach to a report (GHCB extended guest request;
 * configfs-tsm `auxblob`): entries of { GUID (16), offset u32, length u32 } ending with an
 * all-zero entry; offsets are from the start of the table.
 */
import { ByteReader } from "../bytes.js";

export const SnpCertificateGuid = {
  "63da758d-e664-4564-adc5-f4b93be8accd": "vcek",
  "a8074bc2-a25a-483e-aae6-39c045a0b8a1": "vlek",
  "4ab7b379-bbac-4fe4-a02f-05aef327c782": "ask",
  "c0b406a4-a803-4952-9743-3fb6014cd0ae": "ark",
} as const;

export interface SnpCertificateEntry {
  guid: string;
  /** vcek, vlek, ask, ark, or undefined for a GUID this code does not know. */
  role: (typeof SnpCertificateGuid)[keyof typeof SnpCertificateGuid] | undefined;
  der: Uint8Array;
}

/** GUIDs are stored in the mixed-endian Microsoft layout: first three groups little-endian. */
function guidText(bytes: Uint8Array): string {
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = Buffer.from(bytes.subarray(from, to));
    return (reverse ? part.reverse() : part).toString("hex");
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

export function guidBytes(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  const bytes = Buffer.from(hex, "hex");
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  return new Uint8Array(bytes);
}

export function parseSevSnpCertificateTable(table: Uint8Array): SnpCertificateEntry[] {
  const reader = new ByteReader(table, "SEV-SNP certificate table");
  const entries: SnpCertificateEntry[] = [];
  for (let offset = 0; ; offset += 24) {
    const guid = reader.slice(`entry[${entries.length}].guid`, offset, 16);
    const certificateOffset = reader.u32(`entry[${entries.length}].offset`, offset + 16);
    const length = reader.u32(`entry[${entries.length}].length`, offset + 20);
    if (guid.every((byte) => byte === 0) && certificateOffset === 0 && length === 0) return entries;
    const text = guidText(guid);
    entries.push({
      guid: text,
      role: (SnpCertificateGuid as Record<string, SnpCertificateEntry["role"]>)[text],
      der: reader.slice(`entry[${entries.length}].certificate`, certificateOffset, length),
    });
  }
}
