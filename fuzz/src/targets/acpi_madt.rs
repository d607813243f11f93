// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `acpi_madt`: the ACPI chain xen.sys walks at load (`xen::acpi`): RSDP scan, XSDT, table
//! lookup and MADT entries, over firmware bytes the fuzzer writes.
//!
//! The input builds a machine (an RSDP in the BIOS area, an XSDT, a few tables, a MADT whose
//! entries come from the input), then patches arbitrary bytes of it, fixing the checksums
//! afterwards or not; or it hands raw bytes to the MADT parser. Every result is compared with
//! a model written from the ACPI specification and the module's documented decisions:
//! * `find_rsdp` returns the first 16-byte-aligned candidate with the signature and valid
//!   checksums (the extended one for revision 2+, over a length of at least 36 that fits);
//! * `read_table` / `read_xsdt` / `find_table` skip null and unreadable entries and bad tables,
//!   refuse lengths outside `36..=MAX_TABLE_LENGTH` and bad checksums;
//! * `parse_madt` walks entries by their length, refusing a length below 2 or past the table
//!   and a processor entry too short for its fields; its processors and skipped count equal
//!   the model's; `processor_uid` returns the first match.

use std::collections::BTreeMap;

use xen::acpi::{
    AcpiError, ApicKind, BIOS_AREA_BASE, HEADER_LENGTH, MADT_FIXED_LENGTH, MAX_TABLE_LENGTH, Madt,
    MadtError, MadtProcessor, PhysicalMemory, Rsdp, find_rsdp, parse_madt, read_madt,
};

use crate::input::{Reader, Writer};

#[derive(Default)]
struct Memory {
    runs: BTreeMap<u64, Vec<u8>>,
}

impl PhysicalMemory for Memory {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<(), ()> {
        let (&start, run) = self.runs.range(..=address).next_back().ok_or(())?;
        let from = usize::try_from(address - start).map_err(|_| ())?;
        let src = run
            .get(from..from.checked_add(buffer.len()).ok_or(())?)
            .ok_or(())?;
        buffer.copy_from_slice(src);
        Ok(())
    }
}

fn sum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |s, &b| s.wrapping_add(b))
}

fn fix(bytes: &mut [u8], at: usize) {
    if at < bytes.len() {
        bytes[at] = 0;
        bytes[at] = 0u8.wrapping_sub(sum(bytes));
    }
}

fn table(signature: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 36];
    t[..4].copy_from_slice(&signature);
    t[4..8].copy_from_slice(&u32::try_from(36 + body.len()).expect("small").to_le_bytes());
    t[8] = 1;
    t[10..16].copy_from_slice(b"Xen   ");
    t.extend_from_slice(body);
    fix(&mut t, 9);
    t
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

// ---- the model ---------------------------------------------------------------------------

fn model_rsdp(area: &[u8], base: u64) -> Option<(u64, u8, Option<u64>)> {
    let mut offset = (16 - (base & 15) as usize) & 15;
    while offset + 20 <= area.len() {
        let c = &area[offset..];
        let ok_v1 = &c[..8] == b"RSD PTR " && sum(&c[..20]) == 0;
        if ok_v1 {
            let revision = c[15];
            if revision < 2 {
                return Some((base + offset as u64, revision, None));
            }
            if let Some(length) = le32(c, 20).map(|l| l as usize)
                && length >= 36
                && length <= c.len()
                && sum(&c[..length]) == 0
                && let Some(xsdt) = le64(c, 24)
            {
                return Some((base + offset as u64, revision, Some(xsdt)));
            }
        }
        offset += 16;
    }
    None
}

fn model_table(
    memory: &Memory,
    address: u64,
    signature: &[u8; 4],
) -> Result<Option<Vec<u8>>, AcpiError> {
    let mut header = [0u8; HEADER_LENGTH];
    memory
        .read(address, &mut header)
        .map_err(|()| AcpiError::Read { address })?;
    if &header[..4] != signature {
        return Ok(None);
    }
    let length = le32(&header, 4).expect("36 bytes");
    if !(36..=MAX_TABLE_LENGTH).contains(&length)
        || address.checked_add(u64::from(length)).is_none()
    {
        return Err(AcpiError::BadLength { address, length });
    }
    let mut t = vec![0u8; length as usize];
    memory
        .read(address, &mut t)
        .map_err(|()| AcpiError::Read { address })?;
    if sum(&t) != 0 {
        return Err(AcpiError::BadChecksum { address });
    }
    Ok(Some(t))
}

fn model_madt_entries(table: &[u8]) -> Result<Madt, MadtError> {
    let length = le32(table, 4).ok_or(MadtError::Truncated)? as usize;
    if table.len() < HEADER_LENGTH || length > table.len() {
        return Err(MadtError::Truncated);
    }
    let table = &table[..length];
    let local_apic_address = le32(table, 36).ok_or(MadtError::Truncated)?;
    let flags = le32(table, 40).ok_or(MadtError::Truncated)?;
    let mut madt = Madt {
        local_apic_address,
        flags,
        processors: Vec::new(),
        other_entries: 0,
    };
    let mut offset = MADT_FIXED_LENGTH;
    while offset < table.len() {
        if offset + 2 > table.len() {
            return Err(MadtError::Truncated);
        }
        let (kind, len) = (table[offset], table[offset + 1]);
        if offset + usize::from(len) > table.len() {
            return Err(MadtError::EntryOverruns {
                offset,
                length: len,
            });
        }
        let e = &table[offset..offset + usize::from(len)];
        let short = MadtError::EntryTooShort {
            offset,
            length: len,
        };
        if len < 2 {
            return Err(short);
        }
        match kind {
            0 => {
                if len < 8 {
                    return Err(short);
                }
                madt.processors.push(MadtProcessor {
                    uid: e[2].into(),
                    apic_id: e[3].into(),
                    flags: le32(e, 4).expect("8"),
                    kind: ApicKind::Xapic,
                });
            }
            9 => {
                if len < 16 {
                    return Err(short);
                }
                madt.processors.push(MadtProcessor {
                    apic_id: le32(e, 4).expect("16"),
                    flags: le32(e, 8).expect("16"),
                    uid: le32(e, 12).expect("16"),
                    kind: ApicKind::X2apic,
                });
            }
            _ => madt.other_entries += 1,
        }
        offset += usize::from(len);
    }
    Ok(madt)
}

fn model_read_madt(memory: &Memory, area: &[u8], base: u64) -> Result<Madt, AcpiError> {
    let (_, revision, xsdt) = model_rsdp(area, base).ok_or(AcpiError::RsdpNotFound)?;
    let address = xsdt.ok_or(AcpiError::NoXsdt { revision })?;
    let x = model_table(memory, address, b"XSDT")?.ok_or(AcpiError::BadSignature { address })?;
    let entries: Vec<u64> = x[36..]
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8")))
        .collect();
    for &entry in entries.iter().filter(|&&e| e != 0) {
        if let Ok(Some(t)) = model_table(memory, entry, b"APIC") {
            return model_madt_entries(&t).map_err(AcpiError::Madt);
        }
    }
    Err(AcpiError::TableNotFound {
        signature: *b"APIC",
    })
}

// ---- the machine -------------------------------------------------------------------------

fn entry(r: &mut Reader<'_>) -> Vec<u8> {
    match r.below(4) {
        0 => {
            let mut e = vec![0, 8, r.u8(), r.u8()];
            e.extend_from_slice(&r.u32().to_le_bytes());
            e
        }
        1 => {
            let mut e = vec![9, 16, 0, 0];
            for _ in 0..3 {
                e.extend_from_slice(&r.u32().to_le_bytes());
            }
            e
        }
        2 => vec![1, 12, 0, 0, 0, 0, 0xC0, 0xFE, 0, 0, 0, 0],
        _ => r.short_bytes(24).to_vec(),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    if r.below(4) == 0 {
        // The MADT parser alone, on raw bytes.
        let raw = r.rest();
        let got = parse_madt(raw);
        assert_eq!(got, model_madt_entries(raw));
        if let Ok(madt) = got {
            let probe = r.u32();
            assert_eq!(
                madt.processor_uid(probe),
                madt.processors
                    .iter()
                    .find(|p| p.apic_id == probe)
                    .map(|p| p.uid)
            );
        }
        return;
    }
    let revision = r.choose(&[2u8, 2, 0, 1, 3, 0xFF]);
    let rsdp_at = usize::from(r.u8()) * 16 + usize::from(r.below(2)) * 8;
    let misalign = u64::from(r.below(4) == 0) * u64::from(r.below(16));
    let base = BIOS_AREA_BASE + misalign;
    let xsdt_at = 0x1000u64 * u64::from(r.below(4));
    let madt: Vec<Vec<u8>> = (0..r.below(12)).map(|_| entry(&mut r)).collect();
    let mut body = 0xFEE0_0000u32.to_le_bytes().to_vec();
    body.extend_from_slice(&r.u32().to_le_bytes());
    for e in &madt {
        body.extend_from_slice(e);
    }
    let mut memory = Memory::default();
    let mut xsdt_entries: Vec<u64> = vec![0x2000, 0x3000];
    if r.bool() {
        xsdt_entries.insert(0, r.choose(&[0u64, 0x9000, 0x3000, 0x3004]));
    }
    let mut tables = vec![
        (0x2000u64, table(*b"FACP", &[0; 8])),
        (0x3000u64, table(*b"APIC", &body)),
    ];
    if r.bool() {
        tables.push((0x9000, table(*b"APIC", &[0; 4])));
    }
    let mut xsdt = table(
        *b"XSDT",
        &xsdt_entries
            .iter()
            .flat_map(|e| e.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let mut rsdp = vec![0u8; 36];
    rsdp[..8].copy_from_slice(b"RSD PTR ");
    rsdp[15] = revision;
    rsdp[20..24].copy_from_slice(&36u32.to_le_bytes());
    rsdp[24..32].copy_from_slice(&(0x1000 + xsdt_at).to_le_bytes());

    // Patches: (which blob, offset, byte), then whether checksums are fixed afterwards.
    let patches: Vec<(u8, u16, u8)> = (0..r.below(6))
        .map(|_| (r.below(4), r.u16(), r.u8()))
        .collect();
    let refix = r.bool();
    let apply = |blob: u8, bytes: &mut Vec<u8>| {
        for &(b, at, v) in &patches {
            if b == blob && !bytes.is_empty() {
                let at = usize::from(at) % bytes.len();
                bytes[at] = v;
            }
        }
    };
    apply(0, &mut rsdp);
    apply(1, &mut xsdt);
    for (i, (_, t)) in tables.iter_mut().enumerate() {
        apply(2 + u8::from(i > 0), t);
    }
    fix(&mut rsdp[..20], 8);
    fix(&mut rsdp, 32);
    if refix {
        fix(&mut xsdt, 9);
        for (_, t) in &mut tables {
            fix(t, 9);
        }
    }
    memory.runs.insert(0x1000 + xsdt_at, xsdt);
    for (address, t) in tables {
        memory.runs.insert(address, t);
    }
    let mut area = vec![0u8; 4096];
    let at = rsdp_at.min(area.len() - 36);
    area[at..at + 36].copy_from_slice(&rsdp);
    // A decoy without a valid checksum earlier in the area.
    if at >= 16 && r.bool() {
        area[at - 16..at - 8].copy_from_slice(b"RSD PTR ");
    }

    let found = find_rsdp(&area, base);
    match (found, model_rsdp(&area, base)) {
        (
            Ok(Rsdp {
                address,
                revision,
                xsdt_address,
                ..
            }),
            Some(model),
        ) => {
            assert_eq!((address, revision, xsdt_address), model);
            assert_eq!(address % 16, 0);
        }
        (Err(AcpiError::RsdpNotFound), None) => {}
        (a, b) => panic!("find_rsdp {a:?}, model {b:?}"),
    }
    assert_eq!(
        read_madt(&memory, &area, base),
        model_read_madt(&memory, &area, base)
    );
}

/// Seeds: the unit tests' machine (FACP and a MADT with xAPIC, x2APIC and I/O APIC entries).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut machine = Writer::new();
    machine.u8(1).u8(0).u8(0xA0).u8(0).u8(1).u8(0).u8(4);
    machine.u8(0).u8(0).u8(0).u32(1);
    machine.u8(0).u8(1).u8(2).u32(1);
    machine.u8(1).u32(0x100).u32(1).u32(7);
    machine.u8(2);
    machine.u32(1).u8(0).u8(0).u8(0).u8(1);
    let mut corrupt = Writer::new();
    corrupt.u8(1).u8(0).u8(0x10).u8(1).u8(1).u8(0).u8(2);
    corrupt.u8(3).short_bytes(&[0, 0]);
    corrupt.u8(0).u8(5).u8(7).u32(3);
    corrupt
        .u32(0)
        .u8(1)
        .u8(0)
        .u8(1)
        .u8(2)
        .u8(3)
        .u16(40)
        .u8(0xFF)
        .u8(1);
    let mut raw = Writer::new();
    raw.u8(0);
    let mut t = table(
        *b"APIC",
        &[
            0, 0, 0xE0, 0xFE, 1, 0, 0, 0, 0, 8, 0, 0, 1, 0, 0, 0, 9, 16, 0, 0, 5, 0, 0, 0, 1, 0, 0,
            0, 2, 0, 0, 0, 7, 1,
        ],
    );
    fix(&mut t, 9);
    raw.bytes(&t);
    let mut acpi1 = Writer::new();
    acpi1
        .u8(1)
        .u8(2)
        .u8(0x20)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .u32(0)
        .u8(0)
        .u8(0)
        .u8(0)
        .u8(1);
    vec![
        ("machine", machine.finish()),
        ("corrupt", corrupt.finish()),
        ("raw-madt", raw.finish()),
        ("acpi-1.0", acpi1.finish()),
    ]
}
