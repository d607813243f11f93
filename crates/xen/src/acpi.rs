// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! ACPI, as far as xen.sys needs it: the MADT's processor UID for each local APIC id.
//!
//! Xen's `hvmloader` numbers the processor UIDs after the vCPU ids, so that list is how
//! [`crate::system`] answers `SystemProcessorVcpuId`.
//!
//! Sans-IO: the BIOS area to scan is handed in as bytes, and tables are read through
//! [`PhysicalMemory`], which the Windows glue implements by mapping physical memory
//! (`MmMapIoSpace`) and a test implements over a byte map.
//!
//! # What upstream does (`src/xen/acpi.c`, `acpi.h`, `SystemApicIDToProcessorID` in
//! `src/xen/system.c`)
//!
//! * `AcpiFindRsdp` scans physical `0xE0000..=0xFFFFF` on 16-byte boundaries for `"RSD PTR "`
//!   whose 36 bytes sum to zero, and keeps a copy.
//! * `AcpiGetXsdt` maps one page at the RSDP's XSDT address, requires the `XSDT` signature and
//!   a valid checksum over its length, and copies it. There is no RSDT fallback: an ACPI 1.0
//!   RSDP (no XSDT) fails.
//! * `AcpiGetTable` maps the first page of each XSDT entry and returns the first table with the
//!   wanted signature and a valid checksum.
//! * `SystemApicIDToProcessorID` walks the MADT entries after its 44-byte header and returns the
//!   processor id of the first type-0 (local APIC) entry whose APIC id matches; no match is a
//!   `BUG()` (bug check `0xDEAD`). Entry flags are not looked at.
//!
//! # Where we differ
//!
//! * **Validation.** The RSDP is checked as the ACPI specification describes it: the 20-byte
//!   checksum, and for revision 2 and later the extended checksum over its stated length
//!   (at least 36). Upstream only sums 36 bytes, which every valid revision-2 RSDP also passes.
//!   An ACPI 1.0 RSDP is found and then refused for having no XSDT ([`AcpiError::NoXsdt`]), as
//!   upstream refuses it (we keep upstream's lack of an RSDT fallback).
//! * **Lengths.** A table is read whole, at its stated length, instead of one mapped page
//!   (upstream reads past the page for a table that crosses it); a length below the 36-byte
//!   header or above [`MAX_TABLE_LENGTH`], or a range that wraps the address space, is refused.
//! * **XSDT entries.** A null entry or one that cannot be read is skipped instead of ending the
//!   search; a table with the wanted signature and a bad checksum is skipped, as upstream.
//! * **MADT entries.** An entry shorter than its 2-byte header would loop upstream for ever
//!   (zero length) or misparse; an entry running past the table, or a processor entry too short
//!   for its fields, makes the MADT malformed ([`MadtError`]). Entries of unknown type are
//!   skipped by their length. Local x2APIC entries (type 9, which upstream ignores) are read too, so APIC
//!   ids above 255 resolve. Flags are recorded but, as upstream, not used to exclude an entry
//!   (disabled entries stand for hot-pluggable vCPUs).
//! * **No match** is an error for the caller to report, never a bug check.

use alloc::vec::Vec;

/// `"RSD PTR "`.
pub const RSDP_SIGNATURE: [u8; 8] = *b"RSD PTR ";
/// Physical start of the BIOS read-only area upstream scans.
pub const BIOS_AREA_BASE: u64 = 0xE_0000;
/// Its length (to `0xFFFFF` inclusive).
pub const BIOS_AREA_LENGTH: usize = 0x2_0000;
/// The ACPI 1.0 RSDP, covered by the first checksum.
pub const RSDP_V1_LENGTH: usize = 20;
/// The ACPI 2.0 RSDP, covered by the extended checksum.
pub const RSDP_V2_LENGTH: usize = 36;
/// Every system description table starts with this header.
pub const HEADER_LENGTH: usize = 36;
/// The MADT's fixed part: the header, the local APIC address and the flags.
pub const MADT_FIXED_LENGTH: usize = 44;
/// The largest table we read (256 KiB: a MADT for thousands of processors fits many times).
pub const MAX_TABLE_LENGTH: u32 = 256 * 1024;
/// MADT entry type: processor local APIC.
pub const MADT_LOCAL_APIC: u8 = 0;
/// MADT entry type: processor local x2APIC.
pub const MADT_LOCAL_X2APIC: u8 = 9;

/// Why the MADT could not be found or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcpiError {
    /// No valid RSDP in the area scanned.
    RsdpNotFound,
    /// The RSDP is ACPI 1.0 (revision below 2): no XSDT, and no RSDT fallback (as upstream).
    NoXsdt {
        /// The RSDP's revision.
        revision: u8,
    },
    /// Physical memory at `address` could not be read.
    Read {
        /// Where.
        address: u64,
    },
    /// The table at `address` does not carry the signature expected there.
    BadSignature {
        /// Where.
        address: u64,
    },
    /// The table at `address` states a length outside `36..=MAX_TABLE_LENGTH`, or one that
    /// wraps the address space.
    BadLength {
        /// Where.
        address: u64,
        /// The length it states.
        length: u32,
    },
    /// The table at `address` does not sum to zero.
    BadChecksum {
        /// Where.
        address: u64,
    },
    /// No XSDT entry is a valid table with this signature.
    TableNotFound {
        /// The signature looked for.
        signature: [u8; 4],
    },
    /// A copy could not be allocated.
    NoMemory,
    /// The MADT is malformed.
    Madt(MadtError),
}

/// Reads physical memory (the glue maps it; a test reads a byte map).
pub trait PhysicalMemory {
    /// Copies `buffer.len()` bytes from physical `address`.
    ///
    /// # Errors
    /// `Err(())` when the range cannot be mapped or read.
    #[allow(clippy::result_unit_err)] // The caller reports which address failed.
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), ()>;
}

/// Whether `bytes` sum to zero modulo 256 (an ACPI checksum).
#[must_use]
pub fn checksum_ok(bytes: &[u8]) -> bool {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b)) == 0
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    array(bytes, at).map(u64::from_le_bytes)
}

/// A validated Root System Description Pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rsdp {
    /// Its physical address.
    pub address: u64,
    /// Its revision (0 for ACPI 1.0, 2 and later for ACPI 2.0+).
    pub revision: u8,
    /// The OEM id.
    pub oem_id: [u8; 6],
    /// The 32-bit RSDT address.
    pub rsdt_address: u32,
    /// The XSDT address (revision 2 and later only).
    pub xsdt_address: Option<u64>,
}

/// Validates an RSDP candidate at the start of `bytes`, found at physical `address`.
#[must_use]
pub fn parse_rsdp(bytes: &[u8], address: u64) -> Option<Rsdp> {
    if array::<8>(bytes, 0)? != RSDP_SIGNATURE || !checksum_ok(bytes.get(..RSDP_V1_LENGTH)?) {
        return None;
    }
    let revision = *bytes.get(15)?;
    let oem_id = array(bytes, 9)?;
    let rsdt_address = u32_at(bytes, 16)?;
    let xsdt_address = if revision >= 2 {
        let length = usize::try_from(u32_at(bytes, 20)?).ok()?;
        if length < RSDP_V2_LENGTH || !checksum_ok(bytes.get(..length)?) {
            return None;
        }
        Some(u64_at(bytes, 24)?)
    } else {
        None
    };
    Some(Rsdp {
        address,
        revision,
        oem_id,
        rsdt_address,
        xsdt_address,
    })
}

/// Scans `area` (the bytes at physical `base`) for the RSDP on 16-byte physical boundaries and
/// returns the first valid one.
///
/// # Errors
/// [`AcpiError::RsdpNotFound`].
pub fn find_rsdp(area: &[u8], base: u64) -> Result<Rsdp, AcpiError> {
    // The first offset whose physical address is 16-byte aligned.
    let misalignment = usize::try_from(base & 0xF).unwrap_or(0);
    let first = (16usize.wrapping_sub(misalignment)) & 0xF;
    let mut offset = first;
    while let Some(candidate) = area.get(offset..) {
        if candidate.len() < RSDP_V1_LENGTH {
            break;
        }
        let address = u64::try_from(offset).ok().and_then(|o| base.checked_add(o));
        if let Some(address) = address
            && let Some(rsdp) = parse_rsdp(candidate, address)
        {
            return Ok(rsdp);
        }
        let Some(next) = offset.checked_add(16) else {
            break;
        };
        offset = next;
    }
    Err(AcpiError::RsdpNotFound)
}

/// A system description table header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableHeader {
    /// The four-character signature.
    pub signature: [u8; 4],
    /// The table's length in bytes, header included.
    pub length: u32,
    /// Its revision.
    pub revision: u8,
    /// The OEM id.
    pub oem_id: [u8; 6],
    /// The OEM table id.
    pub oem_table_id: [u8; 8],
}

/// Decodes the header at the start of `bytes`.
#[must_use]
pub fn parse_header(bytes: &[u8]) -> Option<TableHeader> {
    Some(TableHeader {
        signature: array(bytes, 0)?,
        length: u32_at(bytes, 4)?,
        revision: *bytes.get(8)?,
        oem_id: array(bytes, 10)?,
        oem_table_id: array(bytes, 16)?,
    })
}

/// Reads the table at `address` if its signature is `signature`.
///
/// The header is read first; only a matching table is read whole. Its stated length must be
/// sane and its bytes must sum to zero. `Ok(None)` when the signature differs.
///
/// # Errors
/// [`AcpiError::Read`], [`AcpiError::BadLength`], [`AcpiError::BadChecksum`],
/// [`AcpiError::NoMemory`].
pub fn read_table<M: PhysicalMemory + ?Sized>(
    memory: &M,
    address: u64,
    signature: [u8; 4],
) -> Result<Option<Vec<u8>>, AcpiError> {
    let mut raw = [0u8; HEADER_LENGTH];
    memory
        .read(address, &mut raw)
        .map_err(|()| AcpiError::Read { address })?;
    let header = parse_header(&raw).ok_or(AcpiError::Read { address })?;
    if header.signature != signature {
        return Ok(None);
    }
    let bad_length = AcpiError::BadLength {
        address,
        length: header.length,
    };
    if !(u32::try_from(HEADER_LENGTH).unwrap_or(u32::MAX)..=MAX_TABLE_LENGTH)
        .contains(&header.length)
        || address.checked_add(u64::from(header.length)).is_none()
    {
        return Err(bad_length);
    }
    let length = usize::try_from(header.length).map_err(|_| bad_length)?;
    let mut table = Vec::new();
    table
        .try_reserve_exact(length)
        .map_err(|_| AcpiError::NoMemory)?;
    table.resize(length, 0);
    memory
        .read(address, &mut table)
        .map_err(|()| AcpiError::Read { address })?;
    // The length read the second time must be the one we sized for.
    if parse_header(&table).map(|h| h.length) != Some(header.length) {
        return Err(bad_length);
    }
    if !checksum_ok(&table) {
        return Err(AcpiError::BadChecksum { address });
    }
    Ok(Some(table))
}

/// The Extended System Description Table: the physical addresses of the other tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xsdt {
    /// Its physical address.
    pub address: u64,
    /// Its entries, in table order (a trailing partial entry is ignored).
    pub entries: Vec<u64>,
}

/// Reads and validates the XSDT the RSDP points to.
///
/// # Errors
/// [`AcpiError::NoXsdt`] for an ACPI 1.0 RSDP, [`AcpiError::BadSignature`] when the table there
/// is not an XSDT, and [`read_table`]'s errors.
pub fn read_xsdt<M: PhysicalMemory + ?Sized>(memory: &M, rsdp: &Rsdp) -> Result<Xsdt, AcpiError> {
    let address = rsdp.xsdt_address.ok_or(AcpiError::NoXsdt {
        revision: rsdp.revision,
    })?;
    let table =
        read_table(memory, address, *b"XSDT")?.ok_or(AcpiError::BadSignature { address })?;
    let mut entries = Vec::new();
    let body = table.get(HEADER_LENGTH..).unwrap_or_default();
    entries
        .try_reserve_exact(body.len() / 8)
        .map_err(|_| AcpiError::NoMemory)?;
    entries.extend(
        body.chunks_exact(8)
            .filter_map(|c| <[u8; 8]>::try_from(c).ok())
            .map(u64::from_le_bytes),
    );
    Ok(Xsdt { address, entries })
}

/// Returns the first table the XSDT lists with `signature` and a valid checksum.
///
/// Null and unreadable entries, and tables with the signature but a bad length or checksum,
/// are skipped.
///
/// # Errors
/// [`AcpiError::TableNotFound`] when none qualifies, [`AcpiError::NoMemory`].
pub fn find_table<M: PhysicalMemory + ?Sized>(
    memory: &M,
    xsdt: &Xsdt,
    signature: [u8; 4],
) -> Result<Vec<u8>, AcpiError> {
    for &address in xsdt.entries.iter().filter(|&&a| a != 0) {
        match read_table(memory, address, signature) {
            Ok(Some(table)) => return Ok(table),
            Err(AcpiError::NoMemory) => return Err(AcpiError::NoMemory),
            Ok(None) | Err(_) => {}
        }
    }
    Err(AcpiError::TableNotFound { signature })
}

/// Which MADT structure described a processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApicKind {
    /// Type 0, processor local APIC (8-bit ids).
    Xapic,
    /// Type 9, processor local x2APIC (32-bit ids).
    X2apic,
}

/// One processor the MADT describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MadtProcessor {
    /// The ACPI processor UID (Xen: the vCPU id).
    pub uid: u32,
    /// Its local APIC id.
    pub apic_id: u32,
    /// The entry's flags (bit 0 enabled, bit 1 online capable).
    pub flags: u32,
    /// Which entry type it came from.
    pub kind: ApicKind,
}

/// Why MADT entries could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MadtError {
    /// The table is shorter than its fixed part or than its stated length.
    Truncated,
    /// The entry at `offset` states a length below its own 2-byte header, or below what its
    /// type needs.
    EntryTooShort {
        /// Where, from the start of the table.
        offset: usize,
        /// The length it states.
        length: u8,
    },
    /// The entry at `offset` runs past the end of the table.
    EntryOverruns {
        /// Where, from the start of the table.
        offset: usize,
        /// The length it states.
        length: u8,
    },
    /// The processor list could not be allocated.
    NoMemory,
}

/// The parsed Multiple APIC Description Table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Madt {
    /// The local APIC's physical address.
    pub local_apic_address: u32,
    /// The MADT flags.
    pub flags: u32,
    /// Every processor entry, in table order.
    pub processors: Vec<MadtProcessor>,
    /// How many entries of other types were skipped.
    pub other_entries: usize,
}

/// Parses a MADT (the whole table, header included; its stated length bounds the entries).
///
/// # Errors
/// [`MadtError`] for a truncated table or a malformed entry.
pub fn parse_madt(table: &[u8]) -> Result<Madt, MadtError> {
    let stated = parse_header(table).ok_or(MadtError::Truncated)?.length;
    let length = usize::try_from(stated).map_err(|_| MadtError::Truncated)?;
    let table = table.get(..length).ok_or(MadtError::Truncated)?;
    let local_apic_address = u32_at(table, HEADER_LENGTH).ok_or(MadtError::Truncated)?;
    let flags = u32_at(table, 40).ok_or(MadtError::Truncated)?;
    let mut madt = Madt {
        local_apic_address,
        flags,
        processors: Vec::new(),
        other_entries: 0,
    };
    let mut offset = MADT_FIXED_LENGTH;
    while offset < table.len() {
        let (Some(&kind), Some(&entry_length)) =
            (table.get(offset), table.get(offset.wrapping_add(1)))
        else {
            return Err(MadtError::Truncated);
        };
        let end =
            offset
                .checked_add(usize::from(entry_length))
                .ok_or(MadtError::EntryOverruns {
                    offset,
                    length: entry_length,
                })?;
        let entry = table.get(offset..end).ok_or(MadtError::EntryOverruns {
            offset,
            length: entry_length,
        })?;
        let too_short = MadtError::EntryTooShort {
            offset,
            length: entry_length,
        };
        if entry.len() < 2 {
            return Err(too_short);
        }
        let processor = match kind {
            MADT_LOCAL_APIC => Some(MadtProcessor {
                uid: u32::from(*entry.get(2).ok_or(too_short)?),
                apic_id: u32::from(*entry.get(3).ok_or(too_short)?),
                flags: u32_at(entry, 4).ok_or(too_short)?,
                kind: ApicKind::Xapic,
            }),
            MADT_LOCAL_X2APIC => Some(MadtProcessor {
                apic_id: u32_at(entry, 4).ok_or(too_short)?,
                flags: u32_at(entry, 8).ok_or(too_short)?,
                uid: u32_at(entry, 12).ok_or(too_short)?,
                kind: ApicKind::X2apic,
            }),
            _ => None,
        };
        match processor {
            Some(p) => {
                madt.processors
                    .try_reserve(1)
                    .map_err(|_| MadtError::NoMemory)?;
                madt.processors.push(p);
            }
            None => madt.other_entries = madt.other_entries.saturating_add(1),
        }
        offset = end;
    }
    Ok(madt)
}

impl Madt {
    /// The processor UID of the first entry with local APIC id `apic_id`.
    #[must_use]
    pub fn processor_uid(&self, apic_id: u32) -> Option<u32> {
        self.processors
            .iter()
            .find(|p| p.apic_id == apic_id)
            .map(|p| p.uid)
    }
}

/// The whole chain, as `SystemInitialize` needs it: RSDP in `bios_area` (the bytes at
/// `bios_base`), XSDT, the `"APIC"` table, its entries.
///
/// # Errors
/// Any [`AcpiError`] on the way.
pub fn read_madt<M: PhysicalMemory + ?Sized>(
    memory: &M,
    bios_area: &[u8],
    bios_base: u64,
) -> Result<Madt, AcpiError> {
    let rsdp = find_rsdp(bios_area, bios_base)?;
    let xsdt = read_xsdt(memory, &rsdp)?;
    let table = find_table(memory, &xsdt, *b"APIC")?;
    parse_madt(&table).map_err(AcpiError::Madt)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::vec;

    /// Physical memory as a map of byte runs.
    #[derive(Default)]
    pub struct Memory {
        runs: BTreeMap<u64, Vec<u8>>,
    }

    impl Memory {
        pub fn put(&mut self, address: u64, bytes: Vec<u8>) {
            self.runs.insert(address, bytes);
        }
    }

    impl PhysicalMemory for Memory {
        fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), ()> {
            let (&start, run) = self.runs.range(..=address).next_back().ok_or(())?;
            let from = usize::try_from(address - start).map_err(|_| ())?;
            let src = run.get(from..from + buffer.len()).ok_or(())?;
            buffer.copy_from_slice(src);
            Ok(())
        }
    }

    pub fn fix_checksum(bytes: &mut [u8], at: usize) {
        bytes[at] = 0;
        let sum = bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        bytes[at] = 0u8.wrapping_sub(sum);
    }

    pub fn rsdp(revision: u8, xsdt: u64) -> Vec<u8> {
        let mut r = vec![0u8; 36];
        r[..8].copy_from_slice(b"RSD PTR ");
        r[9..15].copy_from_slice(b"Xen   ");
        r[15] = revision;
        r[16..20].copy_from_slice(&0xFC00_0000u32.to_le_bytes());
        r[20..24].copy_from_slice(&36u32.to_le_bytes());
        r[24..32].copy_from_slice(&xsdt.to_le_bytes());
        fix_checksum(&mut r[..20], 8);
        fix_checksum(&mut r, 32);
        r
    }

    pub fn table(signature: [u8; 4], body: &[u8]) -> Vec<u8> {
        let mut t = vec![0u8; 36];
        t[..4].copy_from_slice(&signature);
        let len = u32::try_from(36 + body.len()).unwrap();
        t[4..8].copy_from_slice(&len.to_le_bytes());
        t[8] = 1;
        t[10..16].copy_from_slice(b"Xen   ");
        t.extend_from_slice(body);
        fix_checksum(&mut t, 9);
        t
    }

    pub fn xapic(uid: u8, apic: u8, flags: u32) -> Vec<u8> {
        let mut e = vec![0, 8, uid, apic];
        e.extend_from_slice(&flags.to_le_bytes());
        e
    }

    pub fn x2apic(uid: u32, apic: u32, flags: u32) -> Vec<u8> {
        let mut e = vec![9, 16, 0, 0];
        e.extend_from_slice(&apic.to_le_bytes());
        e.extend_from_slice(&flags.to_le_bytes());
        e.extend_from_slice(&uid.to_le_bytes());
        e
    }

    pub fn madt(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut body = 0xFEE0_0000u32.to_le_bytes().to_vec();
        body.extend_from_slice(&1u32.to_le_bytes());
        for e in entries {
            body.extend_from_slice(e);
        }
        table(*b"APIC", &body)
    }

    fn xsdt(entries: &[u64]) -> Vec<u8> {
        let body: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
        table(*b"XSDT", &body)
    }

    /// A BIOS area holding an RSDP at offset `at`, and memory holding an XSDT listing a FACP
    /// and the MADT built from `entries`.
    pub fn machine(entries: &[Vec<u8>]) -> (Vec<u8>, Memory) {
        let mut area = vec![0u8; BIOS_AREA_LENGTH];
        let r = rsdp(2, 0x1000);
        area[0xA020..0xA020 + 36].copy_from_slice(&r);
        let mut memory = Memory::default();
        memory.put(0x1000, xsdt(&[0x2000, 0x3000]));
        memory.put(0x2000, table(*b"FACP", &[0; 8]));
        memory.put(0x3000, madt(entries));
        (area, memory)
    }

    #[test]
    fn finds_the_madt_and_maps_apic_ids_to_processor_uids() {
        // hvmloader: vCPU i has APIC id 2i.
        let (area, memory) = machine(&[xapic(0, 0, 1), xapic(1, 2, 1), xapic(2, 4, 0)]);
        let madt = read_madt(&memory, &area, BIOS_AREA_BASE).unwrap();
        assert_eq!(madt.local_apic_address, 0xFEE0_0000);
        assert_eq!(madt.processors.len(), 3);
        assert_eq!(madt.processor_uid(2), Some(1));
        assert_eq!(
            madt.processor_uid(4),
            Some(2),
            "disabled entries still count"
        );
        assert_eq!(madt.processor_uid(1), None);
    }

    #[test]
    fn rsdp_found_on_16_byte_physical_boundaries_only() {
        let mut area = vec![0u8; 256];
        area[8..44].copy_from_slice(&rsdp(2, 0x1000));
        assert_eq!(find_rsdp(&area, 0xE0000), Err(AcpiError::RsdpNotFound));
        // The same bytes at physical 0xE0010 when the area starts 8 bytes early.
        let found = find_rsdp(&area, 0xE0008).unwrap();
        assert_eq!(found.address, 0xE0010);
        assert_eq!(found.xsdt_address, Some(0x1000));
    }

    #[test]
    fn rsdp_with_bad_checksums_is_skipped() {
        let mut area = vec![0u8; 128];
        let mut bad = rsdp(2, 0x1000);
        bad[19] ^= 1; // first checksum broken (the extended one too)
        area[..36].copy_from_slice(&bad);
        let mut bad_extended = rsdp(2, 0x2000);
        bad_extended[35] ^= 1; // only the extended checksum broken
        area[32..68].copy_from_slice(&bad_extended);
        let good = rsdp(2, 0x3000);
        area[80..116].copy_from_slice(&good);
        assert_eq!(
            find_rsdp(&area, 0).unwrap(),
            Rsdp {
                address: 80,
                revision: 2,
                oem_id: *b"Xen   ",
                rsdt_address: 0xFC00_0000,
                xsdt_address: Some(0x3000),
            }
        );
    }

    #[test]
    fn truncated_rsdp_at_the_end_of_the_area_is_not_read_past() {
        let r = rsdp(2, 0x1000);
        // Only 20 bytes fit: the first checksum passes, the extended part is missing.
        let area = r[..20].to_vec();
        assert_eq!(find_rsdp(&area, 0), Err(AcpiError::RsdpNotFound));
        assert_eq!(find_rsdp(&[], 0), Err(AcpiError::RsdpNotFound));
        assert_eq!(find_rsdp(b"RSD PTR ", 0), Err(AcpiError::RsdpNotFound));
    }

    #[test]
    fn rsdp_with_overlong_or_short_stated_length_is_refused() {
        for length in [0u32, 35, 1000, u32::MAX] {
            let mut r = rsdp(2, 0x1000);
            r[20..24].copy_from_slice(&length.to_le_bytes());
            fix_checksum(&mut r[..20], 8);
            fix_checksum(&mut r, 32);
            assert_eq!(parse_rsdp(&r, 0), None, "length {length}");
        }
    }

    #[test]
    fn acpi_1_rsdp_has_no_xsdt_and_no_rsdt_fallback() {
        let mut area = vec![0u8; 64];
        let mut r = rsdp(0, 0);
        r.truncate(20);
        fix_checksum(&mut r, 8);
        area[..20].copy_from_slice(&r);
        let found = find_rsdp(&area, 0).unwrap();
        assert_eq!(found.xsdt_address, None);
        let memory = Memory::default();
        assert_eq!(
            read_madt(&memory, &area, 0),
            Err(AcpiError::NoXsdt { revision: 0 })
        );
    }

    #[test]
    fn xsdt_must_be_an_xsdt_with_a_valid_checksum() {
        let (area, mut memory) = machine(&[xapic(0, 0, 1)]);
        memory.put(0x1000, table(*b"RSDT", &[]));
        assert_eq!(
            read_madt(&memory, &area, BIOS_AREA_BASE),
            Err(AcpiError::BadSignature { address: 0x1000 })
        );
        let mut x = xsdt(&[0x3000]);
        x[40] ^= 0xFF;
        memory.put(0x1000, x);
        assert_eq!(
            read_madt(&memory, &area, BIOS_AREA_BASE),
            Err(AcpiError::BadChecksum { address: 0x1000 })
        );
        memory.put(0x1000, vec![0; 4]);
        assert_eq!(
            read_madt(&memory, &area, BIOS_AREA_BASE),
            Err(AcpiError::Read { address: 0x1000 })
        );
    }

    #[test]
    fn table_lengths_that_are_short_huge_or_wrap_are_refused() {
        let mut memory = Memory::default();
        for (length, address) in [
            (35u32, 0x1000u64),
            (MAX_TABLE_LENGTH + 1, 0x1000),
            (u32::MAX, 0x1000),
            (64, u64::MAX - 40),
        ] {
            let mut t = table(*b"APIC", &[0; 8]);
            t[4..8].copy_from_slice(&length.to_le_bytes());
            memory.put(address, t);
            assert_eq!(
                read_table(&memory, address, *b"APIC"),
                Err(AcpiError::BadLength { address, length }),
                "length {length} at {address:#x}"
            );
        }
        // A stated length longer than the memory behind it is a read failure, not a read past.
        let mut t = table(*b"APIC", &[0; 8]);
        t[4..8].copy_from_slice(&4096u32.to_le_bytes());
        memory.put(0x5000, t);
        assert_eq!(
            read_table(&memory, 0x5000, *b"APIC"),
            Err(AcpiError::Read { address: 0x5000 })
        );
    }

    #[test]
    fn xsdt_entries_that_are_null_unreadable_or_corrupt_are_skipped() {
        let mut memory = Memory::default();
        let mut corrupt = madt(&[xapic(7, 7, 1)]);
        corrupt[50] ^= 0x55;
        memory.put(0x2000, corrupt);
        memory.put(0x3000, madt(&[xapic(0, 0, 1)]));
        let x = Xsdt {
            address: 0x1000,
            entries: vec![0, 0xDEAD_0000, 0x2000, 0x3000],
        };
        let t = find_table(&memory, &x, *b"APIC").unwrap();
        assert_eq!(parse_madt(&t).unwrap().processor_uid(0), Some(0));
        assert_eq!(
            find_table(&memory, &x, *b"HPET"),
            Err(AcpiError::TableNotFound {
                signature: *b"HPET"
            })
        );
    }

    #[test]
    fn xsdt_with_a_partial_trailing_entry_ignores_it() {
        let mut memory = Memory::default();
        let mut body = 0x3000u64.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 2, 3]);
        memory.put(0x1000, table(*b"XSDT", &body));
        let r = Rsdp {
            address: 0,
            revision: 2,
            oem_id: [0; 6],
            rsdt_address: 0,
            xsdt_address: Some(0x1000),
        };
        assert_eq!(read_xsdt(&memory, &r).unwrap().entries, [0x3000]);
    }

    #[test]
    fn x2apic_entries_resolve_ids_above_255() {
        let t = madt(&[xapic(0, 0, 1), x2apic(300, 600, 1), xapic(1, 2, 1)]);
        let m = parse_madt(&t).unwrap();
        assert_eq!(m.processor_uid(600), Some(300));
        assert_eq!(m.processor_uid(2), Some(1));
        assert_eq!(m.processors[1].kind, ApicKind::X2apic);
    }

    #[test]
    fn first_entry_wins_for_a_duplicate_apic_id() {
        let m = parse_madt(&madt(&[xapic(3, 6, 1), xapic(9, 6, 1)])).unwrap();
        assert_eq!(m.processor_uid(6), Some(3));
    }

    #[test]
    fn unknown_entry_types_are_skipped_by_length() {
        let ioapic = vec![1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0];
        let future = vec![0x7F, 3, 0xAA];
        let m = parse_madt(&madt(&[ioapic, xapic(0, 0, 1), future, xapic(1, 2, 1)])).unwrap();
        assert_eq!(m.other_entries, 2);
        assert_eq!(m.processor_uid(2), Some(1));
        // A longer-than-needed processor entry is read for the fields it has.
        let mut long = xapic(5, 10, 1);
        long[1] = 12;
        long.extend_from_slice(&[0; 4]);
        assert_eq!(
            parse_madt(&madt(&[long])).unwrap().processor_uid(10),
            Some(5)
        );
    }

    #[test]
    fn malformed_madt_entries_are_errors_not_loops() {
        let zero = vec![0x7F, 0];
        assert_eq!(
            parse_madt(&madt(&[zero])),
            Err(MadtError::EntryTooShort {
                offset: 44,
                length: 0
            })
        );
        let one = vec![0x7F, 1];
        assert!(matches!(
            parse_madt(&madt(&[one])),
            Err(MadtError::EntryTooShort { length: 1, .. })
        ));
        let mut short = xapic(0, 0, 1);
        short[1] = 4;
        short.truncate(4);
        assert!(matches!(
            parse_madt(&madt(&[short])),
            Err(MadtError::EntryTooShort { length: 4, .. })
        ));
        let mut short_x2 = x2apic(0, 0, 1);
        short_x2[1] = 12;
        short_x2.truncate(12);
        assert!(matches!(
            parse_madt(&madt(&[short_x2])),
            Err(MadtError::EntryTooShort { length: 12, .. })
        ));
        let mut overrun = xapic(0, 0, 1);
        overrun[1] = 200;
        assert_eq!(
            parse_madt(&madt(&[overrun])),
            Err(MadtError::EntryOverruns {
                offset: 44,
                length: 200
            })
        );
        // A single byte left after the last entry.
        assert_eq!(parse_madt(&madt(&[vec![0]])), Err(MadtError::Truncated));
    }

    #[test]
    fn truncated_madt_tables_are_refused() {
        let t = madt(&[xapic(0, 0, 1)]);
        assert_eq!(parse_madt(&t[..40]), Err(MadtError::Truncated));
        assert_eq!(parse_madt(&t[..t.len() - 1]), Err(MadtError::Truncated));
        assert_eq!(parse_madt(&[]), Err(MadtError::Truncated));
        // Bytes beyond the stated length are not entries.
        let mut longer = t;
        longer.extend_from_slice(&[0, 0]);
        assert_eq!(parse_madt(&longer).unwrap().processors.len(), 1);
    }

    #[test]
    fn madt_without_processor_entries_finds_nothing() {
        let m = parse_madt(&madt(&[])).unwrap();
        assert!(m.processors.is_empty());
        assert_eq!(m.processor_uid(0), None);
    }

    #[test]
    fn machine_without_madt_reports_table_not_found() {
        let (area, mut memory) = machine(&[]);
        memory.put(0x1000, xsdt(&[0x2000]));
        assert_eq!(
            read_madt(&memory, &area, BIOS_AREA_BASE),
            Err(AcpiError::TableNotFound {
                signature: *b"APIC"
            })
        );
    }
}
