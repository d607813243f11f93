// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `RANGE_SET`: a named set of `LONGLONG` items kept as disjoint ranges.
//!
//! It is the object behind `XENBUS_RANGE_SET` v1 (upstream `range_set.c`) and, inside
//! xenbus, the allocator of grant references ("gnttab"), PCI hole pages ("PCI") and ballooned
//! PFNs ("balloon").
//!
//! [`RangeSet`] is the portable core of one set: [`put`](RangeSet::put) gives items back,
//! [`pop`](RangeSet::pop) takes any `count` contiguous items (first fit from the lowest range),
//! [`get`](RangeSet::get) takes a particular run of items. The interface layer owns what
//! upstream keeps around a set — the per-set spin lock (every method here takes `&mut self`, so
//! the lock is whatever wraps the set), the context's list of live sets and the
//! "OUTSTANDING RANGE SETS" check on Release — and maps [`RangeSetError`] to NTSTATUS with
//! [`RangeSetError::status`], the one place that mapping lives.
//!
//! # Representation and cost
//! A vector of inclusive ranges `[start, end]`, sorted by `start`, pairwise disjoint and never
//! touching (a range always ends at least two items before the next begins, because
//! [`put`](RangeSet::put) merges neighbours). With `n` the number of ranges (not items):
//! * locating a range is a binary search, `O(log n)`;
//! * `put` and `get` are `O(log n)` plus an `O(n)` element shift when they change the number of
//!   ranges (a new isolated range, a merge of two neighbours, a split, an exact removal);
//! * `pop` scans ranges from the lowest until one is long enough, `O(k)` for `k` ranges
//!   skipped (upstream walks its list the same way), plus the shift when it empties a range;
//! * memory is one 16-byte element per range; capacity keeps its high-water mark until the set
//!   is dropped, which plays the part of upstream's cached spare node.
//!
//! A `BTreeMap` would make the shifts `O(log n)`, but its node allocations cannot fail
//! gracefully: upstream returns `STATUS_NO_MEMORY` when it cannot allocate the node a new range
//! or a split needs, and the kernel's allocation-failure handler would bug-check instead. The
//! vector reserves room with `try_reserve` *before* touching anything, so an allocation failure
//! is a [`RangeSetError::NoMemory`] that leaves the set exactly as it was. The shift is a
//! `memmove` of 16-byte elements; in-tree sets hold a handful of ranges.
//!
//! # Upstream quirks, decided
//! * **Overlap is rejected.** Upstream only `ASSERT`s that a Put does not overlap the set (a
//!   free build silently corrupts its list). Here a Put that shares any item with the set —
//!   at either edge, inside, or containing a range — fails with [`RangeSetError::Overlap`]
//!   (`STATUS_INVALID_PARAMETER`) and changes nothing (project issue 5).
//! * **Get of absent items is rejected.** Upstream `ASSERT`s that the requested run lies in one
//!   range (and walks off its list when the set is empty). Here a Get whose run is not wholly
//!   inside one range — partly or wholly absent, or spanning the gap between two ranges — fails
//!   with [`RangeSetError::NotPresent`] (`STATUS_INVALID_PARAMETER`) and changes nothing.
//! * **Zero counts** fail with `STATUS_INVALID_PARAMETER` in Put, Pop and Get, as upstream.
//! * **Negative starts are accepted**, as upstream's `LONGLONG` parameter allows: items range
//!   over all of `i64`. The one limit upstream does not have is the set's item count, a `u64`: a
//!   Put that would hold more than `u64::MAX` items fails with [`RangeSetError::Overflow`].
//! * **`Start + Count - 1` past `i64::MAX`** fails with [`RangeSetError::Overflow`]
//!   (`STATUS_INVALID_PARAMETER`) in Put and Get; upstream's signed overflow is undefined.
//! * **Pop with nothing long enough** (including an empty set) is
//!   `STATUS_INSUFFICIENT_RESOURCES`, as upstream.
//! * **Names** longer than 127 bytes fail creation with `STATUS_BUFFER_OVERFLOW`: upstream
//!   formats the name into a 128-byte buffer with `RtlStringCbPrintfA`, whose truncation status
//!   fails `RangeSetCreate`. Names are kept verbatim, not truncated.
//! * **No cursor.** Upstream remembers the last range touched to shorten its list walks and
//!   marks it with `*` in the debug dump; a binary search needs no cursor, so the dump has no
//!   marker.
//! * **Dump ellipsis.** Upstream prints at most nine ranges and then `...` even when the ninth
//!   was the last; [`RangeSet::dump`] prints `...` only when ranges were left out.
//! * **Destroy of a non-empty set** is a caller bug upstream only `ASSERT`s (and then leaks the
//!   ranges). Dropping a [`RangeSet`] always frees everything; the interface layer checks
//!   [`RangeSet::is_empty`] first and logs the offender.

use alloc::vec::Vec;
use core::fmt;

use ntstatus::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INSUFFICIENT_RESOURCES, STATUS_INVALID_PARAMETER,
    STATUS_NO_MEMORY,
};

/// The longest name a set may carry, in bytes (upstream's 128-byte buffer less its NUL).
pub const MAX_NAME_LEN: usize = 127;

/// How many ranges [`RangeSet::dump`] prints before eliding the rest (as upstream).
const DUMP_RANGES: usize = 9;

/// Why a range-set operation failed. Every failure leaves the set unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeSetError {
    /// The count was zero.
    ZeroCount,
    /// `start + count - 1` does not fit an `i64`.
    Overflow,
    /// Put: some of the items are already in the set.
    Overlap,
    /// Get: the items do not all lie inside one range of the set.
    NotPresent,
    /// Pop: no range holds `count` contiguous items.
    Exhausted,
    /// The room for a new range could not be allocated.
    NoMemory,
    /// Create: the name is longer than [`MAX_NAME_LEN`] bytes.
    NameTooLong,
}

impl RangeSetError {
    /// The NTSTATUS the interface returns for this failure.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::ZeroCount | Self::Overflow | Self::Overlap | Self::NotPresent => {
                STATUS_INVALID_PARAMETER
            }
            Self::Exhausted => STATUS_INSUFFICIENT_RESOURCES,
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::NameTooLong => STATUS_BUFFER_OVERFLOW,
        }
    }
}

impl fmt::Display for RangeSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ZeroCount => "count is zero",
            Self::Overflow => "start + count - 1 overflows",
            Self::Overlap => "items already in the set",
            Self::NotPresent => "items not inside one range of the set",
            Self::Exhausted => "no range is long enough",
            Self::NoMemory => "out of memory",
            Self::NameTooLong => "name longer than 127 bytes",
        })
    }
}

/// One inclusive run of items, `start <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Range {
    start: i64,
    end: i64,
}

impl Range {
    /// Whether the range holds at least `count` items (`count >= 1`).
    fn holds(self, count: u64) -> bool {
        // `end - start` is the length less one and never negative, so `abs_diff` is exact.
        count
            .checked_sub(1)
            .is_some_and(|extra| self.end.abs_diff(self.start) >= extra)
    }
}

/// Checks a caller's `(start, count)` and returns the last item of the run.
fn last_item(start: i64, count: u64) -> Result<i64, RangeSetError> {
    let extra = count.checked_sub(1).ok_or(RangeSetError::ZeroCount)?;
    start
        .checked_add_unsigned(extra)
        .ok_or(RangeSetError::Overflow)
}

/// A named set of `i64` items, kept as sorted, disjoint, non-touching ranges.
pub struct RangeSet {
    name: [u8; MAX_NAME_LEN],
    name_len: usize,
    ranges: Vec<Range>,
    items: u64,
}

impl RangeSet {
    /// Creates an empty set called `name` (the bytes of the caller's `PCSTR`, without its NUL).
    ///
    /// # Errors
    /// [`RangeSetError::NameTooLong`] if `name` is longer than [`MAX_NAME_LEN`] bytes.
    pub fn new(name: &[u8]) -> Result<Self, RangeSetError> {
        let mut stored = [0; MAX_NAME_LEN];
        stored
            .get_mut(..name.len())
            .ok_or(RangeSetError::NameTooLong)?
            .copy_from_slice(name);
        Ok(Self {
            name: stored,
            name_len: name.len(),
            ranges: Vec::new(),
            items: 0,
        })
    }

    /// The set's name, as given to [`new`](Self::new).
    #[must_use]
    pub fn name(&self) -> &[u8] {
        self.name.get(..self.name_len).unwrap_or_default()
    }

    /// Whether the set holds no items (it must, before `RangeSetDestroy`).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many items the set holds.
    #[must_use]
    pub const fn item_count(&self) -> u64 {
        self.items
    }

    /// How many disjoint ranges the set holds.
    #[must_use]
    pub const fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// The ranges, lowest first, as inclusive `(start, end)` pairs.
    pub fn ranges(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ranges.iter().map(|range| (range.start, range.end))
    }

    /// Whether `item` is in the set.
    #[must_use]
    pub fn contains(&self, item: i64) -> bool {
        self.containing(item).is_some()
    }

    /// The index of the first range starting after `item` (so the range before it, if any, is
    /// the only one that can contain `item`).
    fn after(&self, item: i64) -> usize {
        self.ranges.partition_point(|range| range.start <= item)
    }

    /// The index of the range containing `item`.
    fn containing(&self, item: i64) -> Option<usize> {
        let index = self.after(item).checked_sub(1)?;
        self.ranges
            .get(index)
            .filter(|range| range.end >= item)
            .map(|_| index)
    }

    /// `RangeSetPut`: adds the `count` items from `start`, merging with a neighbouring range on
    /// either side that they touch.
    ///
    /// # Errors
    /// [`ZeroCount`](RangeSetError::ZeroCount)
    /// or [`Overflow`](RangeSetError::Overflow) for a bad run;
    /// [`Overlap`](RangeSetError::Overlap) if any of the items is already in the set;
    /// [`NoMemory`](RangeSetError::NoMemory) if a new range cannot be stored. The set is
    /// unchanged on error.
    pub fn put(&mut self, start: i64, count: u64) -> Result<(), RangeSetError> {
        let end = last_item(start, count)?;
        let index = self.after(start);
        let previous = index
            .checked_sub(1)
            .and_then(|before| self.ranges.get(before).copied());
        let next = self.ranges.get(index).copied();

        if previous.is_some_and(|range| range.end >= start)
            || next.is_some_and(|range| range.start <= end)
        {
            return Err(RangeSetError::Overlap);
        }
        // Disjoint items in 0..=i64::MAX number at most 2^63, so this cannot fail; it is checked
        // rather than assumed.
        let items = self
            .items
            .checked_add(count)
            .ok_or(RangeSetError::Overflow)?;

        let joins_previous = previous.is_some_and(|range| range.end.checked_add(1) == Some(start));
        let joins_next = next.is_some_and(|range| end.checked_add(1) == Some(range.start));
        match (joins_previous, joins_next) {
            (true, true) => {
                // The new items fill the gap: the previous range absorbs them and the next one.
                let merged_end = next.map_or(end, |range| range.end);
                self.ranges.remove(index);
                self.set_end(index.wrapping_sub(1), merged_end);
            }
            (true, false) => self.set_end(index.wrapping_sub(1), end),
            (false, true) => {
                if let Some(range) = self.ranges.get_mut(index) {
                    range.start = start;
                }
            }
            (false, false) => {
                self.ranges
                    .try_reserve(1)
                    .map_err(|_| RangeSetError::NoMemory)?;
                self.ranges.insert(index, Range { start, end });
            }
        }
        self.items = items;
        Ok(())
    }

    /// Sets the end of the range at `index` (an index the caller just found).
    fn set_end(&mut self, index: usize, end: i64) {
        if let Some(range) = self.ranges.get_mut(index) {
            range.end = end;
        }
    }

    /// `RangeSetPop`: removes `count` contiguous items from the lowest range that holds that
    /// many, and returns the first of them (that range's start).
    ///
    /// # Errors
    /// [`ZeroCount`](RangeSetError::ZeroCount) if `count` is zero;
    /// [`Exhausted`](RangeSetError::Exhausted) if no range holds `count` items (an empty set
    /// included). The set is unchanged on error.
    pub fn pop(&mut self, count: u64) -> Result<i64, RangeSetError> {
        if count == 0 {
            return Err(RangeSetError::ZeroCount);
        }
        let index = self
            .ranges
            .iter()
            .position(|range| range.holds(count))
            .ok_or(RangeSetError::Exhausted)?;
        let range = self
            .ranges
            .get(index)
            .copied()
            .ok_or(RangeSetError::Exhausted)?;
        let items = self
            .items
            .checked_sub(count)
            .ok_or(RangeSetError::Exhausted)?;

        // `range` holds `count` items, so its new start is at most `end + 1` and fits an i64.
        match range.start.checked_add_unsigned(count) {
            Some(rest) if rest <= range.end => {
                if let Some(stored) = self.ranges.get_mut(index) {
                    stored.start = rest;
                }
            }
            _ => {
                self.ranges.remove(index);
            }
        }
        self.items = items;
        Ok(range.start)
    }

    /// `RangeSetGet`: removes the `count` items from `start`, which must all lie inside one
    /// range; removing the middle of a range splits it in two.
    ///
    /// # Errors
    /// [`ZeroCount`](RangeSetError::ZeroCount)
    /// or [`Overflow`](RangeSetError::Overflow) for a bad run;
    /// [`NotPresent`](RangeSetError::NotPresent) if the items are not all inside one range;
    /// [`NoMemory`](RangeSetError::NoMemory) if a split cannot be stored. The set is unchanged
    /// on error.
    pub fn get(&mut self, start: i64, count: u64) -> Result<(), RangeSetError> {
        let end = last_item(start, count)?;
        let index = self.containing(start).ok_or(RangeSetError::NotPresent)?;
        let range = self
            .ranges
            .get(index)
            .copied()
            .ok_or(RangeSetError::NotPresent)?;
        if end > range.end {
            return Err(RangeSetError::NotPresent);
        }
        let items = self
            .items
            .checked_sub(count)
            .ok_or(RangeSetError::NotPresent)?;

        // Inside the range, `start - 1` and `end + 1` are in range whenever they are used.
        let before = (start > range.start)
            .then(|| start.checked_sub(1))
            .flatten();
        let after = (end < range.end).then(|| end.checked_add(1)).flatten();
        match (before, after) {
            (None, None) => {
                self.ranges.remove(index);
            }
            (Some(new_end), None) => self.set_end(index, new_end),
            (None, Some(new_start)) => {
                if let Some(stored) = self.ranges.get_mut(index) {
                    stored.start = new_start;
                }
            }
            (Some(new_end), Some(new_start)) => {
                self.ranges
                    .try_reserve(1)
                    .map_err(|_| RangeSetError::NoMemory)?;
                self.set_end(index, new_end);
                let tail = Range {
                    start: new_start,
                    end: range.end,
                };
                self.ranges.insert(index.saturating_add(1), tail);
            }
        }
        self.items = items;
        Ok(())
    }

    /// Writes the debug-dump lines for this set, as upstream's `RangeSetDump`: ` - NAME:`, then
    /// `   EMPTY` or up to nine `   {start - end}` lines in hex, then `   ...` if any were left
    /// out. Non-printable name bytes are written as `\xNN`.
    ///
    /// # Errors
    /// Whatever `out` returns.
    pub fn dump<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        out.write_str(" - ")?;
        for &byte in self.name() {
            if byte.is_ascii_graphic() || byte == b' ' {
                out.write_char(char::from(byte))?;
            } else {
                write!(out, "\\x{byte:02x}")?;
            }
        }
        out.write_str(":\n")?;
        if self.ranges.is_empty() {
            return out.write_str("   EMPTY\n");
        }
        for range in self.ranges.iter().take(DUMP_RANGES) {
            writeln!(out, "   {{{:x} - {:x}}}", range.start, range.end)?;
        }
        if self.ranges.len() > DUMP_RANGES {
            out.write_str("   ...\n")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeSet")
            .field("name", &self.name())
            .field("items", &self.items)
            .field("ranges", &self.ranges)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::string::String;
    use alloc::vec;

    fn set_with(ranges: &[(i64, u64)]) -> RangeSet {
        let mut set = RangeSet::new(b"test").unwrap();
        for &(start, count) in ranges {
            set.put(start, count).unwrap();
        }
        set
    }

    fn ranges_of(set: &RangeSet) -> Vec<(i64, i64)> {
        set.ranges().collect()
    }

    #[test]
    fn new_set_is_empty_and_named() {
        let set = RangeSet::new(b"gnttab").unwrap();
        assert!(set.is_empty());
        assert_eq!(set.item_count(), 0);
        assert_eq!(set.range_count(), 0);
        assert_eq!(set.name(), b"gnttab");
    }

    #[test]
    fn name_of_127_bytes_is_kept_and_128_is_buffer_overflow() {
        let long = [b'n'; MAX_NAME_LEN];
        assert_eq!(RangeSet::new(&long).unwrap().name(), &long[..]);
        let too_long = [b'n'; MAX_NAME_LEN + 1];
        assert_eq!(
            RangeSet::new(&too_long).unwrap_err(),
            RangeSetError::NameTooLong
        );
        assert_eq!(RangeSetError::NameTooLong.status(), STATUS_BUFFER_OVERFLOW);
        assert_eq!(RangeSet::new(b"").unwrap().name(), b"");
    }

    #[test]
    fn put_into_empty_set_adds_one_range() {
        let set = set_with(&[(10, 5)]);
        assert_eq!(ranges_of(&set), vec![(10, 14)]);
        assert_eq!(set.item_count(), 5);
        assert!(set.contains(10) && set.contains(14));
        assert!(!set.contains(9) && !set.contains(15));
    }

    #[test]
    fn put_keeps_separate_ranges_sorted() {
        let set = set_with(&[(50, 2), (10, 2), (30, 2)]);
        assert_eq!(ranges_of(&set), vec![(10, 11), (30, 31), (50, 51)]);
        assert_eq!(set.item_count(), 6);
    }

    #[test]
    fn put_touching_previous_merges_backwards() {
        let set = set_with(&[(10, 5), (15, 3)]);
        assert_eq!(ranges_of(&set), vec![(10, 17)]);
        assert_eq!(set.item_count(), 8);
    }

    #[test]
    fn put_touching_next_merges_forwards() {
        let set = set_with(&[(15, 3), (10, 5)]);
        assert_eq!(ranges_of(&set), vec![(10, 17)]);
    }

    #[test]
    fn put_filling_a_gap_merges_both_sides() {
        let set = set_with(&[(0, 2), (10, 5), (20, 5), (40, 1)]);
        let mut set = set;
        set.put(15, 5).unwrap();
        assert_eq!(ranges_of(&set), vec![(0, 1), (10, 24), (40, 40)]);
        assert_eq!(set.item_count(), 18);
    }

    #[test]
    fn put_one_short_of_a_neighbour_does_not_merge() {
        let set = set_with(&[(10, 5), (16, 2)]);
        assert_eq!(ranges_of(&set), vec![(10, 14), (16, 17)]);
    }

    #[test]
    fn put_overlap_at_either_edge_inside_or_around_is_rejected() {
        let mut set = set_with(&[(10, 5)]);
        let before = ranges_of(&set);
        for (start, count) in [
            (8, 3),   // last item hits the first of the range
            (14, 3),  // first item hits the last of the range
            (12, 1),  // inside
            (10, 5),  // exactly the range
            (5, 20),  // contains the range
            (0, 100), // contains it with room to spare
        ] {
            assert_eq!(
                set.put(start, count),
                Err(RangeSetError::Overlap),
                "put({start}, {count})"
            );
            assert_eq!(ranges_of(&set), before);
            assert_eq!(set.item_count(), 5);
        }
        assert_eq!(RangeSetError::Overlap.status(), STATUS_INVALID_PARAMETER);
    }

    #[test]
    fn put_overlapping_the_next_of_several_ranges_is_rejected() {
        let mut set = set_with(&[(0, 2), (10, 2), (20, 2)]);
        // Starts in the gap after the first range but runs into the second.
        assert_eq!(set.put(5, 6), Err(RangeSetError::Overlap));
        // Spans a whole middle range.
        assert_eq!(set.put(5, 10), Err(RangeSetError::Overlap));
        assert_eq!(ranges_of(&set), vec![(0, 1), (10, 11), (20, 21)]);
    }

    #[test]
    fn put_bad_runs_are_invalid_parameter() {
        let mut set = set_with(&[(10, 5)]);
        assert_eq!(set.put(0, 0), Err(RangeSetError::ZeroCount));
        assert_eq!(set.put(i64::MAX, 2), Err(RangeSetError::Overflow));
        assert_eq!(set.put(1, u64::MAX), Err(RangeSetError::Overflow));
        assert_eq!(set.put(0, u64::MAX), Err(RangeSetError::Overflow));
        for error in [RangeSetError::ZeroCount, RangeSetError::Overflow] {
            assert_eq!(error.status(), STATUS_INVALID_PARAMETER);
        }
        assert_eq!(ranges_of(&set), vec![(10, 14)]);
        assert_eq!(set.item_count(), 5);
    }

    #[test]
    fn put_up_to_i64_max_and_the_whole_domain() {
        let mut set = set_with(&[(i64::MAX, 1)]);
        assert_eq!(ranges_of(&set), vec![(i64::MAX, i64::MAX)]);
        set.put(0, 1u64 << 63).unwrap_err();
        set.put(0, (1u64 << 63) - 1).unwrap();
        assert_eq!(ranges_of(&set), vec![(0, i64::MAX)]);
        assert_eq!(set.item_count(), 1u64 << 63);
        assert_eq!(set.pop(1u64 << 63), Ok(0));
        assert!(set.is_empty());
        set.put(0, 1u64 << 63).unwrap();
        assert_eq!(set.get(0, 1u64 << 63), Ok(()));
        assert!(set.is_empty());
    }

    #[test]
    fn pop_takes_from_the_lowest_range_first() {
        let mut set = set_with(&[(10, 5), (30, 5)]);
        assert_eq!(set.pop(2), Ok(10));
        assert_eq!(ranges_of(&set), vec![(12, 14), (30, 34)]);
        assert_eq!(set.item_count(), 8);
    }

    #[test]
    fn pop_skips_ranges_too_short_first_fit() {
        let mut set = set_with(&[(0, 1), (10, 2), (20, 4), (40, 8)]);
        assert_eq!(set.pop(3), Ok(20));
        assert_eq!(ranges_of(&set), vec![(0, 0), (10, 11), (23, 23), (40, 47)]);
        // First fit, not best fit: 40..47 is used for 5 although nothing else fits anyway, and
        // a later request for 1 takes the lowest range.
        assert_eq!(set.pop(5), Ok(40));
        assert_eq!(set.pop(1), Ok(0));
        assert_eq!(ranges_of(&set), vec![(10, 11), (23, 23), (45, 47)]);
    }

    #[test]
    fn pop_exact_length_removes_the_range() {
        let mut set = set_with(&[(10, 2), (20, 2)]);
        assert_eq!(set.pop(2), Ok(10));
        assert_eq!(ranges_of(&set), vec![(20, 21)]);
        assert_eq!(set.pop(2), Ok(20));
        assert!(set.is_empty());
        assert_eq!(set.item_count(), 0);
    }

    #[test]
    fn pop_failures() {
        let mut set = RangeSet::new(b"t").unwrap();
        assert_eq!(set.pop(1), Err(RangeSetError::Exhausted));
        set.put(0, 3).unwrap();
        set.put(10, 3).unwrap();
        assert_eq!(set.pop(0), Err(RangeSetError::ZeroCount));
        // Six items in total, but no three-plus-one contiguous.
        assert_eq!(set.pop(4), Err(RangeSetError::Exhausted));
        assert_eq!(set.pop(u64::MAX), Err(RangeSetError::Exhausted));
        assert_eq!(ranges_of(&set), vec![(0, 2), (10, 12)]);
        assert_eq!(
            RangeSetError::Exhausted.status(),
            STATUS_INSUFFICIENT_RESOURCES
        );
    }

    #[test]
    fn pop_at_the_top_of_the_domain() {
        let mut set = set_with(&[(i64::MAX - 2, 3)]);
        assert_eq!(set.pop(2), Ok(i64::MAX - 2));
        assert_eq!(ranges_of(&set), vec![(i64::MAX, i64::MAX)]);
        assert_eq!(set.pop(1), Ok(i64::MAX));
        assert!(set.is_empty());
    }

    #[test]
    fn get_whole_range_removes_it() {
        let mut set = set_with(&[(0, 2), (10, 5), (20, 2)]);
        set.get(10, 5).unwrap();
        assert_eq!(ranges_of(&set), vec![(0, 1), (20, 21)]);
        assert_eq!(set.item_count(), 4);
    }

    #[test]
    fn get_at_the_start_trims_the_front() {
        let mut set = set_with(&[(10, 5)]);
        set.get(10, 2).unwrap();
        assert_eq!(ranges_of(&set), vec![(12, 14)]);
    }

    #[test]
    fn get_at_the_end_trims_the_back() {
        let mut set = set_with(&[(10, 5)]);
        set.get(13, 2).unwrap();
        assert_eq!(ranges_of(&set), vec![(10, 12)]);
    }

    #[test]
    fn get_in_the_middle_splits() {
        let mut set = set_with(&[(0, 1), (10, 10), (30, 1)]);
        set.get(13, 3).unwrap();
        assert_eq!(ranges_of(&set), vec![(0, 0), (10, 12), (16, 19), (30, 30)]);
        assert_eq!(set.item_count(), 9);
        // One item in from each edge leaves single-item ranges.
        set.get(11, 1).unwrap();
        assert_eq!(
            ranges_of(&set),
            vec![(0, 0), (10, 10), (12, 12), (16, 19), (30, 30)]
        );
        // Putting the items back merges everything again.
        set.put(11, 1).unwrap();
        set.put(13, 3).unwrap();
        assert_eq!(ranges_of(&set), vec![(0, 0), (10, 19), (30, 30)]);
    }

    #[test]
    fn get_of_absent_items_is_rejected() {
        let mut set = RangeSet::new(b"t").unwrap();
        assert_eq!(set.get(0, 1), Err(RangeSetError::NotPresent));
        set.put(10, 5).unwrap();
        set.put(20, 5).unwrap();
        for (start, count) in [
            (5, 1),   // below every range
            (9, 2),   // begins before the range
            (14, 2),  // runs past the end of the range
            (15, 1),  // in the gap
            (12, 10), // across the gap into the next range
            (10, 15), // both ranges and the gap
            (30, 1),  // above every range
        ] {
            assert_eq!(
                set.get(start, count),
                Err(RangeSetError::NotPresent),
                "get({start}, {count})"
            );
        }
        assert_eq!(ranges_of(&set), vec![(10, 14), (20, 24)]);
        assert_eq!(set.item_count(), 10);
        assert_eq!(RangeSetError::NotPresent.status(), STATUS_INVALID_PARAMETER);
    }

    #[test]
    fn get_bad_runs_are_invalid_parameter() {
        let mut set = set_with(&[(0, 10), (i64::MAX - 1, 2)]);
        assert_eq!(set.get(0, 0), Err(RangeSetError::ZeroCount));
        assert_eq!(set.get(-1, 2), Err(RangeSetError::NotPresent));
        assert_eq!(set.get(i64::MAX, 2), Err(RangeSetError::Overflow));
        assert_eq!(set.get(0, u64::MAX), Err(RangeSetError::Overflow));
        assert_eq!(set.get(i64::MAX - 1, 2), Ok(()));
        assert_eq!(ranges_of(&set), vec![(0, 9)]);
    }

    #[test]
    fn no_memory_maps_to_status_no_memory() {
        assert_eq!(RangeSetError::NoMemory.status(), STATUS_NO_MEMORY);
    }

    #[test]
    fn dump_matches_upstream_layout() {
        let mut out = String::new();
        RangeSet::new(b"PCI").unwrap().dump(&mut out).unwrap();
        assert_eq!(out, " - PCI:\n   EMPTY\n");

        let set = set_with(&[(0x10, 0x10), (0x100, 1)]);
        out.clear();
        set.dump(&mut out).unwrap();
        assert_eq!(out, " - test:\n   {10 - 1f}\n   {100 - 100}\n");
    }

    #[test]
    fn dump_elides_after_nine_ranges_only_when_some_are_left_out() {
        let nine: Vec<(i64, u64)> = (0..9).map(|i| (i * 10, 1)).collect();
        let mut out = String::new();
        set_with(&nine).dump(&mut out).unwrap();
        assert_eq!(out.lines().count(), 10);
        assert!(!out.contains("..."));

        let ten: Vec<(i64, u64)> = (0..10).map(|i| (i * 10, 1)).collect();
        out.clear();
        set_with(&ten).dump(&mut out).unwrap();
        assert_eq!(out.lines().count(), 11);
        assert!(out.ends_with("   {50 - 50}\n   ...\n"));
    }

    #[test]
    fn dump_escapes_unprintable_name_bytes() {
        let mut out = String::new();
        RangeSet::new(b"a\nb\xff").unwrap().dump(&mut out).unwrap();
        assert_eq!(out, " - a\\x0ab\\xff:\n   EMPTY\n");
    }

    /// A small xorshift64 generator: deterministic and dependency-free.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }
    }

    /// The reference: a plain set of members over a small window at `base`.
    struct Model {
        members: BTreeSet<i64>,
    }

    impl Model {
        fn check_run(start: i64, count: u64) -> Result<i64, RangeSetError> {
            if count == 0 {
                return Err(RangeSetError::ZeroCount);
            }
            let end = i128::from(start) + i128::from(count) - 1;
            i64::try_from(end).map_err(|_| RangeSetError::Overflow)
        }

        fn put(&mut self, start: i64, count: u64) -> Result<(), RangeSetError> {
            let end = Self::check_run(start, count)?;
            if self.members.range(start..=end).next().is_some() {
                return Err(RangeSetError::Overlap);
            }
            self.members.extend(start..=end);
            Ok(())
        }

        fn get(&mut self, start: i64, count: u64) -> Result<(), RangeSetError> {
            let end = Self::check_run(start, count)?;
            // Ranges are maximal, so "all items present" is "inside one range".
            if u64::try_from(self.members.range(start..=end).count()).unwrap() != count {
                return Err(RangeSetError::NotPresent);
            }
            for item in start..=end {
                self.members.remove(&item);
            }
            Ok(())
        }

        fn runs(&self) -> Vec<(i64, i64)> {
            let mut runs: Vec<(i64, i64)> = Vec::new();
            for &item in &self.members {
                match runs.last_mut() {
                    Some(last) if last.1 + 1 == item => last.1 = item,
                    _ => runs.push((item, item)),
                }
            }
            runs
        }

        fn pop(&mut self, count: u64) -> Result<i64, RangeSetError> {
            if count == 0 {
                return Err(RangeSetError::ZeroCount);
            }
            let (start, _) = self
                .runs()
                .into_iter()
                .find(|&(start, end)| i128::from(end) - i128::from(start) + 1 >= i128::from(count))
                .ok_or(RangeSetError::Exhausted)?;
            let end = start + i64::try_from(count - 1).unwrap();
            for item in start..=end {
                self.members.remove(&item);
            }
            Ok(start)
        }
    }

    fn check_invariants(set: &RangeSet, model: &Model) {
        let ranges = ranges_of(set);
        assert_eq!(ranges, model.runs(), "ranges are the model's maximal runs");
        for pair in ranges.windows(2) {
            assert!(
                pair[0].1 + 1 < pair[1].0,
                "ranges disjoint and not touching"
            );
        }
        assert!(ranges.iter().all(|&(start, end)| start <= end));
        assert_eq!(
            set.item_count(),
            u64::try_from(model.members.len()).unwrap()
        );
        assert_eq!(set.is_empty(), model.members.is_empty());
    }

    /// Drives `steps` random operations over a 64-item window at `base`, with occasional
    /// zero, huge and negative arguments, and compares every result and the whole membership
    /// with the model after every step.
    fn run_model(seed: u64, base: i64, steps: usize) -> [usize; 3] {
        let mut rng = XorShift(seed);
        let mut set = RangeSet::new(b"model").unwrap();
        let mut model = Model {
            members: BTreeSet::new(),
        };
        let mut successes = [0; 3];
        for _ in 0..steps {
            let offset = i64::try_from(rng.below(72)).unwrap() - 4;
            let start = base.saturating_add(offset);
            let count = match rng.below(16) {
                0 => 0,
                1 => u64::MAX - rng.below(4),
                _ => 1 + rng.below(10),
            };
            match rng.below(5) {
                0 | 1 => {
                    let got = set.put(start, count);
                    assert_eq!(got, model.put(start, count), "put({start}, {count})");
                    successes[0] += usize::from(got.is_ok());
                }
                2 | 3 => {
                    // Half the gets aim at a member, so that many of them succeed.
                    let start = if model.members.is_empty() || rng.below(2) == 0 {
                        start
                    } else {
                        let nth = rng.below(u64::try_from(model.members.len()).unwrap());
                        *model
                            .members
                            .iter()
                            .nth(usize::try_from(nth).unwrap())
                            .unwrap()
                    };
                    let count = if count > 64 { count } else { 1 + rng.below(4) };
                    let got = set.get(start, count);
                    assert_eq!(got, model.get(start, count), "get({start}, {count})");
                    successes[1] += usize::from(got.is_ok());
                }
                _ => {
                    let count = if count > 64 { count } else { 1 + rng.below(6) };
                    let got = set.pop(count);
                    assert_eq!(got, model.pop(count), "pop({count})");
                    successes[2] += usize::from(got.is_ok());
                }
            }
            check_invariants(&set, &model);
            for item in base.saturating_sub(4)..=base.saturating_add(68) {
                assert_eq!(
                    set.contains(item),
                    model.members.contains(&item),
                    "item {item}"
                );
            }
        }
        successes
    }

    #[test]
    fn random_operations_match_a_membership_model() {
        for seed in [1, 0x9E37_79B9_7F4A_7C15, 0xDEAD_BEEF] {
            let successes = run_model(seed, 0, 4000);
            // Every kind of operation really succeeded often (the test exercises more than
            // error paths).
            assert!(successes.iter().all(|&n| n > 200), "{successes:?}");
        }
    }

    #[test]
    fn negative_starts_are_items_like_any_other() {
        let mut set = RangeSet::new(b"signed").unwrap();
        assert_eq!(set.put(-5, 3), Ok(()));
        assert_eq!(set.put(-2, 4), Ok(()));
        assert_eq!(ranges_of(&set), vec![(-5, 1)]);
        assert_eq!(set.get(-1, 2), Ok(()));
        assert_eq!(ranges_of(&set), vec![(-5, -2), (1, 1)]);
        assert_eq!(set.pop(2), Ok(-5));
        assert_eq!(set.put(i64::MIN, 1), Ok(()));
        assert_eq!(set.put(i64::MIN, 2), Err(RangeSetError::Overlap));
        assert_eq!(set.item_count(), 4);
    }

    #[test]
    fn the_whole_signed_domain_fits_until_the_item_count_would_overflow() {
        let mut set = RangeSet::new(b"all").unwrap();
        // 2^64 - 1 items: every i64 but i64::MAX.
        assert_eq!(set.put(i64::MIN, u64::MAX), Ok(()));
        assert_eq!(set.item_count(), u64::MAX);
        assert_eq!(set.put(i64::MAX, 1), Err(RangeSetError::Overflow));
        assert_eq!(set.item_count(), u64::MAX);
        assert_eq!(ranges_of(&set), vec![(i64::MIN, i64::MAX - 1)]);
    }

    #[test]
    fn random_operations_match_the_model_across_zero() {
        let successes = run_model(0x005E_ED0F_F00D, -32, 4000);
        assert!(successes.iter().all(|&n| n > 200), "{successes:?}");
    }

    #[test]
    fn random_operations_match_the_model_at_the_top_of_the_domain() {
        let successes = run_model(0x1234_5678, i64::MAX - 63, 4000);
        assert!(successes.iter().all(|&n| n > 200), "{successes:?}");
    }
}
