import { describe, expect, it } from "vitest";
import { FRAME_BLOCK, FRAME_FUNCTION, FRAME_IF, FRAME_LOOP, trapFreeToFlush } from "./trap-free.js";

/** Code right after a call, as bytes, with the frames open there (the function's first). */
const reaches = (code: number[], frames: number[]) => trapFreeToFlush(Uint8Array.from(code), 0, code.length, 4, 2, frames);

describe("trapFreeToFlush", () => {
  it("follows straight-line code to the function's end, a return, or a branch out of the function", () => {
    expect(reaches([0x20, 0x00, 0x41, 0x02, 0x6a, 0x21, 0x01, 0x0b], [FRAME_FUNCTION])).toBe(true);
    expect(reaches([0x1a, 0x0f], [FRAME_FUNCTION, FRAME_BLOCK])).toBe(true);
    expect(reaches([0x0c, 0x01], [FRAME_FUNCTION, FRAME_BLOCK])).toBe(true);
    // Out of a block and an if, then the function's end.
    expect(reaches([0x0b, 0x0b, 0x0b], [FRAME_FUNCTION, FRAME_BLOCK, FRAME_IF])).toBe(true);
  });

  it("follows a br_if to a loop's header and the path past it, and a br to a loop ends the walk", () => {
    // br_if 0 (the loop), end (of the loop), local.get 0, end (of the function).
    expect(reaches([0x20, 0x00, 0x0d, 0x00, 0x0b, 0x20, 0x00, 0x0b], [FRAME_FUNCTION, FRAME_LOOP])).toBe(true);
    expect(reaches([0x0c, 0x01, 0x00], [FRAME_FUNCTION, FRAME_LOOP, FRAME_BLOCK])).toBe(true);
  });

  it("stops at anything that can trap or that it does not follow", () => {
    const inLoop = [FRAME_FUNCTION, FRAME_LOOP];
    expect(reaches([0x20, 0x00, 0x28, 0x02, 0x00, 0x0b, 0x0b], inLoop)).toBe(false); // i32.load
    expect(reaches([0x20, 0x00, 0x20, 0x01, 0x6d, 0x0b, 0x0b], inLoop)).toBe(false); // i32.div_s
    expect(reaches([0x43, 0, 0, 0, 0, 0xa8, 0x0b, 0x0b], inLoop)).toBe(false); // i32.trunc_f32_s
    expect(reaches([0x43, 0, 0, 0, 0, 0xfc, 0x00, 0x1a, 0x0b, 0x0b], inLoop)).toBe(true); // i32.trunc_sat_f32_s cannot trap
    expect(reaches([0x10, 0x00, 0x0b, 0x0b], inLoop)).toBe(false); // call
    expect(reaches([0x00], inLoop)).toBe(false); // unreachable
    expect(reaches([0x02, 0x40, 0x0b, 0x0b, 0x0b], inLoop)).toBe(false); // a block entered
    expect(reaches([0x05, 0x0b, 0x0b], [FRAME_FUNCTION, FRAME_IF])).toBe(false); // else
    expect(reaches([0x0d, 0x00, 0x0b, 0x0b], [FRAME_FUNCTION, FRAME_BLOCK])).toBe(false); // br_if to a block's end
    expect(reaches([0x20, 0x09, 0x0b], [FRAME_FUNCTION])).toBe(false); // local index out of range
    expect(reaches([0x20], [FRAME_FUNCTION])).toBe(false); // truncated
  });
});
