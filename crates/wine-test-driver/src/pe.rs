// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Just enough of a mapped PE32+ image to find and rebind an import slot: the import
//! directory, its descriptors, their name tables and the import address table (IAT).

use core::ffi::c_void;

use ntddk::NTSTATUS;

/// `PAGE_READWRITE`.
const PAGE_READWRITE: u32 = 0x04;
/// `NtCurrentProcess()`.
const CURRENT_PROCESS: *mut c_void = usize::MAX as *mut c_void;

// From ntoskrnl.exe, not ntdll.dll: Wine's loader treats a native-subsystem image that imports
// ntdll.dll or kernel32.dll as an ordinary DLL and calls its entry point as `DllMain`.
#[link(name = "ntoskrnl.exe", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "system" {
    /// `RtlPcToFileHeader`: the base of the image holding `pc` (also written to `base`).
    fn RtlPcToFileHeader(pc: *mut c_void, base: *mut *mut c_void) -> *mut c_void;
    /// `ZwProtectVirtualMemory`.
    fn ZwProtectVirtualMemory(
        process: *mut c_void,
        address: *mut *mut c_void,
        size: *mut usize,
        protection: u32,
        old: *mut u32,
    ) -> NTSTATUS;
}

/// The base of the loaded image that holds `address`, if any.
pub fn image_base(address: usize) -> Option<usize> {
    let mut base = core::ptr::null_mut();
    // SAFETY: the routine only looks `address` up in the loader's module list and writes
    // `base`, a valid local.
    let found = unsafe { RtlPcToFileHeader(address as *mut c_void, &raw mut base) };
    (!found.is_null()).then_some(found as usize)
}

/// A PE32+ image the loader mapped.
pub struct Image {
    base: usize,
    size: u32,
}

impl Image {
    /// The image mapped at `base`, if its headers are those of a PE32+ image.
    ///
    /// # Safety
    /// `base` is the base of an image the loader mapped, which stays mapped while the result
    /// is used.
    pub unsafe fn new(base: usize) -> Option<Self> {
        // The headers fit in the first page; SizeOfImage bounds every later read.
        let headers = Self { base, size: 0x1000 };
        if headers.read::<u16>(0)? != u16::from_le_bytes(*b"MZ") {
            return None;
        }
        let nt = headers.read::<u32>(0x3c)?;
        let optional = nt.checked_add(24)?;
        if headers.read::<u32>(nt)? != u32::from_le_bytes(*b"PE\0\0")
            || headers.read::<u16>(optional)? != 0x20b
        {
            return None;
        }
        let size = headers.read::<u32>(optional.checked_add(56)?)?;
        Some(Self { base, size })
    }

    /// The base address.
    pub const fn base(&self) -> usize {
        self.base
    }

    /// `T` at `rva`, if it lies inside the image.
    fn read<T: Copy>(&self, rva: u32) -> Option<T> {
        let end = usize::try_from(rva).ok()?.checked_add(size_of::<T>())?;
        if end > usize::try_from(self.size).ok()? {
            return None;
        }
        let address = self.base.checked_add(usize::try_from(rva).ok()?)?;
        // SAFETY: inside the mapped image (checked above; `new`'s contract); unaligned reads are
        // allowed.
        Some(unsafe { core::ptr::read_unaligned(address as *const T) })
    }

    /// Whether the NUL-terminated string at `rva` is `name` (ASCII case ignored if `fold`).
    fn name_is(&self, rva: u32, name: &[u8], fold: bool) -> bool {
        let mut at = rva;
        for &want in name.iter().chain(&[0]) {
            let Some(got) = self.read::<u8>(at) else {
                return false;
            };
            let same = if fold {
                got.eq_ignore_ascii_case(&want)
            } else {
                got == want
            };
            let Some(next) = at.checked_add(1) else {
                return false;
            };
            if !same {
                return false;
            }
            at = next;
        }
        true
    }

    /// The address of the IAT slot through which this image calls `dll!function` (imported by
    /// name), if it imports it.
    pub fn import_slot(&self, dll: &[u8], function: &[u8]) -> Option<usize> {
        // OptionalHeader (PE32+) + 120: DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT].
        let nt = self.read::<u32>(0x3c)?;
        let mut descriptor = self.read::<u32>(nt.checked_add(24 + 120)?)?;
        loop {
            let names = self.read::<u32>(descriptor)?;
            let dll_name = self.read::<u32>(descriptor.checked_add(12)?)?;
            let slots = self.read::<u32>(descriptor.checked_add(16)?)?;
            if dll_name == 0 || slots == 0 {
                return None;
            }
            if self.name_is(dll_name, dll, true) {
                return self.find_in_thunks(
                    if names == 0 { slots } else { names },
                    slots,
                    function,
                );
            }
            descriptor = descriptor.checked_add(20)?;
        }
    }

    /// Walks one descriptor's name table (`names`) for `function`; its slot is at the same
    /// index in `slots`.
    fn find_in_thunks(&self, names: u32, slots: u32, function: &[u8]) -> Option<usize> {
        let mut index: u32 = 0;
        loop {
            let offset = index.checked_mul(8)?;
            let thunk = self.read::<u64>(names.checked_add(offset)?)?;
            if thunk == 0 {
                return None;
            }
            // Bit 63 marks an import by ordinal; otherwise an RVA of IMAGE_IMPORT_BY_NAME.
            if thunk >> 63 == 0 {
                let by_name = u32::try_from(thunk).ok()?;
                if self.name_is(by_name.checked_add(2)?, function, false) {
                    let slot = slots.checked_add(offset)?;
                    return self.base.checked_add(usize::try_from(slot).ok()?);
                }
            }
            index = index.checked_add(1)?;
        }
    }
}

/// Reads an IAT slot.
///
/// # Safety
/// `slot` is an IAT slot [`Image::import_slot`] returned, of an image still mapped.
pub unsafe fn slot_value(slot: usize) -> usize {
    // SAFETY: the caller's contract: a mapped, aligned 8-byte slot.
    unsafe { core::ptr::read_volatile(slot as *const usize) }
}

/// Points the IAT slot `slot` at `target`, lifting the page's protection for the write and
/// restoring it after; returns what the slot held.
///
/// # Safety
/// `slot` is an IAT slot [`Image::import_slot`] returned, of an image still mapped; `target`
/// is a routine with the signature the importer expects of that import, and no thread calls
/// through the slot meanwhile.
pub unsafe fn rebind(slot: usize, target: usize) -> Result<usize, NTSTATUS> {
    let mut address = slot as *mut c_void;
    let mut size = size_of::<usize>();
    let mut old: u32 = 0;
    // SAFETY: our own process and valid locals; the range is the slot.
    let status = unsafe {
        ZwProtectVirtualMemory(
            CURRENT_PROCESS,
            &raw mut address,
            &raw mut size,
            PAGE_READWRITE,
            &raw mut old,
        )
    };
    if status < 0 {
        return Err(status);
    }
    // SAFETY: the caller's contract: a mapped slot, now writable.
    let previous = unsafe { slot_value(slot) };
    // SAFETY: as above; an aligned 8-byte slot.
    unsafe { core::ptr::write_volatile(slot as *mut usize, target) };
    let mut address = slot as *mut c_void;
    let mut size = size_of::<usize>();
    let mut ignored: u32 = 0;
    // SAFETY: as the first call; restores the protection the slot had.
    let status = unsafe {
        ZwProtectVirtualMemory(
            CURRENT_PROCESS,
            &raw mut address,
            &raw mut size,
            old,
            &raw mut ignored,
        )
    };
    if status < 0 {
        return Err(status);
    }
    Ok(previous)
}
