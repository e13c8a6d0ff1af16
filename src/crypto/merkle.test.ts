import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildTree, leafHash, nodeHash, rootFromPath } from "./merkle.js";

const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest();

/** RFC 6962 §2.1 as written: MTH splits at the largest power of two below n. */
function referenceRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0]!;
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

/** RFC 6962 §2.1.1 PATH(m, D[n]). */
function referencePath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length === 1) return [];
  const k = 2 ** Math.floor(Math.log2(leaves.length - 1));
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), referenceRoot(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), referenceRoot(leaves.slice(0, k))];
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`receipt ${i}`)));

describe("merkle", () => {
  it("hashes leaves and nodes with distinct prefixes (RFC 6962)", () => {
    // SHA-256 of the single byte 0x00: the RFC 6962 hash of an empty leaf.
    expect(leafHash(new Uint8Array()).toString("hex")).toBe("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    const a = sha256(Buffer.from("a"));
    const b = sha256(Buffer.from("b"));
    expect(nodeHash(a, b).equals(sha256(Buffer.of(1), a, b))).toBe(true);
    expect(nodeHash(a, b).equals(sha256(a, b))).toBe(false);
    expect(leafHash(a).equals(sha256(a))).toBe(false);
  });

  it("builds the RFC 6962 root and audit paths for every size up to 70, and every path verifies", () => {
    for (let n = 1; n <= 70; n++) {
      const leaves = leavesOf(n);
      const tree = buildTree(leaves);
      expect(tree.root.equals(referenceRoot(leaves)), `root of ${n}`).toBe(true);
      for (let m = 0; m < n; m++) {
        const expected = referencePath(m, leaves);
        expect(tree.paths[m]!.map((h) => h.toString("hex")), `path ${m} of ${n}`).toEqual(expected.map((h) => h.toString("hex")));
        expect(rootFromPath(leaves[m]!, m, n, tree.paths[m]!)?.equals(tree.root), `verify ${m} of ${n}`).toBe(true);
      }
    }
  });

  it("leads elsewhere, or nowhere, for a wrong leaf, index, sibling, size or path length", () => {
    const leaves = leavesOf(13);
    const { root, paths } = buildTree(leaves);
    const path = paths[5]!;
    expect(rootFromPath(leaves[6]!, 5, 13, path)?.equals(root)).toBe(false);
    expect(rootFromPath(leaves[5]!, 4, 13, path)?.equals(root) ?? false).toBe(false);
    const tampered = path.map((h, i) => (i === 1 ? leafHash(h) : h));
    expect(rootFromPath(leaves[5]!, 5, 13, tampered)?.equals(root)).toBe(false);
    expect(rootFromPath(leaves[5]!, 5, 6, path)).toBeNull();
    // A path need not pin the size (leaf 5 has the same path in trees of 13 and 14 leaves):
    // that is why the batch signature covers the size together with the root.
    expect(rootFromPath(leaves[5]!, 5, 14, path)?.equals(root)).toBe(true);
    expect(rootFromPath(leaves[5]!, 5, 13, path.slice(0, -1))).toBeNull();
    expect(rootFromPath(leaves[5]!, 5, 13, [...path, path[0]!])).toBeNull();
    expect(rootFromPath(leaves[5]!, 13, 13, path)).toBeNull();
    expect(rootFromPath(leaves[0]!, 0, 1, [])?.equals(leaves[0]!)).toBe(true);
  });
});
