/**
 * Test support: stand-ins for the kernel's configfs-tsm report directory and Gramine's
 * /dev/attestation. The trees are real directories laid out with the same file names; the
 * injected DeviceFiles adds the behaviour a plain directory lacks (an entry's attributes appear on
 * mkdir, writing `inblob` produces `outblob` and bumps `generation`, reading Gramine's `quote`
 * quotes the current `user_report_data`).
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { DeviceFiles } from "../backends/device-files.js";

export interface FakeTsm {
  root: string;
  files: DeviceFiles;
  /** Entries created so far (each attempt creates one). */
  entriesCreated(): number;
  /** Entry directories still present under the root. */
  remainingEntries(): Promise<string[]>;
  dispose(): Promise<void>;
}

export interface FakeTsmOptions {
  provider: "sev_guest" | "tdx_guest" | string;
  /** The report or quote for a given inblob. */
  produce(inblob: Uint8Array): Uint8Array;
  auxblob?: Uint8Array;
  /** How many attempts see a concurrent writer bump `generation` while outblob is read. */
  racingAttempts?: number;
  /** Reading this entry file fails with this errno code (a TEE firmware error, say). */
  failRead?: { file: string; code: string };
}

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

export async function createFakeTsm(options: FakeTsmOptions): Promise<FakeTsm> {
  const base = await mkdtemp(join(tmpdir(), "tfaas-tsm-"));
  const root = join(base, "sys/kernel/config/tsm/report");
  await mkdir(root, { recursive: true });
  let created = 0;
  let racing = options.racingAttempts ?? 0;
  const bumpGeneration = async (entry: string): Promise<void> => {
    const current = Number((await readFile(join(entry, "generation"), "utf8")).trim());
    await writeFile(join(entry, "generation"), `${current + 1}\n`);
  };
  const files: DeviceFiles = {
    async mkdir(path) {
      if (dirname(path) !== root) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      await mkdir(path);
      created++;
      await writeFile(join(path, "provider"), `${options.provider}\n`);
      await writeFile(join(path, "generation"), "0\n");
      await writeFile(join(path, "privlevel_floor"), "0\n");
      await writeFile(join(path, "inblob"), "");
      await writeFile(join(path, "outblob"), "");
      if (options.auxblob !== undefined) await writeFile(join(path, "auxblob"), options.auxblob);
    },
    async rmdir(path) {
      await rm(path, { recursive: true });
    },
    async readFile(path) {
      await pause();
      if (basename(path) === options.failRead?.file) throw Object.assign(new Error(`${options.failRead.code}: ${path}`), { code: options.failRead.code });
      if (basename(path) === "outblob" && racing > 0) {
        racing--;
        await bumpGeneration(dirname(path));
      }
      return new Uint8Array(await readFile(path));
    },
    async writeFile(path, data) {
      await pause();
      await writeFile(path, data);
      if (basename(path) === "inblob") {
        await bumpGeneration(dirname(path));
        await writeFile(join(dirname(path), "outblob"), options.produce(data));
      }
    },
  };
  return {
    root,
    files,
    entriesCreated: () => created,
    remainingEntries: () => readdir(root),
    dispose: () => rm(base, { recursive: true, force: true }),
  };
}

export interface FakeGramine {
  root: string;
  files: DeviceFiles;
  dispose(): Promise<void>;
}

export async function createFakeGramine(options: { produce(userReportData: Uint8Array): Uint8Array; attestationType?: string }): Promise<FakeGramine> {
  const base = await mkdtemp(join(tmpdir(), "tfaas-gramine-"));
  const root = join(base, "dev/attestation");
  await mkdir(root, { recursive: true });
  await writeFile(join(root, "attestation_type"), options.attestationType ?? "dcap");
  await writeFile(join(root, "user_report_data"), Buffer.alloc(64));
  await writeFile(join(root, "my_target_info"), Buffer.alloc(512));
  await writeFile(join(root, "target_info"), Buffer.alloc(512));
  await writeFile(join(root, "report"), Buffer.alloc(432));
  await writeFile(join(root, "quote"), "");
  const files: DeviceFiles = {
    mkdir: () => Promise.reject(new Error("Gramine's /dev/attestation has no directories to create")),
    rmdir: () => Promise.reject(new Error("Gramine's /dev/attestation has no directories to remove")),
    async readFile(path) {
      await pause();
      if (basename(path) === "quote") {
        const quote = options.produce(new Uint8Array(await readFile(join(root, "user_report_data"))));
        await writeFile(path, quote);
      }
      return new Uint8Array(await readFile(path));
    },
    async writeFile(path, data) {
      await pause();
      await writeFile(path, data);
    },
  };
  return { root, files, dispose: () => rm(base, { recursive: true, force: true }) };
}
