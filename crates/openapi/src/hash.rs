//! A stable digest of served documents: clients cache OpenAPI v3 documents
//! by the `hash` query parameter and revalidate with the ETag, so equal bytes
//! must always give equal digests, across processes and restarts.

/// FNV-1a over 128 bits, as 32 upper-case hex digits. Not a cryptographic
/// hash: the digest only has to change when the document changes.
pub fn digest(bytes: &[u8]) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut hash = OFFSET;
    for byte in bytes {
        hash ^= u128::from(*byte);
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:032X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_digest_is_stable_and_sensitive() {
        // The FNV-1a 128 offset basis is the digest of no input.
        assert_eq!(digest(b""), "6C62272E07BB014262B821756295C58D");
        assert_eq!(digest(b"a"), digest(b"a"));
        assert_ne!(digest(b"a"), digest(b"b"));
        assert_eq!(digest(b"{}").len(), 32);
    }
}
