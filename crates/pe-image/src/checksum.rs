// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The PE checksum, as `imagehlp!CheckSumMappedFile` computes it and the kernel's loader checks
//! it for boot-start drivers.

/// The checksum of `file` whose 4-byte `CheckSum` field is at `checksum_offset`.
///
/// The file is read as little-endian 16-bit words (an odd last byte padded with zero) with the
/// checksum field read as zero; the words are summed with the carry folded back into the low
/// 16 bits after every addition, and the file length is added to the 16-bit result.
#[must_use]
pub fn pe_checksum(file: &[u8], checksum_offset: usize) -> u32 {
    let field_end = checksum_offset.saturating_add(4);
    let in_field = |at: usize| at >= checksum_offset && at < field_end;
    let mut sum: u32 = 0;
    let mut at: usize = 0;
    for pair in file.chunks(2) {
        let mut word: u32 = 0;
        for (shift, (i, &byte)) in [0u32, 8].into_iter().zip(pair.iter().enumerate()) {
            if !in_field(at.wrapping_add(i)) {
                word |= u32::from(byte) << shift;
            }
        }
        // Both terms are at most 0xffff, so neither addition wraps.
        sum = sum.wrapping_add(word);
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
        at = at.wrapping_add(2);
    }
    sum = (sum & 0xffff).wrapping_add(sum >> 16) & 0xffff;
    let len = u32::try_from(file.len()).unwrap_or(u32::MAX);
    sum.wrapping_add(len)
}
