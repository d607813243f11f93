// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The multiboot v1 information a loader hands the kernel (`EBX` on entry through the multiboot
//! header), reduced to what the kernel uses: the command line and the modules.
//!
//! [`parse`] reads the structure through a reader of 32-bit words at physical addresses (the
//! kernel's reads its identity map; tests read a model), honouring the `flags` bits that say
//! which fields are valid: bit 2 `cmdline`, bit 3 `mods_count`/`mods_addr`. At most
//! [`MAX_MODULES`] modules are taken; a module whose end lies before its start has size 0.

/// What `EAX` holds when a multiboot loader enters the kernel.
pub const BOOTLOADER_MAGIC: u32 = 0x2bad_b002;
/// The most modules [`parse`] returns.
pub const MAX_MODULES: usize = 4;

/// `flags`: `cmdline` is valid.
const FLAG_CMDLINE: u32 = 1 << 2;
/// `flags`: `mods_count` and `mods_addr` are valid.
const FLAG_MODS: u32 = 1 << 3;
/// Offsets in the information structure.
const FLAGS: u64 = 0;
const CMDLINE: u64 = 16;
const MODS_COUNT: u64 = 20;
const MODS_ADDR: u64 = 24;
/// Bytes of one module entry (`mod_start`, `mod_end`, `string`, `reserved`).
const MODULE_BYTES: u64 = 16;

/// One boot module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Module {
    /// Its first byte.
    pub start: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its command line's address (0 for none).
    pub cmdline: u64,
}

/// The parts of the information the kernel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootInfo {
    /// The command line's address (0 for none).
    pub cmdline: u64,
    /// The modules, the first `count` valid.
    pub modules: [Module; MAX_MODULES],
    /// How many modules there are.
    pub count: usize,
}

/// Reads the information at `mbi` through `read32` (a 32-bit word at a physical address).
pub fn parse(mbi: u64, read32: &mut dyn FnMut(u64) -> u32) -> BootInfo {
    let mut info = BootInfo::default();
    let flags = read32(mbi + FLAGS);
    if flags & FLAG_CMDLINE != 0 {
        info.cmdline = u64::from(read32(mbi + CMDLINE));
    }
    if flags & FLAG_MODS != 0 {
        let list = u64::from(read32(mbi + MODS_ADDR));
        let n = usize::try_from(read32(mbi + MODS_COUNT)).unwrap_or(0);
        for (i, slot) in info.modules.iter_mut().enumerate().take(n) {
            let entry = list + MODULE_BYTES * i as u64;
            let start = read32(entry);
            let end = read32(entry + 4);
            *slot = Module {
                start: u64::from(start),
                size: u64::from(end.saturating_sub(start)),
                cmdline: u64::from(read32(entry + 8)),
            };
            info.count = i + 1;
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn reader(words: &[(u64, u32)]) -> impl FnMut(u64) -> u32 {
        let map: BTreeMap<u64, u32> = words.iter().copied().collect();
        move |at| map.get(&at).copied().unwrap_or(0xdead_beef)
    }

    #[test]
    fn the_boot_sectors_information_gives_the_command_line_and_one_module() {
        // What scripts/lib/xtk-bootsector.S builds: flags 0xc, cmdline 0x8200, one module.
        let mut read = reader(&[
            (0x7d80, 0xc),
            (0x7d90, 0x8200),
            (0x7d94, 1),
            (0x7d98, 0x7d9c),
            (0x7d9c, 0x60_0000),
            (0x7da0, 0x61_dc00),
            (0x7da4, 0),
        ]);
        let info = parse(0x7d80, &mut read);
        assert_eq!(info.cmdline, 0x8200);
        assert_eq!(info.count, 1);
        assert_eq!(
            info.modules[0],
            Module {
                start: 0x60_0000,
                size: 0x1_dc00,
                cmdline: 0
            }
        );
    }

    #[test]
    fn fields_whose_flag_is_clear_are_not_read() {
        let mut read = reader(&[(0x1000, 0)]);
        let info = parse(0x1000, &mut read);
        assert_eq!(info, BootInfo::default());
    }

    #[test]
    fn modules_beyond_the_limit_are_dropped_and_a_reversed_module_is_empty() {
        let mut words = std::vec![(0x1000, 0x8), (0x1014, 9), (0x1018, 0x2000)];
        for i in 0..9u64 {
            let at = 0x2000 + 16 * i;
            let start = 0x10_0000 * (u32::try_from(i).unwrap() + 1);
            words.push((at, start));
            // The first module ends before it starts.
            words.push((at + 4, if i == 0 { start - 1 } else { start + 0x100 }));
            words.push((at + 8, 0));
        }
        let mut read = reader(&words);
        let info = parse(0x1000, &mut read);
        assert_eq!(info.cmdline, 0);
        assert_eq!(info.count, MAX_MODULES);
        assert_eq!(info.modules[0].size, 0);
        assert_eq!(info.modules[3].start, 0x40_0000);
        assert_eq!(info.modules[3].size, 0x100);
    }
}
