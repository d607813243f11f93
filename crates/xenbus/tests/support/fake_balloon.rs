// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Fakes of the OS memory services and the xenstore keys BALLOON uses: a pool of frames the OS
//! owns (handed out highest first, so batches arrive unsorted), a clock the allocation can
//! advance (to make it "slow"), a low-memory switch, allocation limits and refused
//! `MmAddPhysicalMemory` frames; a key/value store recording writes.
//!
//! The including module has `BalloonMemory` and `BalloonStore` in scope.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    clippy::significant_drop_in_scrutinee,
    clippy::significant_drop_tightening
)]

use std::collections::{BTreeMap, BTreeSet};
use std::string::String;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::vec::Vec;

use ntstatus::{NtStatus, STATUS_INSUFFICIENT_RESOURCES, STATUS_OBJECT_NAME_NOT_FOUND};

use super::{BalloonMemory, BalloonStore};

/// The OS side.
#[derive(Default)]
pub struct FakeMemory {
    /// Frames the OS owns.
    pub os: Mutex<BTreeSet<u64>>,
    /// At most this many frames per allocation.
    pub limit: Mutex<Option<usize>>,
    /// The low-memory condition.
    pub low: AtomicBool,
    /// The clock (100 ns units).
    pub time: AtomicI64,
    /// How far one allocation advances the clock.
    pub allocation_ticks: AtomicI64,
    /// Frames `add_physical` refuses.
    pub refuse: Mutex<BTreeSet<u64>>,
    /// `add_physical` calls.
    pub adds: Mutex<Vec<(u64, u64)>>,
    /// `allocate` calls.
    pub allocations: AtomicU32,
}

impl FakeMemory {
    /// An OS owning frames `first..first + count`.
    pub fn with_frames(first: u64, count: u64) -> Self {
        let memory = Self::default();
        memory.os.lock().unwrap().extend(first..first + count);
        memory
    }

    /// Frames the OS owns now.
    pub fn os_count(&self) -> usize {
        self.os.lock().unwrap().len()
    }
}

impl BalloonMemory for FakeMemory {
    fn allocate(&self, pfns: &mut [u64]) -> usize {
        self.allocations.fetch_add(1, Ordering::SeqCst);
        let want = self
            .limit
            .lock()
            .unwrap()
            .map_or(pfns.len(), |l| l.min(pfns.len()));
        let mut os = self.os.lock().unwrap();
        let mut n = 0;
        while n < want {
            let Some(pfn) = os.pop_last() else { break };
            pfns[n] = pfn;
            n += 1;
        }
        self.time.fetch_add(
            self.allocation_ticks.load(Ordering::SeqCst),
            Ordering::SeqCst,
        );
        n
    }
    fn add_physical(&self, start: u64, count: u64) -> Result<(), NtStatus> {
        self.adds.lock().unwrap().push((start, count));
        let refuse = self.refuse.lock().unwrap();
        if (start..start + count).any(|p| refuse.contains(&p)) {
            return Err(STATUS_INSUFFICIENT_RESOURCES);
        }
        let mut os = self.os.lock().unwrap();
        for pfn in start..start + count {
            assert!(os.insert(pfn), "frame {pfn:x} given back twice");
        }
        Ok(())
    }
    fn low_memory(&self) -> bool {
        self.low.load(Ordering::SeqCst)
    }
    fn system_time(&self) -> i64 {
        self.time.load(Ordering::SeqCst)
    }
}

/// The xenstore keys.
#[derive(Default)]
pub struct FakeStore {
    pub keys: Mutex<BTreeMap<String, Vec<u8>>>,
    pub writes: Mutex<Vec<(String, Vec<u8>)>>,
}

impl FakeStore {
    pub fn set(&self, path: &str, value: &str) {
        self.keys
            .lock()
            .unwrap()
            .insert(path.into(), value.as_bytes().to_vec());
    }

    pub fn remove(&self, path: &str) {
        self.keys.lock().unwrap().remove(path);
    }

    pub fn writes_to(&self, path: &str) -> Vec<String> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
            .collect()
    }
}

impl BalloonStore for FakeStore {
    fn read<R>(&self, path: &str, value: impl FnOnce(&[u8]) -> R) -> Result<R, NtStatus> {
        let keys = self.keys.lock().unwrap();
        keys.get(path)
            .map(|v| value(v))
            .ok_or(STATUS_OBJECT_NAME_NOT_FOUND)
    }
    fn write(&self, path: &str, value: &[u8]) -> Result<(), NtStatus> {
        self.writes
            .lock()
            .unwrap()
            .push((path.into(), value.to_vec()));
        self.keys
            .lock()
            .unwrap()
            .insert(path.into(), value.to_vec());
        Ok(())
    }
}
