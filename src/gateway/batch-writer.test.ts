import { describe, expect, it } from "vitest";
import { BatchWriter } from "./batch-writer.js";

describe("BatchWriter", () => {
  it("writes in batches, in order, by size and by time", async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number>({ what: "numbers", maxItems: 3, maxDelayMs: 10, write: async (items) => void batches.push(items) });
    writer.add(1, 2, 3, 4);
    writer.add(5);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(batches).toEqual([[1, 2, 3, 4], [5]]);
    writer.add(6);
    await writer.flush();
    expect(batches.at(-1)).toEqual([6]);
  });

  it("keeps going after a failed write", async () => {
    const written: number[] = [];
    let fail = true;
    const writer = new BatchWriter<number>({
      what: "numbers",
      write: async (items) => {
        if (fail) {
          fail = false;
          throw new Error("disk full");
        }
        written.push(...items);
      },
    });
    writer.add(1);
    await writer.flush();
    writer.add(2);
    await writer.flush();
    expect(written).toEqual([2]);
  });
});
