// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Authenticode digest of a PE image.
//!
//! What Windows compares with the digest a catalog member or an embedded signature holds. It
//! covers the whole file except the optional
//! header's `CheckSum`, the certificate table's data directory entry and the certificate
//! table itself (the attribute certificates, which must be the file's last bytes), so signing
//! an image leaves its digest unchanged. An unsigned file whose size is not a multiple of 8 is
//! hashed as if padded with zeros to one, as a signing tool pads it before appending the
//! table.

use pe_image::{PeImage, directory};
use sha2::Digest;

/// The digest of `bytes` with hash `D`.
///
/// # Errors
/// When the file is not a PE image, or its certificate table is not its last bytes.
pub fn pe_digest<D: Digest>(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let image = PeImage::parse(bytes).map_err(|e| format!("not a PE image: {e}"))?;
    let checksum = image.checksum_offset();
    let cert_entry = image
        .data_directory_entry_offset(directory::SECURITY)
        .ok_or("no certificate table directory entry")?;
    let end = match image.data_directory(directory::SECURITY) {
        None => bytes.len(),
        Some(d) => {
            // The certificate table's VirtualAddress is a file offset.
            let at = usize::try_from(d.rva).map_err(|_| "certificate table offset")?;
            let size = usize::try_from(d.size).map_err(|_| "certificate table size")?;
            if at.checked_add(size) != Some(bytes.len()) || at > bytes.len() {
                return Err(format!(
                    "certificate table at {at:#x} ({size:#x} bytes) is not the end of the \
                     {:#x}-byte file",
                    bytes.len()
                ));
            }
            at
        }
    };
    if !(checksum.saturating_add(4) <= cert_entry && cert_entry.saturating_add(8) <= end) {
        return Err("headers overlap the certificate table".into());
    }
    let mut d = D::new();
    let part = |from: usize, to: usize| bytes.get(from..to).ok_or("truncated image");
    d.update(part(0, checksum)?);
    d.update(part(checksum + 4, cert_entry)?);
    d.update(part(cert_entry + 8, end)?);
    if image.data_directory(directory::SECURITY).is_none() {
        let pad = (8 - bytes.len() % 8) % 8;
        d.update(&[0u8; 8][..pad]);
    }
    Ok(d.finalize().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pe_image::builder::ImageBuilder;

    #[test]
    fn digest_ignores_checksum_and_certificate_table() {
        let image = ImageBuilder::driver().build();
        let base = pe_digest::<sha2::Sha256>(&image).unwrap();
        let parsed = PeImage::parse(&image).unwrap();
        // A new checksum does not change the digest.
        let mut changed = image.clone();
        changed[parsed.checksum_offset()] ^= 0xff;
        assert_eq!(pe_digest::<sha2::Sha256>(&changed).unwrap(), base);
        // An appended certificate table does not either.
        let mut signed = image.clone();
        let at = u32::try_from(signed.len()).unwrap();
        signed.extend_from_slice(&[0x5a; 16]);
        let entry = parsed
            .data_directory_entry_offset(directory::SECURITY)
            .unwrap();
        signed[entry..entry + 4].copy_from_slice(&at.to_le_bytes());
        signed[entry + 4..entry + 8].copy_from_slice(&16u32.to_le_bytes());
        assert_eq!(pe_digest::<sha2::Sha256>(&signed).unwrap(), base);
        // Any other byte does.
        let mut tampered = image;
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_ne!(pe_digest::<sha2::Sha256>(&tampered).unwrap(), base);
    }

    #[test]
    fn a_certificate_table_before_the_end_is_refused() {
        let mut image = ImageBuilder::driver().build();
        let parsed = PeImage::parse(&image).unwrap();
        let entry = parsed
            .data_directory_entry_offset(directory::SECURITY)
            .unwrap();
        image[entry..entry + 4].copy_from_slice(&0x200u32.to_le_bytes());
        image[entry + 4..entry + 8].copy_from_slice(&8u32.to_le_bytes());
        assert!(
            pe_digest::<sha2::Sha256>(&image)
                .unwrap_err()
                .contains("is not the end")
        );
    }
}
