// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The image loader: from the bytes of a `.sys` file to a mapped, relocated, bound image at a
//! fresh system address, and back.
//!
//! [`load`] runs `pe_image::load`'s steps — every header field checked, the image copied into
//! page-aligned memory from the allocator, its `DIR64` relocations applied for the new base, its
//! imports bound by name — then maps it with its sections' rights ([`super::vm`]) and records its
//! exports. Imports from `ntoskrnl.exe` and `HAL.dll` bind to the stand-in's routine table
//! ([`super::routines::lookup`]), checked against the DLL each routine belongs to; imports from
//! another driver bind to the exports of an image already loaded whose export table names that
//! DLL (`xen.sys`), as the Windows loader resolves an export driver for its importers. An import
//! nothing provides refuses the image with the DLL and the routine's name; so does any other
//! defect the checks find, with the field at fault.
//!
//! Once mapped, and before anything of it runs, the image is reported to the load-image notify
//! routines drivers registered (`routines::ps::image_loaded`).
//!
//! [`unload`] unmaps the image; its record stays so that addresses inside it can still be named
//! in messages ([`Where`]) and the leak checks can tell what an unloaded image left behind.

use super::{routines, vm};
use alloc::alloc::{Layout, alloc_zeroed};
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use pe_image::load::{self as pe_load, BindError};
use pe_image::{PeImage, RuntimeFunction};

/// One section's memory range and rights.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Its rights.
    pub rights: vm::Rights,
}

/// A loaded (or unloaded) image.
#[derive(Debug, Clone)]
pub struct Image {
    /// The file name (`xen.sys`).
    pub name: String,
    /// The name its export table records (`xen.sys`), if it exports anything.
    pub export_name: Option<String>,
    /// Where it is mapped.
    pub base: u64,
    /// `SizeOfImage`.
    pub size: u64,
    /// Its mapped regions.
    pub regions: Vec<Region>,
    /// Named exports and their addresses.
    pub exports: Vec<(String, u64)>,
    /// The entry point (`DriverEntry`), 0 if none.
    pub entry: u64,
    /// Relocations applied, imports bound.
    pub relocations: usize,
    /// Imports bound.
    pub imports: usize,
    /// Whether it is still mapped.
    pub loaded: bool,
    /// Where its exception directory (`.pdata`) is mapped (0: none).
    pub pdata: u64,
    /// The directory's `RUNTIME_FUNCTION`s, checked at load: each non-empty, inside the image,
    /// its unwind data too, in ascending order without overlap (what `RtlLookupFunctionEntry`
    /// searches).
    pub functions: Arc<[RuntimeFunction]>,
}

/// Every image loaded so far, in load order.
static IMAGES: spin::RwLock<Vec<Image>> = spin::RwLock::new(Vec::new());

/// Why an image was refused.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse(name: &str, what: impl fmt::Display) -> Refused {
    Refused(alloc::format!("{name}: {what}"))
}

/// Resolves one import of an image being loaded.
fn resolve(dll: &[u8], symbol: &[u8]) -> Option<u64> {
    let dll = core::str::from_utf8(dll).ok()?;
    let symbol = core::str::from_utf8(symbol).ok()?;
    if let Some(routine) = routines::lookup(symbol)
        && routine.dll.eq_ignore_ascii_case(dll)
    {
        return Some(routine.address);
    }
    let images = IMAGES.read();
    let provider = images.iter().find(|i| {
        i.loaded
            && i.export_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(dll))
    })?;
    let address = provider
        .exports
        .iter()
        .find(|(name, _)| name == symbol)
        .map(|&(_, address)| address)?;
    Some(observed(symbol, address))
}

/// xen.sys's `MemoryAddToPhysmap`, for [`add_to_physmap_observed`].
static ADD_TO_PHYSMAP: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Where an importer's call of export `symbol` (at `address`) goes: the export itself, or, for
/// xen.sys's `MemoryAddToPhysmap`, [`add_to_physmap_observed`], which calls it and follows the
/// domain's `shared_info` page when a driver moves it (`XENMAPSPACE_shared_info`), so that the
/// stand-in's interrupt source (`routines::interrupt::xen_upcall_pending`) and clock read the
/// page Xen writes; for `SchedShutdown`, [`sched_shutdown_observed`], which counts suspends.
/// The driver sees the export's own behaviour and status.
fn observed(symbol: &str, address: u64) -> u64 {
    if symbol == "MemoryAddToPhysmap" {
        ADD_TO_PHYSMAP.store(address, core::sync::atomic::Ordering::SeqCst);
        return crate::nt::kcall::code_address!(add_to_physmap_observed) as u64;
    }
    if symbol == "SchedShutdown" {
        SCHED_SHUTDOWN.store(address, core::sync::atomic::Ordering::SeqCst);
        return crate::nt::kcall::code_address!(sched_shutdown_observed) as u64;
    }
    address
}

/// xen.sys's `SchedShutdown`, for [`sched_shutdown_observed`].
static SCHED_SHUTDOWN: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// `SHUTDOWN_suspend` requests an importer made through `SchedShutdown`.
static SUSPENDS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
/// The status the last of them returned.
static SUSPEND_STATUS: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// The suspend requests importers made through xen.sys's `SchedShutdown` (the hypercall that
/// suspends the domain; a checkpoint's resume makes it return "cancelled"), and the status the
/// last one returned.
pub fn suspends() -> (u32, i32) {
    (
        SUSPENDS.load(core::sync::atomic::Ordering::SeqCst),
        SUSPEND_STATUS.load(core::sync::atomic::Ordering::SeqCst),
    )
}

/// `NTSTATUS SchedShutdown(ULONG Reason)` through [`observed`]: counted when it asks for a
/// suspend. Runs at any IRQL (xenbus.sys calls it at `HIGH_LEVEL`): atomics only.
extern "win64" fn sched_shutdown_observed(reason: u32) -> i32 {
    type SchedShutdown = unsafe extern "win64" fn(u32) -> i32;
    let real = SCHED_SHUTDOWN.load(core::sync::atomic::Ordering::SeqCst);
    if real == 0 {
        return ntstatus::STATUS_NOT_SUPPORTED;
    }
    // SAFETY: the address of xen.sys's export of that signature (the Microsoft x64
    // convention), recorded when the importer was bound.
    let export =
        unsafe { core::mem::transmute::<usize, SchedShutdown>(usize::try_from(real).unwrap_or(0)) };
    // SAFETY: the importer's argument, passed on unchanged under the export's contract.
    let status = unsafe { export(reason) };
    if reason == xen_headers::sched::SHUTDOWN_SUSPEND {
        SUSPEND_STATUS.store(status, core::sync::atomic::Ordering::SeqCst);
        SUSPENDS.fetch_add(1, core::sync::atomic::Ordering::SeqCst);
    }
    status
}

/// `NTSTATUS MemoryAddToPhysmap(PFN_NUMBER Pfn, ULONG Space, ULONG_PTR Offset)` through
/// [`observed`].
extern "win64" fn add_to_physmap_observed(pfn: usize, space: u32, offset: usize) -> i32 {
    type AddToPhysmap = unsafe extern "win64" fn(usize, u32, usize) -> i32;
    let real = ADD_TO_PHYSMAP.load(core::sync::atomic::Ordering::SeqCst);
    if real == 0 {
        return ntstatus::STATUS_NOT_SUPPORTED;
    }
    // SAFETY: the address of xen.sys's export of that signature (the Microsoft x64
    // convention), recorded when the importer was bound.
    let export =
        unsafe { core::mem::transmute::<usize, AddToPhysmap>(usize::try_from(real).unwrap_or(0)) };
    // SAFETY: the importer's arguments, passed on unchanged under the export's contract.
    let status = unsafe { export(pfn, space, offset) };
    if status >= 0 && space == xen_headers::memory::XENMAPSPACE_SHARED_INFO {
        crate::events::use_shared_info(pfn as u64);
    }
    status
}

/// Loads `bytes` as `name`; returns the image's index.
///
/// # Errors
/// [`Refused`] naming the image and what is wrong with it (a header field, a table, an import
/// nothing provides).
pub fn load(name: &str, bytes: &[u8]) -> Result<usize, Refused> {
    let image = PeImage::parse(bytes).map_err(|e| refuse(name, e))?;
    let info = pe_load::check_loadable(&image).map_err(|e| refuse(name, e))?;
    let size = usize::try_from(info.size_of_image).map_err(|e| refuse(name, e))?;
    let index = IMAGES.read().len();
    let base = u64::try_from(index)
        .ok()
        .and_then(|i| i.checked_mul(vm::IMAGE_SLOT))
        .and_then(|offset| vm::IMAGE_REGION.checked_add(offset))
        .filter(|_| u64::from(info.size_of_image) <= vm::IMAGE_SLOT)
        .ok_or_else(|| refuse(name, "no room in the image region"))?;
    let layout = Layout::from_size_align(size, 4096).map_err(|e| refuse(name, e))?;
    // SAFETY: `size` is non-zero (checked by `check_loadable`).
    let memory = unsafe { alloc_zeroed(layout) };
    if memory.is_null() {
        return Err(refuse(name, "out of memory for the image"));
    }
    // SAFETY: a fresh allocation of `size` bytes that nothing else references; the image's
    // mapping at `base` is made only after this slice is last used.
    let dest = unsafe { core::slice::from_raw_parts_mut(memory, size) };
    pe_load::copy_to(&image, dest).map_err(|e| refuse(name, e))?;
    let relocations = pe_load::relocate(&image, dest, base).map_err(|e| refuse(name, e))?;
    let imports =
        pe_load::bind_imports(&image, dest, resolve).map_err(|e: BindError<'_>| refuse(name, e))?;
    let exports = exports(&image, base, info.size_of_image).map_err(|e| refuse(name, e))?;
    let (pdata, functions) =
        runtime_functions(&image, info.size_of_image).map_err(|e| refuse(name, e))?;
    let export_name = image
        .exports()
        .ok()
        .flatten()
        .and_then(|e| core::str::from_utf8(e.dll).ok().map(ToString::to_string));
    let regions = map_image(&image, base, memory.expose_provenance() as u64)
        .ok_or_else(|| refuse(name, "could not map the image"))?;
    // `check_loadable` placed the entry point inside the image.
    let entry = if info.entry_point == 0 {
        0
    } else {
        base.saturating_add(u64::from(info.entry_point))
    };
    IMAGES.write().push(Image {
        name: name.to_string(),
        export_name,
        base,
        size: u64::from(info.size_of_image),
        regions,
        exports,
        entry,
        relocations,
        imports,
        loaded: true,
        pdata: pdata.map_or(0, |rva| base.saturating_add(u64::from(rva))),
        functions,
    });
    // Mapped, nothing of it run yet: the load-image notify routines hear of it now.
    routines::ps::image_loaded(index);
    Ok(index)
}

/// The named exports at their loaded addresses; forwarders (a kernel export driver has none)
/// and addresses outside the image are refused.
fn exports(image: &PeImage<'_>, base: u64, size: u32) -> Result<Vec<(String, u64)>, String> {
    let Some(table) = image.exports().map_err(|e| e.to_string())? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for export in table.names() {
        let export = export.map_err(|e| e.to_string())?;
        let name = core::str::from_utf8(export.name).map_err(|e| e.to_string())?;
        match export.target {
            pe_image::ExportTarget::Rva(rva) if rva < size => {
                out.push((name.to_string(), base.saturating_add(u64::from(rva))));
            }
            pe_image::ExportTarget::Rva(rva) => {
                return Err(alloc::format!(
                    "export {name} at RVA {rva:#x} is outside the image"
                ));
            }
            pe_image::ExportTarget::Forwarder(_) => {
                return Err(alloc::format!("export {name} is a forwarder"));
            }
        }
    }
    Ok(out)
}

/// The exception directory's RVA and entries, checked as [`Image::functions`] says.
fn runtime_functions(
    image: &PeImage<'_>,
    size: u32,
) -> Result<(Option<u32>, Arc<[RuntimeFunction]>), String> {
    let Some(dir) = image.exception_directory() else {
        return Ok((None, Arc::from(Vec::new())));
    };
    if dir.size % 12 != 0 || dir.rva.checked_add(dir.size).is_none_or(|end| end > size) {
        return Err(alloc::format!(
            "exception directory at RVA {:#x}, {} bytes: not whole RUNTIME_FUNCTIONs inside the image",
            dir.rva,
            dir.size
        ));
    }
    let mut out = Vec::new();
    let mut previous_end = 0u32;
    for f in image.runtime_functions().map_err(|e| e.to_string())? {
        let f = f.map_err(|e| e.to_string())?;
        let unwind_inside = f.unwind_info.checked_add(4).is_some_and(|end| end <= size);
        if f.begin >= f.end || f.end > size || !unwind_inside || f.begin < previous_end {
            return Err(alloc::format!(
                "RUNTIME_FUNCTION {:#x}..{:#x} (unwind data at {:#x}): empty, outside the \
                 image, or out of order",
                f.begin,
                f.end,
                f.unwind_info
            ));
        }
        previous_end = f.end;
        out.push(f);
    }
    Ok((Some(dir.rva), Arc::from(out)))
}

/// The function entry of a loaded image covering `address`: the image's base, the entry's
/// mapped address and the entry. Takes the images' read lock only (any IRQL).
pub fn function_entry(address: u64) -> Option<(u64, u64, RuntimeFunction)> {
    let images = IMAGES.read();
    let image = images
        .iter()
        .find(|i| i.loaded && address >= i.base && address.saturating_sub(i.base) < i.size)?;
    let rva = u32::try_from(address.saturating_sub(image.base)).ok()?;
    let index = image.functions.partition_point(|f| f.end <= rva);
    let f = *image.functions.get(index)?;
    if rva < f.begin {
        return None;
    }
    let offset = u64::try_from(index).ok()?.checked_mul(12)?;
    Some((image.base, image.pdata.checked_add(offset)?, f))
}

/// Whether `entry` is the mapped address of a function entry of the loaded image at `base`,
/// and which.
pub fn entry_at(base: u64, entry: u64) -> Option<RuntimeFunction> {
    let images = IMAGES.read();
    let image = images.iter().find(|i| i.loaded && i.base == base)?;
    let offset = entry.checked_sub(image.pdata)?;
    if image.pdata == 0 || offset % 12 != 0 {
        return None;
    }
    image
        .functions
        .get(usize::try_from(offset / 12).ok()?)
        .copied()
}

/// Copies `out.len()` bytes at `rva` of the loaded image at `base`, if they lie in one of its
/// mapped regions.
pub fn read_image(base: u64, rva: u32, out: &mut [u8]) -> bool {
    let images = IMAGES.read();
    let Some(image) = images.iter().find(|i| i.loaded && i.base == base) else {
        return false;
    };
    let Some(start) = base.checked_add(u64::from(rva)) else {
        return false;
    };
    let Some(end) = u64::try_from(out.len())
        .ok()
        .and_then(|l| start.checked_add(l))
    else {
        return false;
    };
    if !image
        .regions
        .iter()
        .any(|r| start >= r.start && end <= r.end)
    {
        return false;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        let at = usize::try_from(start).unwrap_or(0).wrapping_add(i);
        // SAFETY: inside a mapped region of a loaded image (checked above, under the lock that
        // unloading takes to unmap it).
        *byte = unsafe { core::ptr::with_exposed_provenance::<u8>(at).read_volatile() };
    }
    true
}

/// Maps the headers and each section with its rights; returns the regions. The sizes were
/// checked by `check_loadable` (everything inside `SizeOfImage`, at most 64 MiB); the
/// arithmetic is checked all the same.
fn map_image(image: &PeImage<'_>, base: u64, phys: u64) -> Option<Vec<Region>> {
    let page = 4096u64;
    let read_only = vm::Rights {
        write: false,
        execute: false,
    };
    let headers = (
        0u64,
        u64::from(image.optional_header().size_of_headers),
        read_only,
    );
    let sections = image.sections().map(|s| {
        let rights = vm::Rights {
            write: s.is_writable(),
            execute: s.is_executable(),
        };
        (
            u64::from(s.virtual_address),
            u64::from(s.memory_size()),
            rights,
        )
    });
    let mut regions = Vec::new();
    for (offset, len, rights) in core::iter::once(headers).chain(sections) {
        let pages = len.div_ceil(page);
        let start = base.checked_add(offset)?;
        let end = start.checked_add(pages.checked_mul(page)?)?;
        if !vm::map(start, phys.checked_add(offset)?, pages, rights) {
            return None;
        }
        regions.push(Region { start, end, rights });
    }
    Some(regions)
}

/// Unmaps image `index`.
pub fn unload(index: usize) {
    let mut images = IMAGES.write();
    let Some(image) = images.get_mut(index) else {
        return;
    };
    for r in &image.regions {
        vm::unmap(r.start, r.end.saturating_sub(r.start) / 4096);
    }
    image.loaded = false;
}

/// A copy of image `index`'s record.
pub fn image(index: usize) -> Option<Image> {
    IMAGES.read().get(index).cloned()
}

/// Copies of the records of the images still loaded, in load order.
pub fn loaded_images() -> Vec<Image> {
    IMAGES.read().iter().filter(|i| i.loaded).cloned().collect()
}

/// The address of export `name` of image `index`.
pub fn export(index: usize, name: &str) -> Option<u64> {
    IMAGES
        .read()
        .get(index)
        .and_then(|i| i.exports.iter().find(|(n, _)| n == name).map(|&(_, a)| a))
}

/// The index of the image (loaded or not) whose range holds `address`.
pub fn containing(address: u64) -> Option<usize> {
    IMAGES
        .read()
        .iter()
        .position(|i| address >= i.base && address.saturating_sub(i.base) < i.size)
}

/// Whether `address` lies in an executable section of a loaded image (where a callback or DPC
/// routine a driver hands the kernel must be).
pub fn is_loaded_code(address: u64) -> bool {
    IMAGES.read().iter().any(|i| {
        i.loaded
            && i.regions
                .iter()
                .any(|r| r.rights.execute && address >= r.start && address < r.end)
    })
}

/// The bytes of the NUL-terminated string at `address` (at most `max`), if it lies in a
/// readable region of a loaded image (what a bug check's parameters may point to).
pub fn read_c_string(address: u64, max: usize) -> Option<Vec<u8>> {
    let images = IMAGES.read();
    let region = images
        .iter()
        .filter(|i| i.loaded)
        .flat_map(|i| i.regions.iter())
        .find(|r| address >= r.start && address < r.end)?;
    let available = usize::try_from(region.end.saturating_sub(address))
        .ok()?
        .min(max);
    let base = usize::try_from(address).ok()?;
    let mut out = Vec::new();
    for i in 0..available {
        let p = core::ptr::with_exposed_provenance::<u8>(base.wrapping_add(i));
        // SAFETY: `base + i` lies in a mapped region of a loaded image (`i < available`), and
        // images stay mapped while the image list's lock is held.
        let b = unsafe { p.read_volatile() };
        if b == 0 {
            break;
        }
        out.push(b);
    }
    Some(out)
}

/// An address as `image+0xoffset (0x...)`, or just the address outside every image.
#[derive(Debug, Clone, Copy)]
pub struct Where(pub u64);

impl fmt::Display for Where {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let images = IMAGES.try_read();
        let found = images.as_ref().and_then(|images| {
            images
                .iter()
                .find(|i| self.0 >= i.base && self.0.saturating_sub(i.base) < i.size)
                .map(|i| (i.name.clone(), self.0.saturating_sub(i.base), i.loaded))
        });
        match found {
            Some((name, offset, true)) => write!(f, "{name}+{offset:#x} ({:#x})", self.0),
            Some((name, offset, false)) => {
                write!(f, "unloaded {name}+{offset:#x} ({:#x})", self.0)
            }
            None => write!(f, "{:#x}", self.0),
        }
    }
}
