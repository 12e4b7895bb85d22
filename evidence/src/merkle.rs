//! Merkle trees over the evidence that shares one TPM quote. A TPM makes tens of quotes a
//! second, so rasd quotes the root of a batch of concurrent requests once, and each evidence
//! carries its inclusion proof. The tree and its proofs are those of RFC 9162 §2.1 (leaf and
//! node hashes are domain-separated, so a node can never pass for a leaf).

use ring::digest::{Context, SHA256};

/// Most leaves in one batch; a proof has at most log2 of this many hashes.
pub const MAX_LEAVES: usize = 1024;

fn hash(prefix: u8, parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[prefix]);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().try_into().expect("sha256 is 32 bytes")
}

/// The hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    hash(0, &[data])
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    hash(1, &[left, right])
}

/// Largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root over leaf hashes (at least one).
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => hash(0, &[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The inclusion proof of leaf `index`, bottom up.
pub fn proof(leaves: &[[u8; 32]], index: usize) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut p = proof(&leaves[..k], index);
        p.push(root(&leaves[k..]));
        p
    } else {
        let mut p = proof(&leaves[k..], index - k);
        p.push(root(&leaves[..k]));
        p
    }
}

/// Recomputes the root from a leaf hash, its index, the tree size and its proof (RFC 9162
/// §2.1.3.2); `None` when the proof cannot be one for that position and size.
pub fn root_from_proof(leaf: [u8; 32], index: u64, size: u64, proof: &[[u8; 32]]) -> Option<[u8; 32]> {
    if index >= size || size > MAX_LEAVES as u64 {
        return None;
    }
    let (mut fnode, mut snode, mut r) = (index, size - 1, leaf);
    for p in proof {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n).map(|i| leaf_hash(&(i as u64).to_be_bytes())).collect()
    }

    #[test]
    fn every_proof_of_every_size_verifies_and_only_at_its_position() {
        for n in 1..=33 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = proof(&l, i);
                assert_eq!(root_from_proof(l[i], i as u64, n as u64, &p), Some(r), "n={n} i={i}");
                if n > 1 {
                    let j = (i + 1) % n;
                    assert_ne!(root_from_proof(l[i], j as u64, n as u64, &p), Some(r), "n={n} i={i} at {j}");
                    assert_ne!(root_from_proof(l[j], i as u64, n as u64, &p), Some(r));
                }
            }
        }
    }

    #[test]
    fn a_single_leaf_is_its_own_root() {
        let l = leaves(1);
        assert_eq!(root(&l), l[0]);
        assert_eq!(root_from_proof(l[0], 0, 1, &[]), Some(l[0]));
        assert_eq!(root_from_proof(l[0], 1, 1, &[]), None);
    }

    proptest! {
        #[test]
        fn arbitrary_proofs_never_panic(index in any::<u64>(), size in any::<u64>(), n in 0usize..40) {
            let p = vec![[7u8; 32]; n];
            let _ = root_from_proof([1; 32], index, size, &p);
        }
    }
}
