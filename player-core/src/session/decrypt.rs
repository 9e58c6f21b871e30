//! Segment decryption: HLS `METHOD=AES-128`, AES-128 in CBC mode with PKCS#7 padding over the
//! whole segment (RFC 8216 §5.2), by the RustCrypto `aes` and `cbc` crates.

use aes::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};

/// Decrypts `data` with a 16-byte `key` and `iv`; why not, in one line.
pub fn aes_128_cbc(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, String> {
    let key: &[u8; 16] = key
        .try_into()
        .map_err(|_| format!("its AES-128 key is {} bytes, not 16", key.len()))?;
    cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
        .decrypt_padded_vec::<Pkcs7>(data)
        .map_err(|_| "cannot decrypt it with its AES-128 key and IV (a wrong key?)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_key_length_or_a_cut_segment_says_so() {
        let e = aes_128_cbc(&[0; 20], &[0; 16], &[0; 32]).unwrap_err();
        assert_eq!(e, "its AES-128 key is 20 bytes, not 16");
        // Not a whole number of blocks: cut short.
        let e = aes_128_cbc(&[0; 16], &[0; 16], &[0; 30]).unwrap_err();
        assert!(e.contains("cannot decrypt"), "{e}");
    }
}
