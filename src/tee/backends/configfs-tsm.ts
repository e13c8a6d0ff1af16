/**
 * `sev-snp` and `tdx` through the Linux configfs-tsm report interface
 * (Documentation/ABI/testing/configfs-tsm): create an entry under the report root, write the 64
 * bytes of report data to `inblob`, read `outblob` (the SEV-SNP report or the TDX quote),
 * `provider` (`sev_guest` / `tdx_guest`) and, for SEV-SNP, `auxblob` (the host's certificate
 * table, when it provides one), then remove the entry.
 *
 * Entries are shared kernel state: another writer to the same entry would silently change the
 * report data. `generation` counts writes, so it is read before writing `inblob` and after reading
 * `outblob`; unless it moved by exactly our one write, the attempt is discarded and retried in a
 * fresh entry, and after `maxAttempts` the call fails.
 *
 * Guarantee stops here: the backend returns what the kernel gives; it does not verify it (the
 * verifier does, against vendor certificates).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { TfaasError } from "../../shared/errors.js";
import type { Evidence, TeeBackend, TeeDescription } from "../backend.js";
import { requireReportData } from "../report-data.js";
import { nodeDeviceFiles, errnoCode, type DeviceFiles } from "./device-files.js";
import { parseSevSnpCertificateTable } from "./snp-certificate-table.js";

export const DEFAULT_TSM_REPORT_ROOT = "/sys/kernel/config/tsm/report";

export interface ConfigfsTsmOptions {
  type: "sev-snp" | "tdx";
  /** Default /sys/kernel/config/tsm/report. */
  root?: string;
  files?: DeviceFiles;
  /** Attempts when a concurrent writer changes the entry; default 3. */
  maxAttempts?: number;
}

const PROVIDER = { "sev-snp": "sev_guest", tdx: "tdx_guest" } as const;

const DOES_NOT_PROTECT = {
  "sev-snp": [
    "Physical attacks on DRAM, and side channels the SEV-SNP threat model excludes.",
    "Bugs in the guest kernel and in TFaaS itself: the measurement says what was launched, not that it is correct.",
    "Debug-enabled guests (policy bit 19): the verifier must reject them.",
  ],
  tdx: [
    "Physical attacks and side channels outside the TDX threat model.",
    "Bugs in the TD's kernel and in TFaaS itself: MRTD/RTMRs say what was loaded, not that it is correct.",
    "Debug TDs (TD attribute DEBUG): the verifier must reject them.",
  ],
} as const;

export function createConfigfsTsmBackend(options: ConfigfsTsmOptions): TeeBackend {
  const root = options.root ?? DEFAULT_TSM_REPORT_ROOT;
  const files = options.files ?? nodeDeviceFiles;
  const maxAttempts = options.maxAttempts ?? 3;
  const type = options.type;
  const description: TeeDescription = {
    type,
    simulated: false,
    summary: `${type === "sev-snp" ? "AMD SEV-SNP" : "Intel TDX"} confidential VM via configfs-tsm (${root})`,
    doesNotProtect: [...DOES_NOT_PROTECT[type]],
  };

  /** A device file operation; an I/O failure becomes `unavailable` naming the file. */
  async function device<T>(file: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof TfaasError) throw error;
      throw new TfaasError("unavailable", `Cannot request ${type} evidence: configfs-tsm ${file} failed (current error ${errnoCode(error) ?? "unknown"})`, { cause: error });
    }
  }

  async function readText(entry: string, file: string): Promise<string> {
    return device(file, async () => Buffer.from(await files.readFile(join(entry, file))).toString("utf8").trim());
  }

  async function attempt(reportData: Uint8Array): Promise<Evidence | "raced"> {
    const entry = join(root, `tfaas-${process.pid}-${randomBytes(6).toString("hex")}`);
    try {
      await files.mkdir(entry);
    } catch (error) {
      throw new TfaasError("unavailable", `Cannot request ${type} evidence: current configfs-tsm root ${root} is not usable (${errnoCode(error) ?? "error"})`, { cause: error });
    }
    try {
      const before = Number(await readText(entry, "generation"));
      await device("inblob", () => files.writeFile(join(entry, "inblob"), reportData));
      const outblob = await device("outblob", () => files.readFile(join(entry, "outblob")));
      const provider = await readText(entry, "provider");
      let auxblob: Uint8Array | undefined;
      if (type === "sev-snp") {
        try {
          auxblob = await files.readFile(join(entry, "auxblob"));
        } catch (error) {
          // Hosts that supply no certificates leave auxblob absent or empty; the VCEK then comes from the operator.
          if (errnoCode(error) !== "ENOENT" && errnoCode(error) !== "ENODATA") {
            throw new TfaasError("unavailable", `Cannot request ${type} evidence: configfs-tsm auxblob failed (current error ${errnoCode(error) ?? "unknown"})`, { cause: error });
          }
        }
      }
      // Exactly our one write in between, or another writer may have swapped the report data.
      const after = Number(await readText(entry, "generation"));
      if (after !== before + 1) return "raced";
      if (provider !== PROVIDER[type]) {
        throw new TfaasError("unavailable", `Cannot request ${type} evidence: current configfs-tsm provider is ${JSON.stringify(provider)}, expected ${PROVIDER[type]}`);
      }
      if (outblob.length === 0) throw new TfaasError("unavailable", `Cannot request ${type} evidence: current outblob is empty`);
      const certificates = auxblob === undefined || auxblob.length === 0 ? [] : parseSevSnpCertificateTable(auxblob).map((entry) => entry.der);
      return { type, bytes: outblob, certificates };
    } finally {
      await files.rmdir(entry).catch(() => undefined);
    }
  }

  return {
    type,
    async evidence(reportData: Uint8Array): Promise<Evidence> {
      const data = requireReportData(reportData);
      for (let index = 0; index < maxAttempts; index++) {
        const result = await attempt(data);
        if (result !== "raced") return result;
      }
      throw new TfaasError("unavailable", `Cannot request ${type} evidence: current configfs-tsm entry generation changed during each of ${maxAttempts} attempts (a concurrent writer)`);
    },
    describe: () => description,
  };
}
