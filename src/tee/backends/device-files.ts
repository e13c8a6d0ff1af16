/**
 * The file operations the hardware backends perform on kernel or Gramine pseudo-files. Injected
 * so tests can stand in for the kernel (a directory tree laid out like configfs whose writes
 * produce reports); production uses node:fs directly.
 */
import { promises as fs } from "node:fs";

export interface DeviceFiles {
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
}

export const nodeDeviceFiles: DeviceFiles = {
  mkdir: async (path) => {
    await fs.mkdir(path);
  },
  rmdir: (path) => fs.rmdir(path),
  readFile: async (path) => new Uint8Array(await fs.readFile(path)),
  writeFile: (path, data) => fs.writeFile(path, data),
};

export function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}
