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
//!   and which entries it replaces; [`ModuleList::apply`] applies that without allocating
//!   (the glue reserves room first and frees what was replaced after releasing the lock).
//! * The list is bounded ([`MAX_MODULES`]).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::Range;

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
        let fits = plan.start == module.start
            && plan.end == module.end
            && plan.replaces.end <= self.modules.len()
            && (!plan.replaces.is_empty() || self.modules.len() < self.modules.capacity())
            && replaced.capacity().saturating_sub(replaced.len()) >= plan.replaces.len();
        if !fits {
            return Err(ModuleError::NoMemory);
        }
        let at = plan.replaces.start;
        replaced.extend(self.modules.drain(plan.replaces.clone()));
        if at <= self.modules.len() {
            self.modules.insert(at, module);
        }
        Ok(())
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
    }
}
