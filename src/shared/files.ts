/** Durability helpers for files whose loss after an acknowledged write would be a bug. */
import { promises as fs } from "node:fs";

/** Makes a rename or link inside `directory` durable: the entry itself lives in the directory's data. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await fs.open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === "string";
}
