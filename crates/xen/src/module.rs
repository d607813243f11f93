// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The loaded-module list behind `ModuleLookup`: which kernel image holds an address.
//!
//! A sorted list of non-overlapping address ranges, each with its image's lower-case base
//! name. Building and editing it is portable; the Windows glue feeds it (the loaded modules at
//! start, then every image-load notification for a system-mode image) and answers lookups under
//! a `HIGH_LEVEL` lock, at any IRQL, the bug-check callback included.
//!
//! # What upstream does (`src/xen/module.c`)
//!
//! * At start, every module `AuxKlibQueryModuleInformation` lists; then, from
//!   `PsSetLoadImageNotifyRoutine`, every new system-mode image. Each becomes `{Start,
//!   End = Start + Size - 1, Name}` with `Name` the file name after the last `\`, lower-cased,
//!   at most 256 characters (not terminated when it fills them).
//! * The list is kept sorted. Unloads are not reported to drivers, so an image loaded over an
//!   address range some older entry covers replaces every entry it overlaps (that image is
//!   gone).
//! * `ModuleLookup` scans the list linearly under the lock and returns a pointer to the stored
//!   name (not a copy) and the offset.
//!
//! # Where we differ
//!
//! * **The initial snapshot refuses bad ranges.** One listing of the loaded modules cannot hold
//!   two images at one address, so an entry overlapping (or duplicating) an earlier one, an
//!   empty one, or one whose end wraps is refused ([`ModuleError`]) and counted, instead of
//!   silently replacing what came first. Load notifications still replace what they overlap,
//!   as upstream, because that is how a reused range looks.
//! * **Names** are NUL-terminated (255 characters at most) and stay at a fixed address until
//!   their module is replaced, so the pointer `ModuleLookup` returns stays valid that long.
//! * **Lookup** is a binary search.
//! * **No allocation under the lock.** [`ModuleList::plan_insert`] decides where a module goes
//!   and which entries it replaces; [`ModuleList::apply`] applies that without allocating.
//!   The glue measures under the lock what an insertion needs ([`ModuleList::room`]),
//!   allocates it outside ([`Reservation`]), and inserts under the lock again
//!   ([`ModuleList::commit`]), which neither allocates nor frees: the list's old storage and
//!   the modules replaced leave in the reservation, freed after the lock is released.
//! * The list is bounded ([`MAX_MODULES`]).
//! * **The initial listing** is `ZwQuerySystemInformation(SystemModuleInformation)`'s answer,
//!   the query `AuxKlibQueryModuleInformation` makes; [`listing`] reads it from its bytes, with
//!   every count and offset checked ([`ListingError`]). An entry's `OffsetToFileName` is not
//!   used: the name is what follows the last `\` of its path, as upstream takes it.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of};
use core::ops::Range;

use ntddk::{RTL_MODULE_PATH_LENGTH, RTL_PROCESS_MODULE_INFORMATION, RTL_PROCESS_MODULES};

/// Characters of a name kept (upstream keeps 256, unterminated at the limit).
pub const MAX_NAME: usize = 255;
/// Modules the list holds at most.
pub const MAX_MODULES: usize = 16 * 1024;

/// Why a module was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleError {
    /// Its size is 0.
    Empty,
    /// Its end does not fit in the address space.
    Wraps,
    /// It overlaps (or duplicates) a module already in a snapshot.
    Overlaps,
    /// The list holds [`MAX_MODULES`].
    Full,
    /// Room was not reserved before [`ModuleList::apply`], or memory ran out.
    NoMemory,
    /// The list kept changing between a [`Reservation`] and its [`ModuleList::commit`].
    Contended,
}

/// One loaded image.
#[derive(Debug, PartialEq, Eq)]
pub struct Module {
    /// Its first address.
    pub start: usize,
    /// Its last address (inclusive).
    pub end: usize,
    /// Its lower-case base name and a NUL, at a fixed address for the module's lifetime.
    name: Box<[u8]>,
}

impl Module {
    /// A module of `size` bytes at `start`, named after the file name at the end of
    /// `image_name` (the part after the last `\`; the text ends at its first NUL), lower-cased
    /// (ASCII) and cut to [`MAX_NAME`] characters.
    ///
    /// # Errors
    /// [`ModuleError::Empty`], [`ModuleError::Wraps`], [`ModuleError::NoMemory`].
    pub fn new(start: usize, size: usize, image_name: &[u8]) -> Result<Self, ModuleError> {
        let last = size.checked_sub(1).ok_or(ModuleError::Empty)?;
        let end = start.checked_add(last).ok_or(ModuleError::Wraps)?;
        let text = image_name.split(|&b| b == 0).next().unwrap_or_default();
        let base = text.rsplit(|&b| b == b'\\').next().unwrap_or_default();
        let base = base.get(..MAX_NAME).unwrap_or(base);
        let mut name = Vec::new();
        name.try_reserve_exact(base.len().saturating_add(1))
            .map_err(|_| ModuleError::NoMemory)?;
        name.extend(base.iter().map(u8::to_ascii_lowercase));
        name.push(0);
        Ok(Self {
            start,
            end,
            name: name.into_boxed_slice(),
        })
    }

    /// The name, without its NUL.
    #[must_use]
    pub fn name(&self) -> &[u8] {
        self.name.split_last().map_or(&[][..], |(_, name)| name)
    }

    /// The NUL-terminated name's address (what `ModuleLookup` hands out).
    #[must_use]
    pub fn name_ptr(&self) -> *const u8 {
        self.name.as_ptr()
    }

    const fn overlaps(&self, start: usize, end: usize) -> bool {
        self.start <= end && start <= self.end
    }
}

/// Where a new module goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertPlan {
    /// The existing entries it replaces (they overlap it), by index; empty when none.
    pub replaces: Range<usize>,
    /// The new module's range.
    start: usize,
    end: usize,
}

/// A list grown to make room holds at least this many modules.
const GROW_MIN: usize = 64;

/// What an insertion needs beyond what the list has ([`ModuleList::room`]): new storage for
/// the list (0: it has room) and room for the entries it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    /// Modules the list's new storage must hold (0 when the list has room).
    pub list: usize,
    /// Modules the insertion replaces.
    pub replaced: usize,
}

/// Memory for one insertion, allocated before taking the lock ([`Reservation::new`]).
///
/// After [`ModuleList::commit`] it holds what the list let go of (its old storage, the modules
/// replaced), freed when it is dropped, after the lock is released.
#[derive(Debug, Default)]
pub struct Reservation {
    storage: Vec<Module>,
    replaced: Vec<Module>,
}

impl Reservation {
    /// Allocates `room`.
    ///
    /// # Errors
    /// [`ModuleError::NoMemory`].
    pub fn new(room: Room) -> Result<Self, ModuleError> {
        let mut reservation = Self::default();
        reservation
            .storage
            .try_reserve_exact(room.list)
            .map_err(|_| ModuleError::NoMemory)?;
        reservation
            .replaced
            .try_reserve_exact(room.replaced)
            .map_err(|_| ModuleError::NoMemory)?;
        Ok(reservation)
    }

    /// The modules the insertion replaced (after [`ModuleList::commit`]).
    #[must_use]
    pub fn replaced(&self) -> &[Module] {
        &self.replaced
    }
}

/// What [`ModuleList::commit`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Commit {
    /// The module is in the list.
    Done,
    /// The reservation no longer suffices: measure and reserve again.
    Retry(Module),
    /// The list cannot take it.
    Refused(ModuleError, Module),
}

/// Sorted, non-overlapping modules.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ModuleList {
    modules: Vec<Module>,
}

impl ModuleList {
    /// An empty list.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            modules: Vec::new(),
        }
    }

    /// The modules, sorted by address.
    #[must_use]
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Builds the list from one listing of the loaded modules (start, size, image name).
    /// Entries that are empty, wrap, overlap an earlier entry, or do not fit are refused and
    /// reported with their position in the listing.
    ///
    /// # Errors
    /// [`ModuleError::NoMemory`] when the list itself cannot be allocated.
    pub fn from_snapshot<'a>(
        listing: impl IntoIterator<Item = (usize, usize, &'a [u8])>,
        refused: &mut dyn FnMut(usize, ModuleError),
    ) -> Result<Self, ModuleError> {
        let mut list = Self::new();
        for (index, (start, size, name)) in listing.into_iter().enumerate() {
            let module = match Module::new(start, size, name) {
                Ok(m) => m,
                Err(ModuleError::NoMemory) => return Err(ModuleError::NoMemory),
                Err(e) => {
                    refused(index, e);
                    continue;
                }
            };
            let plan = match list.plan_insert(&module) {
                Ok(p) if p.replaces.is_empty() => p,
                Ok(_) => {
                    refused(index, ModuleError::Overlaps);
                    continue;
                }
                Err(e) => {
                    refused(index, e);
                    continue;
                }
            };
            list.reserve().map_err(|_| ModuleError::NoMemory)?;
            list.apply(&plan, module, &mut Vec::new())?;
        }
        Ok(list)
    }

    /// Makes room for one more module, so that the next [`ModuleList::apply`] does not
    /// allocate (call it before taking the lock).
    ///
    /// # Errors
    /// [`ModuleError::NoMemory`].
    pub fn reserve(&mut self) -> Result<(), ModuleError> {
        self.modules
            .try_reserve(1)
            .map_err(|_| ModuleError::NoMemory)
    }

    /// Where `module` goes and which entries it replaces.
    ///
    /// # Errors
    /// [`ModuleError::Full`] when it replaces nothing and the list is full.
    pub fn plan_insert(&self, module: &Module) -> Result<InsertPlan, ModuleError> {
        let (start, end) = (module.start, module.end);
        // The first entry ending at or after `start`: everything before it lies wholly below.
        let first = self.modules.partition_point(|m| m.end < start);
        let count = self
            .modules
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|m| m.overlaps(start, end))
            .count();
        if count == 0 && self.modules.len() >= MAX_MODULES {
            return Err(ModuleError::Full);
        }
        Ok(InsertPlan {
            replaces: first..first.saturating_add(count),
            start,
            end,
        })
    }

    /// Applies `plan` (made for `module` against this list, unchanged since): the replaced
    /// entries move to `replaced`, `module` takes their place. Allocates nothing when
    /// [`ModuleList::reserve`] was called and `replaced` has room for the replaced entries.
    ///
    /// # Errors
    /// [`ModuleError::NoMemory`] when room is missing or the plan does not match (nothing
    /// changes).
    pub fn apply(
        &mut self,
        plan: &InsertPlan,
        module: Module,
        replaced: &mut Vec<Module>,
    ) -> Result<(), ModuleError> {
        if !self.fits(plan, &module, replaced) {
            return Err(ModuleError::NoMemory);
        }
        self.apply_fitting(plan, module, replaced);
        Ok(())
    }

    /// Whether `plan` is `module`'s against this list and applying it needs no allocation.
    fn fits(&self, plan: &InsertPlan, module: &Module, replaced: &Vec<Module>) -> bool {
        plan.start == module.start
            && plan.end == module.end
            && plan.replaces.end <= self.modules.len()
            && (!plan.replaces.is_empty() || self.modules.len() < self.modules.capacity())
            && replaced.capacity().saturating_sub(replaced.len()) >= plan.replaces.len()
    }

    /// [`ModuleList::apply`] once [`ModuleList::fits`] said yes: moves and inserts within the
    /// capacity there is.
    fn apply_fitting(&mut self, plan: &InsertPlan, module: Module, replaced: &mut Vec<Module>) {
        let at = plan.replaces.start;
        replaced.extend(self.modules.drain(plan.replaces.clone()));
        if at <= self.modules.len() {
            self.modules.insert(at, module);
        }
    }

    /// What inserting `module` needs now, beyond what the list holds: see [`Reservation`].
    ///
    /// # Errors
    /// [`ModuleError::Full`], as [`ModuleList::plan_insert`].
    pub fn room(&self, module: &Module) -> Result<Room, ModuleError> {
        let plan = self.plan_insert(module)?;
        let len = self.modules.len();
        let list = if plan.replaces.is_empty() && len >= self.modules.capacity() {
            // Room for this one and as many again (at most the bound), so that loads do not
            // move the whole list each time.
            len.saturating_mul(2)
                .clamp(GROW_MIN, MAX_MODULES)
                .max(len.saturating_add(1))
        } else {
            0
        };
        Ok(Room {
            list,
            replaced: plan.replaces.len(),
        })
    }

    /// Inserts `module` with memory reserved beforehand, replacing what it overlaps; neither
    /// allocates nor frees (what it lets go of moves into `reservation`). Gives `module` back
    /// when the reservation no longer suffices (the list changed since [`ModuleList::room`])
    /// or the list refuses it.
    pub fn commit(&mut self, module: Module, reservation: &mut Reservation) -> Commit {
        let plan = match self.plan_insert(&module) {
            Ok(plan) => plan,
            Err(e) => return Commit::Refused(e, module),
        };
        let spare = reservation
            .replaced
            .capacity()
            .saturating_sub(reservation.replaced.len());
        if spare < plan.replaces.len() {
            return Commit::Retry(module);
        }
        if plan.replaces.is_empty() && self.modules.len() >= self.modules.capacity() {
            let storage = &mut reservation.storage;
            if !storage.is_empty() || storage.capacity() <= self.modules.len() {
                return Commit::Retry(module);
            }
            // Within the new storage's capacity: a move, no allocation. The old storage (now
            // empty) leaves with the reservation.
            storage.append(&mut self.modules);
            core::mem::swap(&mut self.modules, storage);
        }
        if !self.fits(&plan, &module, &reservation.replaced) {
            return Commit::Retry(module);
        }
        self.apply_fitting(&plan, module, &mut reservation.replaced);
        Commit::Done
    }

    /// Adds `module` from a load notification, replacing what it overlaps, and returns what
    /// it replaced (allocates; the glue splits this into [`ModuleList::plan_insert`],
    /// [`ModuleList::reserve`] and [`ModuleList::apply`] around its lock).
    ///
    /// # Errors
    /// [`ModuleError::Full`], [`ModuleError::NoMemory`].
    pub fn insert(&mut self, module: Module) -> Result<Vec<Module>, ModuleError> {
        let plan = self.plan_insert(&module)?;
        self.reserve()?;
        let mut replaced = Vec::new();
        replaced
            .try_reserve_exact(plan.replaces.len())
            .map_err(|_| ModuleError::NoMemory)?;
        self.apply(&plan, module, &mut replaced)?;
        Ok(replaced)
    }

    /// `ModuleLookup`: the module holding `address` and the offset into it.
    #[must_use]
    pub fn lookup(&self, address: usize) -> Option<(&Module, usize)> {
        let after = self.modules.partition_point(|m| m.start <= address);
        let module = self.modules.get(after.checked_sub(1)?)?;
        (address <= module.end).then(|| (module, address.wrapping_sub(module.start)))
    }
}

/// Why a `SystemModuleInformation` answer could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingError {
    /// Fewer bytes than the header (`NumberOfModules` and its padding).
    NoHeader {
        /// Bytes there were.
        bytes: usize,
    },
    /// `NumberOfModules` says more entries than the bytes hold.
    Truncated {
        /// `NumberOfModules`.
        count: u32,
        /// Whole entries the bytes hold.
        fits: usize,
    },
}

/// Bytes of an answer's header: `NumberOfModules` and the padding before the first entry.
pub const LISTING_HEADER: usize = offset_of!(RTL_PROCESS_MODULES, Modules);
/// Bytes of one entry.
pub const LISTING_ENTRY: usize = size_of::<RTL_PROCESS_MODULE_INFORMATION>();
/// Bytes of an answer listing [`MAX_MODULES`] modules: more is refused unread.
pub const MAX_LISTING: usize = LISTING_HEADER + MAX_MODULES * LISTING_ENTRY;

/// One entry of a listing: (image base, image size, full path), as
/// [`ModuleList::from_snapshot`] takes them (the path is `FullPathName`'s 256 bytes; its text
/// ends at the first NUL).
pub type ListedModule<'a> = (usize, usize, &'a [u8]);

/// Reads the modules of a `ZwQuerySystemInformation(SystemModuleInformation)` answer.
///
/// `bytes` is what the call returned (an `RTL_PROCESS_MODULES`, its `ReturnLength` bytes).
/// Bytes after the last entry are ignored.
///
/// # Errors
/// [`ListingError`]: too short for its header, or for the entries it counts.
pub fn listing(
    bytes: &[u8],
) -> Result<impl ExactSizeIterator<Item = ListedModule<'_>>, ListingError> {
    let count = bytes
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .filter(|_| bytes.len() >= LISTING_HEADER)
        .ok_or(ListingError::NoHeader { bytes: bytes.len() })?;
    let entries = bytes.get(LISTING_HEADER..).unwrap_or_default();
    let fits = entries.len() / LISTING_ENTRY;
    let wanted = usize::try_from(count).unwrap_or(usize::MAX);
    if wanted > fits {
        return Err(ListingError::Truncated { count, fits });
    }
    Ok(entries
        .chunks_exact(LISTING_ENTRY)
        .take(wanted)
        .map(listed_module))
}

/// One `RTL_PROCESS_MODULE_INFORMATION`, `entry` being exactly its bytes.
fn listed_module(entry: &[u8]) -> ListedModule<'_> {
    const BASE: usize = offset_of!(RTL_PROCESS_MODULE_INFORMATION, ImageBase);
    const BASE_END: usize = BASE + size_of::<usize>();
    const SIZE: usize = offset_of!(RTL_PROCESS_MODULE_INFORMATION, ImageSize);
    const SIZE_END: usize = SIZE + size_of::<u32>();
    const PATH: usize = offset_of!(RTL_PROCESS_MODULE_INFORMATION, FullPathName);
    const PATH_END: usize = PATH + RTL_MODULE_PATH_LENGTH;
    let base = entry
        .get(BASE..BASE_END)
        .and_then(|b| <[u8; size_of::<usize>()]>::try_from(b).ok())
        .map_or(0, usize::from_le_bytes);
    let size = entry
        .get(SIZE..SIZE_END)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(0);
    let path = entry.get(PATH..PATH_END).unwrap_or_default();
    (base, size, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec;

    fn m(start: usize, size: usize, name: &str) -> Module {
        Module::new(start, size, name.as_bytes()).unwrap()
    }

    fn names(list: &ModuleList) -> Vec<String> {
        list.modules()
            .iter()
            .map(|m| String::from_utf8_lossy(m.name()).into_owned())
            .collect()
    }

    #[test]
    fn names_are_lower_case_base_names_terminated() {
        let x = m(0x1000, 0x100, r"\SystemRoot\System32\drivers\XENBUS.SYS");
        assert_eq!(x.name(), b"xenbus.sys");
        assert_eq!(x.end, 0x10FF);
        // SAFETY: the name is NUL-terminated and lives with `x`.
        let c = unsafe { core::ffi::CStr::from_ptr(x.name_ptr().cast()) };
        assert_eq!(c.to_bytes(), b"xenbus.sys");
        assert_eq!(m(0, 1, "ntoskrnl.exe").name(), b"ntoskrnl.exe");
        assert_eq!(m(0, 1, r"C:\dir\").name(), b"");
        assert_eq!(m(0, 1, "a.sys\0junk\\b.sys").name(), b"a.sys");
        assert_eq!(
            m(0, 1, "\u{c9}CRAN.SYS").name(),
            "\u{c9}cran.sys".as_bytes()
        );
        let long = "N".repeat(300);
        let x = m(0, 1, &long);
        assert_eq!(x.name().len(), MAX_NAME);
        assert_eq!(x.name, {
            let mut v = vec![b'n'; MAX_NAME];
            v.push(0);
            v.into_boxed_slice()
        });
    }

    #[test]
    fn empty_and_wrapping_modules_are_refused() {
        assert_eq!(Module::new(0x1000, 0, b"a"), Err(ModuleError::Empty));
        assert_eq!(Module::new(usize::MAX, 2, b"a"), Err(ModuleError::Wraps));
        assert_eq!(Module::new(usize::MAX, 1, b"a").unwrap().end, usize::MAX);
    }

    #[test]
    fn lookup_finds_the_module_and_offset_at_every_boundary() {
        let mut l = ModuleList::new();
        for x in [
            m(0x3000, 0x1000, "c"),
            m(0x1000, 0x1000, "a"),
            m(0x8000, 0x10, "d"),
        ] {
            assert!(l.insert(x).unwrap().is_empty());
        }
        assert_eq!(names(&l), ["a", "c", "d"], "kept sorted");
        let at = |a| l.lookup(a).map(|(m, o)| (m.name().to_vec(), o));
        assert_eq!(at(0x1000), Some((b"a".to_vec(), 0)));
        assert_eq!(at(0x1FFF), Some((b"a".to_vec(), 0xFFF)));
        assert_eq!(at(0x2000), None);
        assert_eq!(at(0x3ABC), Some((b"c".to_vec(), 0xABC)));
        assert_eq!(at(0x800F), Some((b"d".to_vec(), 0xF)));
        assert_eq!(at(0x8010), None);
        assert_eq!(at(0), None);
        assert_eq!(at(usize::MAX), None);
        assert_eq!(ModuleList::new().lookup(0x1000).map(|(m, _)| m.start), None);
    }

    #[test]
    fn a_load_over_stale_entries_replaces_them() {
        let mut l = ModuleList::new();
        for x in [
            m(0x1000, 0x1000, "a"),
            m(0x2000, 0x1000, "b"),
            m(0x3000, 0x1000, "c"),
            m(0x9000, 1, "z"),
        ] {
            l.insert(x).unwrap();
        }
        // A new image over the end of "a", all of "b" and the start of "c".
        let replaced = l.insert(m(0x1800, 0x2000, "new")).unwrap();
        assert_eq!(
            replaced
                .iter()
                .map(|x| x.name().to_vec())
                .collect::<Vec<_>>(),
            [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(names(&l), ["new", "z"]);
        // Reloaded at the very same range: the old entry goes.
        let replaced = l.insert(m(0x9000, 1, "z2")).unwrap();
        assert_eq!(replaced.len(), 1);
        assert_eq!(names(&l), ["new", "z2"]);
    }

    #[test]
    fn names_do_not_move_when_others_are_inserted() {
        let mut l = ModuleList::new();
        l.insert(m(0x5000, 0x100, "stable.sys")).unwrap();
        let before = l.lookup(0x5000).unwrap().0.name_ptr();
        for i in 0..100 {
            l.insert(m(0x10 * i, 0x10, "other")).unwrap();
        }
        assert_eq!(l.lookup(0x5000).unwrap().0.name_ptr(), before);
    }

    #[test]
    fn snapshots_refuse_overlaps_duplicates_and_bad_ranges() {
        let listing: [(usize, usize, &[u8]); 7] = [
            (0x1000, 0x1000, b"ntoskrnl.exe"),
            (0x1000, 0x1000, b"dup.sys"),
            (0x1800, 0x10, b"inside.sys"),
            (0x0800, 0x1000, b"straddle.sys"),
            (0x5000, 0, b"empty.sys"),
            (usize::MAX - 1, 0x10, b"wrap.sys"),
            (0x2000, 0x1000, b"hal.dll"),
        ];
        let mut refused = Vec::new();
        let l = ModuleList::from_snapshot(listing, &mut |i, e| refused.push((i, e))).unwrap();
        assert_eq!(names(&l), ["ntoskrnl.exe", "hal.dll"]);
        assert_eq!(
            refused,
            [
                (1, ModuleError::Overlaps),
                (2, ModuleError::Overlaps),
                (3, ModuleError::Overlaps),
                (4, ModuleError::Empty),
                (5, ModuleError::Wraps)
            ]
        );
    }

    #[test]
    fn apply_never_allocates_and_refuses_without_room() {
        let mut l = ModuleList::new();
        l.insert(m(0x1000, 0x1000, "a")).unwrap();
        l.modules.shrink_to_fit();
        let new = m(0x4000, 0x10, "b");
        let plan = l.plan_insert(&new).unwrap();
        assert_eq!(plan.replaces, 1..1);
        assert_eq!(
            l.apply(&plan, new, &mut Vec::new()),
            Err(ModuleError::NoMemory)
        );
        assert_eq!(names(&l), ["a"], "unchanged");
        l.reserve().unwrap();
        let plan = l.plan_insert(&m(0x4000, 0x10, "b")).unwrap();
        assert_eq!(
            l.apply(&plan, m(0x4000, 0x10, "b"), &mut Vec::new()),
            Ok(())
        );
        // Replacing needs room for what it replaces.
        let over = m(0x1000, 0x10, "c");
        let plan = l.plan_insert(&over).unwrap();
        assert_eq!(plan.replaces, 0..1);
        assert_eq!(
            l.apply(&plan, over, &mut Vec::new()),
            Err(ModuleError::NoMemory)
        );
        let mut replaced = Vec::with_capacity(1);
        assert_eq!(l.apply(&plan, m(0x1000, 0x10, "c"), &mut replaced), Ok(()));
        assert_eq!(replaced.len(), 1);
        // A plan for another module is refused.
        let plan = l.plan_insert(&m(0x9000, 1, "x")).unwrap();
        l.reserve().unwrap();
        assert_eq!(
            l.apply(&plan, m(0x9001, 1, "y"), &mut Vec::new()),
            Err(ModuleError::NoMemory)
        );
    }

    /// One `RTL_PROCESS_MODULE_INFORMATION` as the kernel writes it (the path NUL-padded).
    fn entry(base: usize, size: u32, path: &[u8]) -> Vec<u8> {
        let mut e = vec![0u8; LISTING_ENTRY];
        e[16..24].copy_from_slice(&base.to_le_bytes());
        e[24..28].copy_from_slice(&size.to_le_bytes());
        // LoadOrderIndex, LoadCount and OffsetToFileName hold junk: they are not read.
        e[32..40].copy_from_slice(&[0xAA; 8]);
        e[40..40 + path.len()].copy_from_slice(path);
        e
    }

    /// An answer: `NumberOfModules`, its padding (junk), then the entries.
    fn answer(count: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = count.to_le_bytes().to_vec();
        bytes.extend_from_slice(&[0x55; 4]);
        for e in entries {
            bytes.extend_from_slice(e);
        }
        bytes
    }

    #[test]
    fn a_listing_gives_every_entry_named_as_upstream() {
        let bytes = answer(
            3,
            &[
                entry(
                    0xFFFF_F800_0000_0000,
                    0x0100_0000,
                    br"\SystemRoot\system32\ntoskrnl.exe",
                ),
                entry(
                    0xFFFF_F806_1000_0000,
                    0x3_0000,
                    br"\SystemRoot\System32\drivers\XEN.SYS",
                ),
                entry(0xFFFF_F800_0100_0000, 0x10_0000, b"hal.dll"),
            ],
        );
        let listed: Vec<_> = listing(&bytes).unwrap().collect();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[1].0, 0xFFFF_F806_1000_0000);
        assert_eq!(listed[1].1, 0x3_0000);
        assert_eq!(listed[1].2.len(), RTL_MODULE_PATH_LENGTH);
        let list = ModuleList::from_snapshot(listed, &mut |i, e| panic!("{i}: {e:?}")).unwrap();
        assert_eq!(names(&list), ["ntoskrnl.exe", "hal.dll", "xen.sys"]);
        let (xen, offset) = list.lookup(0xFFFF_F806_1000_1234).unwrap();
        assert_eq!((xen.name(), offset), (&b"xen.sys"[..], 0x1234));
        assert_eq!(xen.end, 0xFFFF_F806_1002_FFFF);
        // Bytes after the counted entries (the kernel's buffer was larger) are ignored.
        let mut longer = answer(1, &[entry(0x1000, 0x1000, b"a.sys")]);
        longer.extend_from_slice(&[0xFF; LISTING_ENTRY + 7]);
        assert_eq!(listing(&longer).unwrap().len(), 1);
        assert_eq!(listing(&answer(0, &[])).unwrap().len(), 0);
    }

    #[test]
    fn listed_names_are_clipped_and_need_no_nul() {
        // A path filling all 256 bytes, no NUL, no backslash: 255 characters kept.
        let bytes = answer(1, &[entry(0x1000, 1, &[b'Q'; RTL_MODULE_PATH_LENGTH])]);
        let list = ModuleList::from_snapshot(listing(&bytes).unwrap(), &mut |_, _| {}).unwrap();
        assert_eq!(list.modules()[0].name(), [b'q'; MAX_NAME]);
        // A full path ending in a long base name: the part after the last backslash.
        let mut path = br"\d\".to_vec();
        path.extend(core::iter::repeat_n(
            b'X',
            RTL_MODULE_PATH_LENGTH - path.len(),
        ));
        let bytes = answer(1, &[entry(0x1000, 1, &path)]);
        let list = ModuleList::from_snapshot(listing(&bytes).unwrap(), &mut |_, _| {}).unwrap();
        assert_eq!(list.modules()[0].name(), [b'x'; RTL_MODULE_PATH_LENGTH - 3]);
        // A path ending in a backslash names nothing; non-ASCII bytes are kept as they are.
        let bytes = answer(
            2,
            &[
                entry(0x1000, 1, br"\dir\"),
                entry(0x2000, 1, b"\\\xC9CRAN.SYS"),
            ],
        );
        let list = ModuleList::from_snapshot(listing(&bytes).unwrap(), &mut |_, _| {}).unwrap();
        assert_eq!(list.modules()[0].name(), b"");
        assert_eq!(list.modules()[1].name(), b"\xC9cran.sys");
    }

    #[test]
    fn hostile_listings_are_refused_with_the_reason() {
        assert_eq!(
            listing(&[]).map(|l| l.len()),
            Err(ListingError::NoHeader { bytes: 0 })
        );
        assert_eq!(
            listing(&[1, 0, 0, 0, 0, 0]).map(|l| l.len()),
            Err(ListingError::NoHeader { bytes: 6 })
        );
        let two = [entry(0x1000, 1, b"a"), entry(0x2000, 1, b"b")];
        assert_eq!(
            listing(&answer(3, &two)).map(|l| l.len()),
            Err(ListingError::Truncated { count: 3, fits: 2 })
        );
        assert_eq!(
            listing(&answer(u32::MAX, &two)).map(|l| l.len()),
            Err(ListingError::Truncated {
                count: u32::MAX,
                fits: 2
            })
        );
        // Half an entry more than counted is fine; half an entry short is not.
        let mut bytes = answer(2, &two);
        bytes.truncate(bytes.len() - 1);
        assert_eq!(
            listing(&bytes).map(|l| l.len()),
            Err(ListingError::Truncated { count: 2, fits: 1 })
        );
        // Entries that make no range are refused one by one, the rest kept.
        let bytes = answer(
            4,
            &[
                entry(0x1000, 0x1000, b"good.sys"),
                entry(0x5000, 0, b"empty.sys"),
                entry(usize::MAX - 0xFF, 0x1000, b"wraps.sys"),
                entry(0x1800, 0x10, b"inside.sys"),
            ],
        );
        let mut refused = Vec::new();
        let list =
            ModuleList::from_snapshot(listing(&bytes).unwrap(), &mut |i, e| refused.push((i, e)))
                .unwrap();
        assert_eq!(names(&list), ["good.sys"]);
        assert_eq!(
            refused,
            [
                (1, ModuleError::Empty),
                (2, ModuleError::Wraps),
                (3, ModuleError::Overlaps)
            ]
        );
    }

    #[test]
    fn every_prefix_and_corruption_of_a_listing_reads_or_fails_cleanly() {
        let bytes = answer(
            3,
            &[
                entry(0x10_0000, 0x1000, br"\a\one.sys"),
                entry(0x20_0000, 0x1000, br"\a\two.sys"),
                entry(0x30_0000, 0x1000, br"\a\three.sys"),
            ],
        );
        for len in 0..=bytes.len() {
            let prefix = &bytes[..len];
            if let Ok(l) = listing(prefix) {
                let _ = ModuleList::from_snapshot(l, &mut |_, _| {});
            }
        }
        // Every byte flipped in turn: never a panic.
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0xFF;
            if let Ok(l) = listing(&b) {
                let list = ModuleList::from_snapshot(l, &mut |_, _| {}).unwrap();
                assert!(list.modules().len() <= 3);
            }
        }
    }

    /// Inserts as the glue does: measure, reserve, commit.
    fn commit_as_the_glue(l: &mut ModuleList, module: Module) -> (Commit, Reservation) {
        let mut reservation = Reservation::new(l.room(&module).unwrap()).unwrap();
        let outcome = l.commit(module, &mut reservation);
        (outcome, reservation)
    }

    #[test]
    fn commit_grows_the_list_from_the_reservation() {
        let mut l = ModuleList::new();
        assert_eq!(
            l.room(&m(0x1000, 1, "a")).unwrap(),
            Room {
                list: GROW_MIN,
                replaced: 0
            }
        );
        for i in 0..GROW_MIN {
            let (done, reservation) = commit_as_the_glue(&mut l, m(0x10 * (i + 1), 1, "m"));
            assert_eq!(done, Commit::Done);
            assert!(reservation.replaced().is_empty());
        }
        assert_eq!(l.modules.capacity(), GROW_MIN, "one allocation so far");
        // Full: the next one moves the list into storage twice the size; the old storage
        // leaves with the reservation, empty.
        let (done, reservation) = commit_as_the_glue(&mut l, m(0x10_0000, 1, "next"));
        assert_eq!(done, Commit::Done);
        assert_eq!(l.modules.capacity(), 2 * GROW_MIN);
        assert!(reservation.storage.is_empty());
        assert_eq!(reservation.storage.capacity(), GROW_MIN);
        assert_eq!(l.modules().len(), GROW_MIN + 1);
        assert_eq!(l.lookup(0x10_0000).unwrap().0.name(), b"next");
    }

    #[test]
    fn commit_hands_back_what_it_replaced_and_retries_a_stale_reservation() {
        let mut l = ModuleList::new();
        for x in [m(0x1000, 0x1000, "a"), m(0x2000, 0x1000, "b")] {
            assert_eq!(commit_as_the_glue(&mut l, x).0, Commit::Done);
        }
        let (done, reservation) = commit_as_the_glue(&mut l, m(0x1800, 0x1000, "new"));
        assert_eq!(done, Commit::Done);
        let gone: Vec<&[u8]> = reservation.replaced().iter().map(Module::name).collect();
        assert_eq!(gone, [b"a", b"b"]);
        assert_eq!(names(&l), ["new"]);
        // Measured before another load took the range: the reservation has no room for what
        // is now replaced, so the module comes back, the list unchanged.
        let late = m(0x9000, 0x10, "late");
        let mut reservation = Reservation::new(l.room(&late).unwrap()).unwrap();
        assert_eq!(
            commit_as_the_glue(&mut l, m(0x9000, 1, "first")).0,
            Commit::Done
        );
        match l.commit(late, &mut reservation) {
            Commit::Retry(back) => assert_eq!(back.name(), b"late"),
            other => panic!("{other:?}"),
        }
        assert_eq!(names(&l), ["new", "first"]);
        assert_eq!(
            commit_as_the_glue(&mut l, m(0x9000, 0x10, "late")).0,
            Commit::Done
        );
        assert_eq!(names(&l), ["new", "late"]);
    }

    #[test]
    fn commit_into_a_full_list_without_storage_retries() {
        let mut l = ModuleList::new();
        l.insert(m(0x1000, 1, "a")).unwrap();
        l.modules.shrink_to_fit();
        let b = m(0x2000, 1, "b");
        match l.commit(b, &mut Reservation::default()) {
            Commit::Retry(back) => assert_eq!(back.name(), b"b"),
            other => panic!("{other:?}"),
        }
        assert_eq!(names(&l), ["a"]);
    }

    #[test]
    fn the_list_is_bounded() {
        let mut l = ModuleList::new();
        for i in 0..MAX_MODULES {
            l.insert(m(i * 2, 1, "m")).unwrap();
        }
        assert_eq!(
            l.insert(m(MAX_MODULES * 2, 1, "one-too-many")),
            Err(ModuleError::Full)
        );
        // Replacing stays possible when full.
        assert_eq!(l.insert(m(0, 1, "again")).unwrap().len(), 1);
        match l.commit(m(MAX_MODULES * 2, 1, "late"), &mut Reservation::default()) {
            Commit::Refused(ModuleError::Full, back) => assert_eq!(back.name(), b"late"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            l.room(&m(MAX_MODULES * 2, 1, "late")),
            Err(ModuleError::Full)
        );
    }
}
