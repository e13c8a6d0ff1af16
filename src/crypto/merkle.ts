/**
 * Merkle trees as Certificate Transparency defines them (RFC 6962 §2.1, RFC 9162 §2.1): leaves
 * and inner nodes are hashed with distinct one-byte prefixes (0x00, 0x01), so no inner node can
 * pass for a leaf and no leaf for a node; a tree of n leaves splits at the largest power of two
 * below n. A leaf's input is a receipt's canonical encoding, so its leaf hash is the receipt hash.
 */
import { hash } from "node:crypto";
import { TfaasError } from "../shared/errors.js";

const LEAF_PREFIX = Buffer.of(0x00);
const NODE_PREFIX = Buffer.of(0x01);

// One-shot hashing of one buffer: measurably cheaper than a Hash object per node.
export function leafHash(data: Uint8Array): Buffer {
  return hash("sha256", Buffer.concat([LEAF_PREFIX, data]), "buffer");
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return hash("sha256", Buffer.concat([NODE_PREFIX, left, right]), "buffer");
}

export interface MerkleTree {
  root: Buffer;
  /** Audit path of each leaf, bottom up. */
  paths: Buffer[][];
}

/**
 * Builds the tree level by level. Pairing neighbours and carrying an odd last node up unchanged
 * gives exactly RFC 6962's recursive tree hash, and a node at index j always moves to j >> 1.
 */
export function buildTree(leaves: readonly Buffer[]): MerkleTree {
  if (leaves.length === 0) throw new TfaasError("internal", "Cannot build a Merkle tree: current leaf count is 0");
  const levels: Buffer[][] = [leaves.slice()];
  for (let level = levels[0]!; level.length > 1; ) {
    const next: Buffer[] = [];
    for (let j = 0; j + 1 < level.length; j += 2) next.push(nodeHash(level[j]!, level[j + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    levels.push(next);
    level = next;
  }
  const paths = leaves.map((_, index) => {
    const path: Buffer[] = [];
    let j = index;
    for (const level of levels) {
      const sibling = level[j ^ 1];
      if (sibling !== undefined) path.push(sibling);
      j >>= 1;
    }
    return path;
  });
  return { root: levels[levels.length - 1]![0]!, paths };
}

/**
 * The root that an audit path leads to from leaf `index` of a tree of `size` leaves (RFC 9162
 * §2.1.3.2), or null when the path cannot belong to such a tree (wrong length, index out of range).
 * Comparing the result with a signed root is the caller's part.
 */
export function rootFromPath(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[]): Buffer | null {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let hash: Buffer = Buffer.from(leaf);
  for (const sibling of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      hash = nodeHash(sibling, hash);
      // A left child that is the last node of its level was carried up: skip the levels it skipped.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      hash = nodeHash(hash, sibling);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? hash : null;
}
