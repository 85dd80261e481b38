// RFC 6962 Merkle hashing and proofs: the CT reference vectors, the recursive
// definition for every size up to 40, and mangled proofs that must fail.
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '@skymesh/crypto';
import {
  EMPTY_ROOT,
  leafHash,
  MerkleTree,
  rootOfLeaves,
  verifyConsistency,
  verifyInclusion,
} from '@skymesh/protocol/gateway';
import { describe, expect, it } from 'vitest';

const V = JSON.parse(
  readFileSync(new URL('./vectors/rfc6962-merkle.json', import.meta.url), 'utf8'),
);
const leaves: Uint8Array[] = V.leaves.map((h: string) => leafHash(fromHex(h)));
const tree = MerkleTree.fromLeafHashes(leaves);

describe('RFC 6962 reference tree', () => {
  it('roots for sizes 0..8', () => {
    expect(toHex(EMPTY_ROOT)).toBe(V.emptyRoot);
    expect(toHex(tree.root(0))).toBe(V.emptyRoot);
    for (let n = 1; n <= 8; n++) expect(toHex(tree.root(n))).toBe(V.roots[n - 1]);
  });

  it('inclusion proofs match and verify', () => {
    for (const c of V.inclusion) {
      const proof = tree.inclusionProof(c.index, c.size);
      expect(proof.map(toHex)).toEqual(c.proof);
      expect(
        verifyInclusion(leaves[c.index]!, c.index, c.size, proof, fromHex(V.roots[c.size - 1])),
      ).toBe(true);
    }
  });

  it('consistency proofs match and verify', () => {
    for (const c of V.consistency) {
      const proof = tree.consistencyProof(c.first, c.second);
      expect(proof.map(toHex)).toEqual(c.proof);
      const r1 = fromHex(V.roots[c.first - 1]);
      const r2 = fromHex(V.roots[c.second - 1]);
      expect(verifyConsistency(c.first, c.second, r1, r2, proof)).toBe(true);
    }
  });
});

describe('every shape up to 40 leaves', () => {
  const many = Array.from({ length: 40 }, (_, i) => leafHash(new Uint8Array([i, i * 3])));
  const t = MerkleTree.fromLeafHashes(many);
  const roots = Array.from({ length: 41 }, (_, n) => rootOfLeaves(many.slice(0, n)));

  it('incremental roots equal the recursive definition', () => {
    for (let n = 0; n <= 40; n++) expect(toHex(t.root(n))).toBe(toHex(roots[n]!));
  });

  it('inclusion: valid proofs pass, mangled ones fail', () => {
    for (let n = 1; n <= 40; n++) {
      for (let i = 0; i < n; i++) {
        const p = t.inclusionProof(i, n);
        expect(verifyInclusion(many[i]!, i, n, p, roots[n]!)).toBe(true);
        if (p.length === 0) continue;
        const flipped = p.map((h) => h.slice());
        flipped[0]![0]! ^= 1;
        expect(verifyInclusion(many[i]!, i, n, flipped, roots[n]!)).toBe(false);
        expect(verifyInclusion(many[i]!, i, n, p.slice(1), roots[n]!)).toBe(false);
        expect(verifyInclusion(many[i]!, i, n, [...p, many[0]!], roots[n]!)).toBe(false);
        const other = (i + 1) % n;
        if (other !== i) expect(verifyInclusion(many[other]!, i, n, p, roots[n]!)).toBe(false);
      }
    }
  });

  it('consistency: valid proofs pass, mangled ones fail', () => {
    for (let n = 0; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        const p = t.consistencyProof(m, n);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, p)).toBe(true);
        if (m === 0 || m === n) continue;
        const flipped = p.map((h) => h.slice());
        flipped[p.length - 1]![5]! ^= 0x80;
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, flipped)).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, p.slice(0, -1))).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, [...p, many[0]!])).toBe(false);
        expect(verifyConsistency(m, n, roots[m + 1]!, roots[n]!, p)).toBe(false);
      }
    }
  });

  it('degenerate inputs are false, never throw', () => {
    expect(verifyInclusion(many[0]!, 0, 0, [], EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(many[0]!, -1, 4, [], roots[4]!)).toBe(false);
    expect(verifyInclusion(new Uint8Array(31), 0, 1, [], roots[1]!)).toBe(false);
    expect(verifyConsistency(4, 4, roots[4]!, roots[5]!, [])).toBe(false);
    expect(verifyConsistency(5, 4, roots[5]!, roots[4]!, [])).toBe(false);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, roots[8]!, [])).toBe(true);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, roots[8]!, [many[0]!])).toBe(false);
    expect(verifyConsistency(3, 8, roots[3]!, roots[8]!, [])).toBe(false);
  });
});
