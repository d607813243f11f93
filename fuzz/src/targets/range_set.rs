// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `range_set`: sequences of Put/Pop/Get on a [`RangeSet`] checked against a model.
//!
//! The model is deliberately naive: a sorted list of inclusive ranges in `i128` (no overflow to
//! think about), rebuilt by merging after every change. After every operation the set must
//! answer exactly as the model does (the same `Ok` value or the same error, in the documented
//! order ZeroCount, Overflow, then Overlap/NotPresent/Exhausted), hold exactly the model's
//! ranges (sorted, disjoint, never touching) and item count, and answer `contains` for the
//! edges of every range as the model does. A failed operation must leave the set unchanged
//! (the model does not change either). The debug dump prints at most nine ranges then `...`.
//!
//! Input: a name (short bytes), then operations: a byte (op), then its operands. Starts are
//! drawn near one of a few bases (0, the `i64` extremes, a negative value) so runs collide and
//! touch, or taken raw; counts are small or raw.

use xenbus::range_set::{MAX_NAME_LEN, RangeSet, RangeSetError};

use crate::input::{Reader, Writer};

const BASES: [i64; 5] = [0, i64::MIN, i64::MAX - 512, -1000, 1 << 40];

fn start(r: &mut Reader<'_>) -> i64 {
    match r.below(4) {
        0 => r.u64().cast_signed(),
        base => BASES[usize::from(base + r.below(2))].wrapping_add(i64::from(r.u16() as i16)),
    }
}

fn count(r: &mut Reader<'_>) -> u64 {
    match r.below(8) {
        0 => r.u64(),
        1 => u64::MAX,
        2 => 0,
        _ => u64::from(r.u8()),
    }
}

/// The model: sorted, disjoint, non-touching inclusive ranges.
#[derive(Default, Debug, Clone, PartialEq, Eq)]
struct Model {
    ranges: Vec<(i128, i128)>,
}

impl Model {
    fn items(&self) -> u128 {
        self.ranges.iter().map(|&(s, e)| (e - s + 1) as u128).sum()
    }

    fn normalise(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(i128, i128)> = Vec::new();
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 + 1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
    }

    fn run(start: i64, count: u64) -> Result<(i128, i128), RangeSetError> {
        if count == 0 {
            return Err(RangeSetError::ZeroCount);
        }
        let s = i128::from(start);
        let e = s + i128::from(count) - 1;
        if e > i128::from(i64::MAX) {
            return Err(RangeSetError::Overflow);
        }
        Ok((s, e))
    }

    fn put(&mut self, start: i64, count: u64) -> Result<(), RangeSetError> {
        let (s, e) = Self::run(start, count)?;
        if self.ranges.iter().any(|&(rs, re)| rs <= e && s <= re) {
            return Err(RangeSetError::Overlap);
        }
        if self.items() + (e - s + 1) as u128 > u128::from(u64::MAX) {
            return Err(RangeSetError::Overflow);
        }
        self.ranges.push((s, e));
        self.normalise();
        Ok(())
    }

    fn remove(&mut self, index: usize, s: i128, e: i128) {
        let (rs, re) = self.ranges.remove(index);
        if rs < s {
            self.ranges.push((rs, s - 1));
        }
        if e < re {
            self.ranges.push((e + 1, re));
        }
        self.normalise();
    }

    fn pop(&mut self, count: u64) -> Result<i64, RangeSetError> {
        if count == 0 {
            return Err(RangeSetError::ZeroCount);
        }
        let want = i128::from(count);
        let index = self
            .ranges
            .iter()
            .position(|&(s, e)| e - s + 1 >= want)
            .ok_or(RangeSetError::Exhausted)?;
        let s = self.ranges[index].0;
        self.remove(index, s, s + want - 1);
        Ok(i64::try_from(s).expect("model ranges are i64 items"))
    }

    fn get(&mut self, start: i64, count: u64) -> Result<(), RangeSetError> {
        let (s, e) = Self::run(start, count)?;
        let index = self
            .ranges
            .iter()
            .position(|&(rs, re)| rs <= s && e <= re)
            .ok_or(RangeSetError::NotPresent)?;
        self.remove(index, s, e);
        Ok(())
    }

    fn contains(&self, item: i64) -> bool {
        let item = i128::from(item);
        self.ranges.iter().any(|&(s, e)| s <= item && item <= e)
    }
}

fn check(set: &RangeSet, model: &Model) {
    let ranges: Vec<(i128, i128)> = set
        .ranges()
        .map(|(s, e)| (i128::from(s), i128::from(e)))
        .collect();
    assert_eq!(ranges, model.ranges, "ranges differ from the model");
    for pair in ranges.windows(2) {
        assert!(
            pair[0].0 <= pair[0].1 && pair[0].1 + 1 < pair[1].0,
            "ranges touch"
        );
    }
    assert_eq!(u128::from(set.item_count()), model.items(), "item count");
    assert_eq!(set.range_count(), model.ranges.len());
    assert_eq!(set.is_empty(), model.ranges.is_empty());
    for &(s, e) in model.ranges.iter().take(16) {
        for probe in [s - 1, s, e, e + 1] {
            if let Ok(probe) = i64::try_from(probe) {
                assert_eq!(
                    set.contains(probe),
                    model.contains(probe),
                    "contains {probe}"
                );
            }
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut r = Reader::new(data);
    let name = r.short_bytes(200);
    let set = RangeSet::new(name);
    if name.len() > MAX_NAME_LEN {
        assert_eq!(set.err(), Some(RangeSetError::NameTooLong));
        return;
    }
    let mut set = set.expect("a name that fits");
    assert_eq!(set.name(), name);
    let mut model = Model::default();
    let mut ops = 0;
    while !r.is_empty() && ops < 512 {
        ops += 1;
        match r.below(5) {
            0 | 1 => {
                let (s, c) = (start(&mut r), count(&mut r));
                assert_eq!(set.put(s, c), model.put(s, c), "put({s}, {c})");
            }
            2 => {
                let c = count(&mut r);
                assert_eq!(set.pop(c), model.pop(c), "pop({c})");
            }
            3 => {
                let (s, c) = (start(&mut r), count(&mut r));
                assert_eq!(set.get(s, c), model.get(s, c), "get({s}, {c})");
            }
            _ => {
                let item = start(&mut r);
                assert_eq!(set.contains(item), model.contains(item), "contains({item})");
            }
        }
        check(&set, &model);
    }
    let mut dump = String::new();
    set.dump(&mut dump).expect("a String never fails");
    let lines = dump.lines().count();
    let shown = model.ranges.len().min(9);
    let expected =
        1 + if model.ranges.is_empty() { 1 } else { shown } + usize::from(model.ranges.len() > 9);
    assert_eq!(lines, expected, "dump lines: {dump}");
}

/// Seeds: the unit tests' shapes (merge both sides, split, exhaustion, the i64 edges).
#[must_use]
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    // op 0 = put, 2 = pop, 3 = get, 4 = contains; start mode 1 = near BASES[1 + sel].
    fn put_near(w: &mut Writer, base: u8, offset: i16, count: u8) {
        w.u8(0)
            .u8(base)
            .u8(0)
            .u16(offset.cast_unsigned())
            .u8(3)
            .u8(count);
    }
    let mut merge = Writer::new();
    merge.short_bytes(b"gnttab");
    put_near(&mut merge, 1, 32, 16);
    put_near(&mut merge, 1, 64, 16);
    put_near(&mut merge, 1, 48, 16);
    merge.u8(2).u8(3).u8(5);
    merge.u8(3).u8(1).u8(0).u16(40).u8(3).u8(4);
    let mut edges = Writer::new();
    edges.short_bytes(b"balloon");
    edges.u8(0).u8(1).u8(1).u16(0).u8(1);
    edges.u8(0).u8(2).u8(0).u16(500).u8(3).u8(12);
    edges
        .u8(0)
        .u8(0)
        .u64(0x8000_0000_0000_0000)
        .u8(0)
        .u64(u64::MAX);
    edges.u8(2).u8(1);
    let mut many = Writer::new();
    many.short_bytes(b"PCI");
    for i in 0..12 {
        put_near(&mut many, 3, i * 4, 2);
    }
    many.u8(4).u8(3).u8(0).u16(4);
    let mut long_name = Writer::new();
    long_name.short_bytes(&[b'n'; 128]);
    vec![
        ("merge-split", merge.finish()),
        ("edges", edges.finish()),
        ("many-ranges", many.finish()),
        ("name-too-long", long_name.finish()),
    ]
}
