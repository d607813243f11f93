// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `SHARED_INFO`: the guest's view of Xen's `shared_info` page (upstream `shared_info.c`).
//!
//! The page carries the 2-level event channel bitmaps (`evtchn_pending`, `evtchn_mask`), the
//! legacy in-page `vcpu_info` array (upcall flag, pending selector, paravirtual clock) and the
//! wall clock. [`SharedInfo`] is the portable logic behind `XENBUS_SHARED_INFO` v2–v4 and the
//! 2-level EVTCHN ABI: [`mask_all`](SharedInfo::mask_all),
//! [`upcall_supported`](SharedInfo::upcall_supported),
//! [`upcall_pending`](SharedInfo::upcall_pending), [`evtchn_poll`](SharedInfo::evtchn_poll),
//! [`evtchn_ack`](SharedInfo::evtchn_ack), [`evtchn_mask`](SharedInfo::evtchn_mask),
//! [`evtchn_unmask`](SharedInfo::evtchn_unmask) and [`get_time`](SharedInfo::get_time).
//!
//! The glue owns what surrounds it: allocating the hole page and mapping it with
//! `XENMEM_add_to_physmap(XENMAPSPACE_shared_info)` (then calling `mask_all`, on Acquire and in
//! the SUSPEND EARLY callback), building the per-CPU table from xen.sys
//! (`SystemProcessorVcpuId` / `SystemProcessorVcpuInfo`) as [`ProcessorVcpu`] entries, raising
//! to `DISPATCH_LEVEL` around `get_time` so no suspend moves the clock under it, reading the TSC,
//! the `RealTimeIsUniversal` "Local" flag, and mapping [`SharedInfoError`] to NTSTATUS with
//! [`SharedInfoError::status`].
//!
//! # Access to the page
//! The page is shared with Xen, which writes it at any time. It is never turned into a
//! reference: it is reached only through a [`SharedMem`] view of the page, with sub-views of
//! the two bitmaps and of each legacy `vcpu_info` slot, and a view of its own for each
//! registered `vcpu_info` (which may live in another page). The words read and written on every
//! upcall or poll (upcall flag, selector, clock fields) are taken from those views once, when
//! the view is built or rebased, as checked [`SharedWord`]s: a misaligned page or
//! `vcpu_info` fails `new` instead of any later access. Bitmap words are reached by a checked
//! offset into their 512-byte bitmap view. Port numbers are checked against
//! `EVTCHN_2L_NR_CHANNELS` and vCPU ids against `XEN_LEGACY_MAX_VCPUS` first, and the views'
//! bounds checks stand behind them, so no input can move an access off the page; a refused
//! bitmap access (which these checks make impossible) fails ack/mask/unmask with
//! [`SharedInfoError::PortOutOfRange`] (or `Misaligned`), and makes a poll treat that word as
//! having nothing pending.
//!
//! # Upstream behaviour, decided
//! * **Poll order and fairness.** Each CPU remembers a cursor. Upstream stores it as a port, but
//!   only ever stores word-aligned values (0 or the word after the last one scanned), so a scan
//!   always starts at bit 0 of the cursor word and every selector bit is consumed on its first
//!   visit. Here the cursor is a word index and a poll is exactly one pass: starting at the
//!   cursor word and wrapping, each word whose selector bit was set delivers
//!   `pending & !mask` (snapshotted once per word) in ascending bit order; the new cursor is the
//!   word after the last one delivered from, unchanged when the selector was empty. Each pending
//!   unmasked port is delivered once per poll; a bit Xen sets during the scan is left for the
//!   next upcall (Xen also sets the selector and upcall flag again). Poll does not ack.
//! * **Masked pending ports** stay latched in `evtchn_pending`; their selector bit is consumed
//!   anyway, as upstream. [`evtchn_unmask`](SharedInfo::evtchn_unmask) reports them so the
//!   caller can re-trigger.
//! * **Ports ≥ `EVTCHN_2L_NR_CHANNELS`** (4096): upstream indexes past the bitmaps. Here ack,
//!   mask and unmask return [`SharedInfoError::PortOutOfRange`] and touch nothing.
//! * **CPU index outside the table**: upstream only `ASSERT`s. Here it is treated as a CPU
//!   without `vcpu_info`: not supported, no upcall pending, nothing polled.
//! * **vCPUs without a registered `vcpu_info`** use the legacy in-page slot when the vCPU id is
//!   below `XEN_LEGACY_MAX_VCPUS` (32); beyond that the CPU has no `vcpu_info` and
//!   `upcall_supported` is false (as upstream; EVTCHN then leaves it to CPU 0). A CPU whose
//!   vCPU id xen.sys does not know (`STATUS_NOT_SUPPORTED`) has none either.
//! * **Concurrent polls of one CPU index** are memory-safe but may deliver a port twice;
//!   callers serialize per CPU as upstream does (the interrupt lock of that CPU).
//! * **`GetTime` seqlock** is retried at most [`TIME_READ_ATTEMPTS`] times (upstream loops
//!   forever); a record that never settles is [`SharedInfoError::TimeUnstable`].
//! * **`GetTime` arithmetic** is done in 128 bits end to end. Upstream keeps the seconds in 64
//!   bits, so `seconds * 10^9` wraps in year 2185; and it ignores `wc_sec_hi`, which Xen fills
//!   for 64-bit guests. Here `wc_sec_hi` is included (zero until 2106, so the result is
//!   identical before then) and a result beyond `i64` saturates to `i64::MAX`. The TSC age is a
//!   wrapping `u64` difference as upstream and Linux compute it; a `tsc_shift` of 64 or more in
//!   either direction (C leaves it undefined; Xen never sends it) yields an age of 0.
//! * **Word size.** Upstream's selector word is a `ULONG_PTR` (32 ports a word and 1024 ports
//!   on x86). Only x64 is served: words are 64-bit `xen_ulong_t`s, 64 words, 4096 ports.
//! * **Debug dump.** [`debug_vcpu`](SharedInfo::debug_vcpu) and
//!   [`debug_word`](SharedInfo::debug_word) read what upstream's debug callback prints without
//!   taking anything; the glue formats them.
//! * **`GetTime` without CPU 0's `vcpu_info`**: upstream `ASSERT`s; here it is
//!   [`SharedInfoError::NoVcpuInfo`]. Upstream always reads CPU 0's record, and so does this.

mod context;
pub use context::SharedInfoContext;

use alloc::vec::Vec;
use core::fmt;
use core::mem::offset_of;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering, fence};

use shared_mem::{SharedMem, SharedWord};

use ntstatus::{
    NtStatus, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY, STATUS_NOT_SUPPORTED, STATUS_RETRY,
};
use xen_headers::xen::{
    EVTCHN_2L_NR_CHANNELS, SharedInfo as XenSharedInfo, VcpuInfo, VcpuTimeInfo,
    XEN_LEGACY_MAX_VCPUS, XEN_ULONG_BITS,
};

/// Ports per selector word (`xen_ulong_t` bits).
pub const PORTS_PER_WORD: u32 = 64;
/// Selector words (and bitmap words) of the 2-level ABI.
const WORDS: usize = XEN_ULONG_BITS;
/// The page size `new` requires its page to be aligned to.
pub const PAGE_SIZE: usize = 4096;
/// How many times [`SharedInfo::get_time`] reads the clock record before giving up.
pub const TIME_READ_ATTEMPTS: u32 = 1024;
/// Seconds from 1601-01-01 (Windows epoch) to 1970-01-01 (Unix epoch).
pub const EPOCH_DELTA_SECONDS: u64 = 11_644_473_600;
const NS_PER_S: u128 = 1_000_000_000;

const _: () = assert!(PORTS_PER_WORD as usize * WORDS == EVTCHN_2L_NR_CHANNELS as usize);
const _: () = assert!(size_of::<XenSharedInfo>() <= PAGE_SIZE);

/// Bytes of a bitmap (`WORDS` 64-bit words).
const BITMAP_SIZE: usize = WORDS * size_of::<u64>();
/// Bytes of a `vcpu_info`.
const VCPU_INFO_SIZE: usize = size_of::<VcpuInfo>();

const VCPU_INFO: usize = offset_of!(XenSharedInfo, vcpu_info);
const EVTCHN_PENDING: usize = offset_of!(XenSharedInfo, evtchn_pending);
const EVTCHN_MASK: usize = offset_of!(XenSharedInfo, evtchn_mask);
const WC_VERSION: usize = offset_of!(XenSharedInfo, wc_version);
const WC_SEC: usize = offset_of!(XenSharedInfo, wc_sec);
const WC_NSEC: usize = offset_of!(XenSharedInfo, wc_nsec);
const WC_SEC_HI: usize = offset_of!(XenSharedInfo, wc_sec_hi);

const UPCALL_PENDING: usize = offset_of!(VcpuInfo, evtchn_upcall_pending);
const PENDING_SEL: usize = offset_of!(VcpuInfo, evtchn_pending_sel);
const TIME: usize = offset_of!(VcpuInfo, time);
const TIME_VERSION: usize = TIME + offset_of!(VcpuTimeInfo, version);
const TSC_TIMESTAMP: usize = TIME + offset_of!(VcpuTimeInfo, tsc_timestamp);
const SYSTEM_TIME: usize = TIME + offset_of!(VcpuTimeInfo, system_time);
const TSC_MUL: usize = TIME + offset_of!(VcpuTimeInfo, tsc_to_system_mul);
const TSC_SHIFT: usize = TIME + offset_of!(VcpuTimeInfo, tsc_shift);

// Every field reached atomically is naturally aligned within its (8-aligned) structure.
const _: () = assert!(EVTCHN_PENDING.is_multiple_of(8) && EVTCHN_MASK.is_multiple_of(8));
const _: () = assert!(WC_VERSION.is_multiple_of(4) && WC_SEC.is_multiple_of(4));
const _: () = assert!(WC_NSEC.is_multiple_of(4) && WC_SEC_HI.is_multiple_of(4));
const _: () = assert!(VCPU_INFO.is_multiple_of(8) && PENDING_SEL.is_multiple_of(8));
const _: () = assert!(TSC_TIMESTAMP.is_multiple_of(8) && SYSTEM_TIME.is_multiple_of(8));
const _: () = assert!(TIME_VERSION.is_multiple_of(4) && TSC_MUL.is_multiple_of(4));
const _: () = assert!(align_of::<XenSharedInfo>() == 8);
const _: () = assert!(align_of::<VcpuInfo>() == 8);
const _: () = assert!(VCPU_INFO + XEN_LEGACY_MAX_VCPUS * VCPU_INFO_SIZE <= EVTCHN_PENDING);
const _: () = assert!(EVTCHN_PENDING + BITMAP_SIZE <= EVTCHN_MASK);
const _: () = assert!(EVTCHN_MASK + BITMAP_SIZE <= size_of::<XenSharedInfo>());

/// Why a shared-info operation failed. A failed operation touches nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedInfoError {
    /// The port is not a 2-level port (`>= EVTCHN_2L_NR_CHANNELS`).
    PortOutOfRange(u32),
    /// The page is not page-aligned, or a registered `vcpu_info` is not 8-aligned (its words
    /// cannot be viewed).
    Misaligned,
    /// The per-CPU table could not be allocated.
    NoMemory,
    /// CPU 0 has no `vcpu_info` to read the clock from.
    NoVcpuInfo,
    /// Xen's clock record did not settle within [`TIME_READ_ATTEMPTS`] reads.
    TimeUnstable,
}

impl SharedInfoError {
    /// The NTSTATUS the interface layer reports for this error.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        match self {
            Self::PortOutOfRange(_) | Self::Misaligned => STATUS_INVALID_PARAMETER,
            Self::NoMemory => STATUS_NO_MEMORY,
            Self::NoVcpuInfo => STATUS_NOT_SUPPORTED,
            Self::TimeUnstable => STATUS_RETRY,
        }
    }
}

impl fmt::Display for SharedInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PortOutOfRange(port) => write!(f, "port {port} is not a 2-level port"),
            Self::Misaligned => f.write_str("shared page or vcpu_info misaligned"),
            Self::NoMemory => f.write_str("no memory for the per-CPU table"),
            Self::NoVcpuInfo => f.write_str("CPU 0 has no vcpu_info"),
            Self::TimeUnstable => f.write_str("Xen's clock record did not settle"),
        }
    }
}

/// What xen.sys says about one CPU index: the input to [`SharedInfo::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessorVcpu {
    /// The Xen vCPU id, `None` when xen.sys does not know one (`STATUS_NOT_SUPPORTED`).
    pub vcpu_id: Option<u32>,
    /// The `vcpu_info` registered for this vCPU with `VCPUOP_register_vcpu_info`, if any.
    pub registered: Option<NonNull<VcpuInfo>>,
}

/// Per-CPU state: where the CPU's `vcpu_info` is and where its next poll starts.
#[derive(Debug)]
struct Processor {
    vcpu: Option<Vcpu>,
    /// The vCPU id when `vcpu` is the legacy slot inside the page (it moves with the page).
    legacy: Option<u32>,
    /// The selector word the next poll starts at (always `< WORDS`).
    cursor: AtomicU32,
}

/// The words of one `vcpu_info` the view uses, each taken (bounds- and alignment-checked) from
/// the `vcpu_info`'s own view when the view was built.
#[derive(Clone, Copy, Debug)]
struct Vcpu {
    upcall_pending: SharedWord<u8>,
    pending_sel: SharedWord<u64>,
    time_version: SharedWord<u32>,
    system_time: SharedWord<u64>,
    tsc_timestamp: SharedWord<u64>,
    tsc_to_system_mul: SharedWord<u32>,
    /// An `i8` in the ABI, read as its byte.
    tsc_shift: SharedWord<u8>,
}

impl Vcpu {
    /// The words of the `vcpu_info` viewed by `info` (`VCPU_INFO_SIZE` bytes); a word that
    /// cannot be taken (a misaligned `vcpu_info`) is [`SharedInfoError::Misaligned`].
    fn new(info: &SharedMem) -> Result<Self, SharedInfoError> {
        let refused = |_| SharedInfoError::Misaligned;
        Ok(Self {
            upcall_pending: info.word(UPCALL_PENDING).map_err(refused)?,
            pending_sel: info.word(PENDING_SEL).map_err(refused)?,
            time_version: info.word(TIME_VERSION).map_err(refused)?,
            system_time: info.word(SYSTEM_TIME).map_err(refused)?,
            tsc_timestamp: info.word(TSC_TIMESTAMP).map_err(refused)?,
            tsc_to_system_mul: info.word(TSC_MUL).map_err(refused)?,
            tsc_shift: info.word(TSC_SHIFT).map_err(refused)?,
        })
    }
}

/// The parts of the page the view uses, taken from one view of it: the bitmaps as sub-views
/// (so a word index is bounds-checked against its own bitmap) and the wall-clock words.
#[derive(Clone, Copy, Debug)]
struct PageView {
    page: SharedMem,
    pending: SharedMem,
    mask: SharedMem,
    wc_version: SharedWord<u32>,
    wc_sec: SharedWord<u32>,
    wc_nsec: SharedWord<u32>,
    wc_sec_hi: SharedWord<u32>,
}

impl PageView {
    /// Views the mapping at `page`; [`SharedInfoError::Misaligned`] unless page-aligned.
    ///
    /// # Safety
    /// As [`SharedInfo::new`] for `page`.
    unsafe fn new(page: NonNull<u8>) -> Result<Self, SharedInfoError> {
        if !page.as_ptr().addr().is_multiple_of(PAGE_SIZE) {
            return Err(SharedInfoError::Misaligned);
        }
        // SAFETY: the caller's contract: a page mapped for the view's life, touched only by Xen
        // and through views.
        let page = unsafe { SharedMem::new(page, PAGE_SIZE) };
        let refused = |_| SharedInfoError::Misaligned;
        Ok(Self {
            page,
            pending: page.slice(EVTCHN_PENDING, BITMAP_SIZE).map_err(refused)?,
            mask: page.slice(EVTCHN_MASK, BITMAP_SIZE).map_err(refused)?,
            wc_version: page.word(WC_VERSION).map_err(refused)?,
            wc_sec: page.word(WC_SEC).map_err(refused)?,
            wc_nsec: page.word(WC_NSEC).map_err(refused)?,
            wc_sec_hi: page.word(WC_SEC_HI).map_err(refused)?,
        })
    }

    /// The legacy in-page `vcpu_info` of vCPU `id`, if the page has one for it.
    fn legacy_vcpu(&self, id: u32) -> Result<Option<Vcpu>, SharedInfoError> {
        let Some(offset) = usize::try_from(id)
            .ok()
            .filter(|&id| id < XEN_LEGACY_MAX_VCPUS)
            .and_then(|id| id.checked_mul(VCPU_INFO_SIZE))
            .and_then(|offset| offset.checked_add(VCPU_INFO))
        else {
            return Ok(None);
        };
        let slot = self
            .page
            .slice(offset, VCPU_INFO_SIZE)
            .map_err(|_| SharedInfoError::Misaligned)?;
        Vcpu::new(&slot).map(Some)
    }
}

/// A consistent copy of the clock fields, taken under both seqlocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ClockRecord {
    wc_sec: u64,
    wc_nsec: u32,
    system_time: u64,
    tsc_timestamp: u64,
    tsc_to_system_mul: u32,
    tsc_shift: i8,
}

/// The view of one mapped `shared_info` page and the per-CPU `vcpu_info` table.
#[derive(Debug)]
pub struct SharedInfo {
    page: PageView,
    processors: Vec<Processor>,
}

impl SharedInfo {
    /// Wraps a mapped shared-info page and the per-CPU table (indexed by CPU index).
    ///
    /// vCPUs with a registered `vcpu_info` use it; the others use the legacy slot in the page
    /// when their id is below `XEN_LEGACY_MAX_VCPUS`, and otherwise have none.
    ///
    /// # Safety
    /// `page` must point to a `PAGE_SIZE`-byte page that Xen's `shared_info` is mapped at, and
    /// every `registered` pointer to a `vcpu_info` registered with Xen; all of them must stay
    /// mapped and writable for the life of the view and must not be accessed in this program
    /// other than atomically (Xen may write them at any time).
    ///
    /// # Errors
    /// [`SharedInfoError::Misaligned`] if `page` is not `PAGE_SIZE`-aligned or a registered
    /// `vcpu_info` is not 8-aligned; [`SharedInfoError::NoMemory`] if the table cannot be
    /// allocated.
    pub unsafe fn new(
        page: NonNull<u8>,
        processors: &[ProcessorVcpu],
    ) -> Result<Self, SharedInfoError> {
        // SAFETY: the caller's contract for `page`.
        let page = unsafe { PageView::new(page) }?;
        let mut table = Vec::new();
        table
            .try_reserve_exact(processors.len())
            .map_err(|_| SharedInfoError::NoMemory)?;
        for cpu in processors {
            let (vcpu, legacy) = match (cpu.vcpu_id, cpu.registered) {
                (None, _) => (None, None),
                (Some(_), Some(registered)) => {
                    // SAFETY: the caller's contract: a registered `vcpu_info`, mapped for the
                    // view's life and touched only by Xen and through views. It gets a view of
                    // its own: it may live in any page.
                    let info = unsafe { SharedMem::new(registered.cast(), VCPU_INFO_SIZE) };
                    (Some(Vcpu::new(&info)?), None)
                }
                (Some(id), None) => (page.legacy_vcpu(id)?, Some(id)),
            };
            table.push(Processor {
                vcpu,
                legacy,
                cursor: AtomicU32::new(0),
            });
        }
        Ok(Self {
            page,
            processors: table,
        })
    }

    /// Moves the view to a new mapping of the page (after a resume the frame is mapped again;
    /// a fresh mapping of it may have another address). Legacy in-page `vcpu_info` slots move
    /// with it; registered ones stay. Allocates nothing, so it may run at `HIGH_LEVEL`.
    ///
    /// # Safety
    /// As [`SharedInfo::new`] for `page`; the previous mapping is not used by the view again.
    ///
    /// # Errors
    /// [`SharedInfoError::Misaligned`] if `page` is not `PAGE_SIZE`-aligned (the view is left
    /// unchanged).
    pub unsafe fn rebase(&mut self, page: NonNull<u8>) -> Result<(), SharedInfoError> {
        // SAFETY: the caller's contract for `page`.
        let page = unsafe { PageView::new(page) }?;
        // Every legacy slot is viewed before anything changes, so a failure changes nothing.
        for processor in &self.processors {
            if let Some(id) = processor.legacy {
                page.legacy_vcpu(id)?;
            }
        }
        self.page = page;
        for processor in &mut self.processors {
            if let Some(id) = processor.legacy {
                processor.vcpu = page.legacy_vcpu(id)?;
            }
        }
        Ok(())
    }

    /// The number of CPU indices in the table.
    #[must_use]
    pub const fn processor_count(&self) -> usize {
        self.processors.len()
    }

    /// For the debug dump: CPU `index`'s upcall flag and pending selector, read without
    /// taking them; `None` when the CPU has no `vcpu_info`.
    #[must_use]
    pub fn debug_vcpu(&self, index: u32) -> Option<(bool, u64)> {
        let vcpu = self.vcpu(index)?;
        Some((
            vcpu.upcall_pending.load(Ordering::SeqCst) != 0,
            vcpu.pending_sel.load(Ordering::SeqCst),
        ))
    }

    /// For the debug dump: bitmap word `word` as `(pending, unmasked)`; `None` past the last
    /// word.
    #[must_use]
    pub fn debug_word(&self, word: usize) -> Option<(u64, u64)> {
        let offset = bitmap_offset(word)?;
        Some((
            self.page.pending.load(offset, Ordering::SeqCst).ok()?,
            !self.page.mask.load::<u64>(offset, Ordering::SeqCst).ok()?,
        ))
    }

    /// Masks every 2-level port (every `evtchn_mask` word all ones), as after each map.
    pub fn mask_all(&self) {
        for offset in (0..BITMAP_SIZE).step_by(size_of::<u64>()) {
            // Inside the bitmap view and 8-aligned (the page is page-aligned, checked in
            // `new`): the store cannot be refused.
            let _ = self.page.mask.store(offset, u64::MAX, Ordering::SeqCst);
        }
    }

    /// Whether CPU `index` has a usable `vcpu_info` (`SharedInfoUpcallSupported`, v4).
    #[must_use]
    pub fn upcall_supported(&self, index: u32) -> bool {
        self.vcpu(index).is_some()
    }

    /// Takes CPU `index`'s `evtchn_upcall_pending` flag, leaving it 0; false when the CPU has
    /// no `vcpu_info` (`SharedInfoUpcallPending`).
    #[must_use]
    pub fn upcall_pending(&self, index: u32) -> bool {
        let Some(vcpu) = self.vcpu(index) else {
            return false;
        };
        fence(Ordering::SeqCst);
        vcpu.upcall_pending.swap(0, Ordering::SeqCst) != 0
    }

    /// The 2-level scan for CPU `index` (`SharedInfoEvtchnPoll`): takes the CPU's pending
    /// selector and calls `event` once for every pending, unmasked port of every selected word,
    /// starting at the CPU's cursor word (see the module docs). Returns the OR of what `event`
    /// returned; false when the CPU has no `vcpu_info`. Ports are not acked.
    pub fn evtchn_poll(&self, index: u32, mut event: impl FnMut(u32) -> bool) -> bool {
        let Some(processor) = self.processor(index) else {
            return false;
        };
        let Some(vcpu) = &processor.vcpu else {
            return false;
        };
        fence(Ordering::SeqCst);
        let mut selector = vcpu.pending_sel.swap(0, Ordering::SeqCst);
        fence(Ordering::SeqCst);

        let mut word = word_index(processor.cursor.load(Ordering::Relaxed));
        let mut done = false;
        // One pass over the words: every selected word is visited, and consumed, once.
        for _ in 0..WORDS {
            if selector == 0 {
                break;
            }
            let bit = bit_of(word);
            if selector & bit != 0 {
                let mut ports = self.deliverable(word);
                // Each round clears the lowest set bit, so this runs at most 64 times.
                while ports != 0 {
                    let port_bit = ports.trailing_zeros();
                    done |= event(port_number(word, port_bit));
                    ports &= ports.wrapping_sub(1);
                }
                selector &= !bit;
            }
            word = next_word(word);
        }
        processor
            .cursor
            .store(u32::try_from(word).unwrap_or(0), Ordering::Relaxed);
        done
    }

    /// `pending & !mask` of bitmap word `word` (`< WORDS`), pending read first, each once; a
    /// word whose bitmap access is refused (which cannot happen) has nothing to deliver.
    fn deliverable(&self, word: usize) -> u64 {
        let Some(offset) = bitmap_offset(word) else {
            return 0;
        };
        let pending = self.page.pending.load::<u64>(offset, Ordering::SeqCst);
        let mask = self.page.mask.load::<u64>(offset, Ordering::SeqCst);
        match (pending, mask) {
            (Ok(pending), Ok(mask)) => pending & !mask,
            _ => 0,
        }
    }

    /// Clears `port`'s pending bit (`SharedInfoEvtchnAck`).
    ///
    /// # Errors
    /// [`SharedInfoError::PortOutOfRange`] for ports `>= EVTCHN_2L_NR_CHANNELS`.
    pub fn evtchn_ack(&self, port: u32) -> Result<(), SharedInfoError> {
        let (offset, bit) = split_port(port)?;
        let pending = self
            .page
            .pending
            .word::<u64>(offset)
            .map_err(port_error(port))?;
        fence(Ordering::SeqCst);
        pending.fetch_and(!bit, Ordering::SeqCst);
        Ok(())
    }

    /// Sets `port`'s mask bit (`SharedInfoEvtchnMask`).
    ///
    /// # Errors
    /// [`SharedInfoError::PortOutOfRange`] for ports `>= EVTCHN_2L_NR_CHANNELS`.
    pub fn evtchn_mask(&self, port: u32) -> Result<(), SharedInfoError> {
        let (offset, bit) = split_port(port)?;
        let mask = self
            .page
            .mask
            .word::<u64>(offset)
            .map_err(port_error(port))?;
        fence(Ordering::SeqCst);
        mask.fetch_or(bit, Ordering::SeqCst);
        Ok(())
    }

    /// Clears `port`'s mask bit, then reports whether it is pending
    /// (`SharedInfoEvtchnUnmask`); a true result means the caller must deliver it itself.
    ///
    /// # Errors
    /// [`SharedInfoError::PortOutOfRange`] for ports `>= EVTCHN_2L_NR_CHANNELS`.
    pub fn evtchn_unmask(&self, port: u32) -> Result<bool, SharedInfoError> {
        let (offset, bit) = split_port(port)?;
        // Both words are taken before the mask changes, so a refused access touches nothing.
        let mask = self
            .page
            .mask
            .word::<u64>(offset)
            .map_err(port_error(port))?;
        let pending = self
            .page
            .pending
            .word::<u64>(offset)
            .map_err(port_error(port))?;
        fence(Ordering::SeqCst);
        mask.fetch_and(!bit, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        Ok(pending.load(Ordering::SeqCst) & bit != 0)
    }

    /// The wall clock in Windows time (100 ns units since 1601-01-01 UTC, or local time when
    /// the host clock is local), from CPU 0's clock record (`SharedInfoGetTime`). `rdtsc`
    /// reads the time-stamp counter; it is called once, after a consistent record was read.
    /// The caller keeps the guest from suspending meanwhile (upstream raises to DISPATCH).
    ///
    /// # Errors
    /// [`SharedInfoError::NoVcpuInfo`] when CPU 0 has no `vcpu_info`;
    /// [`SharedInfoError::TimeUnstable`] when Xen kept updating the record.
    pub fn get_time(&self, rdtsc: impl FnOnce() -> u64) -> Result<i64, SharedInfoError> {
        self.get_time_observed(rdtsc, |_| {})
    }

    /// `get_time` with a hook run after each read of the record and before its versions are
    /// checked again, given the attempt number: the place where Xen's concurrent updates land.
    fn get_time_observed(
        &self,
        rdtsc: impl FnOnce() -> u64,
        mut between: impl FnMut(u32),
    ) -> Result<i64, SharedInfoError> {
        let vcpu = self.vcpu(0).ok_or(SharedInfoError::NoVcpuInfo)?;
        let page = &self.page;
        for attempt in 0..TIME_READ_ATTEMPTS {
            let wc_version = page.wc_version.load(Ordering::Relaxed);
            let time_version = vcpu.time_version.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            let record = ClockRecord {
                wc_sec: u64::from(page.wc_sec_hi.load(Ordering::Relaxed)) << 32
                    | u64::from(page.wc_sec.load(Ordering::Relaxed)),
                wc_nsec: page.wc_nsec.load(Ordering::Relaxed),
                system_time: vcpu.system_time.load(Ordering::Relaxed),
                tsc_timestamp: vcpu.tsc_timestamp.load(Ordering::Relaxed),
                tsc_to_system_mul: vcpu.tsc_to_system_mul.load(Ordering::Relaxed),
                tsc_shift: vcpu.tsc_shift.load(Ordering::Relaxed).cast_signed(),
            };
            between(attempt);
            fence(Ordering::Acquire);
            let settled = wc_version & 1 == 0
                && time_version & 1 == 0
                && page.wc_version.load(Ordering::Relaxed) == wc_version
                && vcpu.time_version.load(Ordering::Relaxed) == time_version;
            if settled {
                return Ok(wall_clock(&record, rdtsc()));
            }
        }
        Err(SharedInfoError::TimeUnstable)
    }

    fn processor(&self, index: u32) -> Option<&Processor> {
        self.processors.get(usize::try_from(index).ok()?)
    }

    fn vcpu(&self, index: u32) -> Option<&Vcpu> {
        self.processor(index)?.vcpu.as_ref()
    }
}

/// The byte offset of word `word` in a bitmap view (`None` past the last word).
const fn bitmap_offset(word: usize) -> Option<usize> {
    if word >= WORDS {
        return None;
    }
    word.checked_mul(size_of::<u64>())
}

/// A refused bitmap access on behalf of `port`, as the module's error.
const fn port_error(port: u32) -> impl Fn(shared_mem::Error) -> SharedInfoError {
    move |error| match error {
        shared_mem::Error::OutOfBounds { .. } => SharedInfoError::PortOutOfRange(port),
        shared_mem::Error::Misaligned { .. } => SharedInfoError::Misaligned,
    }
}

/// The byte offset of a 2-level port's word in a bitmap view, and its bit.
fn split_port(port: u32) -> Result<(usize, u64), SharedInfoError> {
    if port >= EVTCHN_2L_NR_CHANNELS {
        return Err(SharedInfoError::PortOutOfRange(port));
    }
    let word = usize::try_from(port / PORTS_PER_WORD)
        .map_err(|_| SharedInfoError::PortOutOfRange(port))?;
    let offset = bitmap_offset(word).ok_or(SharedInfoError::PortOutOfRange(port))?;
    Ok((offset, 1u64 << (port % PORTS_PER_WORD)))
}

/// A stored cursor as a word index (anything out of range restarts at word 0).
fn word_index(cursor: u32) -> usize {
    usize::try_from(cursor)
        .ok()
        .filter(|&word| word < WORDS)
        .unwrap_or(0)
}

/// The selector bit of word `word` (`< WORDS`).
const fn bit_of(word: usize) -> u64 {
    #[expect(clippy::cast_possible_truncation, reason = "`word < 64`")]
    1u64.wrapping_shl(word as u32)
}

/// The word after `word`, wrapping after the last.
const fn next_word(word: usize) -> usize {
    let next = word.wrapping_add(1);
    if next < WORDS { next } else { 0 }
}

/// The port of bit `bit` of word `word` (both `< 64`).
const fn port_number(word: usize, bit: u32) -> u32 {
    #[expect(clippy::cast_possible_truncation, reason = "`word < 64`")]
    (word as u32).wrapping_mul(PORTS_PER_WORD).wrapping_add(bit)
}

/// The §1.2 wall-clock computation over a consistent clock record and a TSC reading, in 100 ns
/// units since 1601.
fn wall_clock(record: &ClockRecord, tsc: u64) -> i64 {
    let ticks = tsc.wrapping_sub(record.tsc_timestamp);
    let shift = u32::from(record.tsc_shift.unsigned_abs());
    let scaled = if record.tsc_shift < 0 {
        ticks.checked_shr(shift)
    } else {
        ticks.checked_shl(shift)
    }
    .unwrap_or(0);
    // (scaled * mul) >> 32 in 128 bits: a 64 x 32-bit product, so no wrap is possible.
    let age = u128::from(scaled)
        .wrapping_mul(u128::from(record.tsc_to_system_mul))
        .wrapping_shr(32);
    let since_boot = u128::from(record.system_time).saturating_add(age);
    let seconds = u128::from(record.wc_sec)
        .saturating_add(u128::from(EPOCH_DELTA_SECONDS))
        .saturating_add(since_boot / NS_PER_S);
    let nanoseconds = u128::from(record.wc_nsec).saturating_add(since_boot % NS_PER_S);
    let total = seconds.saturating_mul(NS_PER_S).saturating_add(nanoseconds);
    i64::try_from(total / 100).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::alloc::{Layout, alloc_zeroed, dealloc};
    use alloc::boxed::Box;
    use core::cell::Cell;

    /// A zeroed, page-aligned page standing in for the one Xen maps.
    struct Page(NonNull<u8>);

    impl Page {
        fn layout() -> Layout {
            Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).unwrap()
        }

        fn new() -> Self {
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { alloc_zeroed(Self::layout()) };
            Self(NonNull::new(ptr).unwrap())
        }

        /// The test's view of the page, to play Xen.
        fn mem(&self) -> SharedMem {
            // SAFETY: the page is allocated until `drop`, after every view of it is gone; the
            // test and the view under test only reach it through views.
            unsafe { SharedMem::new(self.0, PAGE_SIZE) }
        }

        fn bitmap_word(base: usize, word: usize) -> usize {
            assert!(word < WORDS);
            base + word * 8
        }

        fn set_pending(&self, word: usize, value: u64) {
            let offset = Self::bitmap_word(EVTCHN_PENDING, word);
            self.mem().write(offset, value).unwrap();
        }

        fn pending(&self, word: usize) -> u64 {
            let offset = Self::bitmap_word(EVTCHN_PENDING, word);
            self.mem().read(offset).unwrap()
        }

        fn set_mask(&self, word: usize, value: u64) {
            let offset = Self::bitmap_word(EVTCHN_MASK, word);
            self.mem().write(offset, value).unwrap();
        }

        fn mask(&self, word: usize) -> u64 {
            let offset = Self::bitmap_word(EVTCHN_MASK, word);
            self.mem().read(offset).unwrap()
        }

        /// vCPU `id`'s legacy slot.
        fn vcpu(&self, id: usize) -> SharedMem {
            assert!(id < XEN_LEGACY_MAX_VCPUS);
            self.mem()
                .slice(VCPU_INFO + id * VCPU_INFO_SIZE, VCPU_INFO_SIZE)
                .unwrap()
        }
    }

    impl Drop for Page {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with the same layout.
            unsafe { dealloc(self.0.as_ptr(), Self::layout()) }
        }
    }

    /// A registered `vcpu_info` of the test's own, and the test's view of it.
    fn registered_vcpu() -> (Box<VcpuInfo>, NonNull<VcpuInfo>, SharedMem) {
        let mut info = Box::new(VcpuInfo::default());
        let ptr = NonNull::from(&mut *info);
        // SAFETY: the box is returned with the view and outlives it in every test; it is only
        // reached through views while they exist.
        let view = unsafe { SharedMem::new(ptr.cast(), VCPU_INFO_SIZE) };
        (info, ptr, view)
    }

    fn set_sel(vcpu: SharedMem, value: u64) {
        vcpu.write(PENDING_SEL, value).unwrap();
    }

    fn sel(vcpu: SharedMem) -> u64 {
        vcpu.read(PENDING_SEL).unwrap()
    }

    fn set_upcall(vcpu: SharedMem, value: u8) {
        vcpu.write(UPCALL_PENDING, value).unwrap();
    }

    fn upcall(vcpu: SharedMem) -> u8 {
        vcpu.read(UPCALL_PENDING).unwrap()
    }

    fn cpu(id: u32) -> ProcessorVcpu {
        ProcessorVcpu {
            vcpu_id: Some(id),
            registered: None,
        }
    }

    fn view(page: &Page, cpus: &[ProcessorVcpu]) -> SharedInfo {
        // SAFETY: the page outlives the view in every test, and the test only touches it
        // between calls on the same thread.
        unsafe { SharedInfo::new(page.0, cpus) }.unwrap()
    }

    fn one_cpu(page: &Page) -> SharedInfo {
        view(page, &[cpu(0)])
    }

    fn poll_all(info: &SharedInfo, index: u32) -> Vec<u32> {
        let mut ports = Vec::new();
        info.evtchn_poll(index, |port| {
            ports.push(port);
            false
        });
        ports
    }

    fn cursor(info: &SharedInfo, index: usize) -> u32 {
        info.processors[index].cursor.load(Ordering::Relaxed)
    }

    #[test]
    fn new_rejects_a_page_that_is_not_page_aligned() {
        let page = Page::new();
        let inside = page.mem().slice(8, 8).unwrap().as_ptr();
        // SAFETY: rejected before any access.
        let result = unsafe { SharedInfo::new(inside, &[cpu(0)]) };
        assert_eq!(result.unwrap_err(), SharedInfoError::Misaligned);
    }

    #[test]
    fn new_rejects_a_misaligned_registered_vcpu_info() {
        let page = Page::new();
        let odd = page.vcpu(0).slice(4, 8).unwrap().as_ptr().cast();
        let cpus = [ProcessorVcpu {
            vcpu_id: Some(0),
            registered: Some(odd),
        }];
        // SAFETY: rejected before any access.
        let result = unsafe { SharedInfo::new(page.0, &cpus) };
        assert_eq!(result.unwrap_err(), SharedInfoError::Misaligned);
    }

    #[test]
    fn debug_accessors_read_without_taking() {
        let page = Page::new();
        let info = view(&page, &[cpu(2), cpu(32)]);
        set_upcall(page.vcpu(2), 1);
        set_sel(page.vcpu(2), 0x8001);
        page.set_pending(63, 7);
        page.set_mask(63, 2);
        assert_eq!(info.debug_vcpu(0), Some((true, 0x8001)));
        assert_eq!(info.debug_vcpu(1), None);
        assert_eq!(info.debug_vcpu(2), None);
        assert_eq!(upcall(page.vcpu(2)), 1);
        assert_eq!(sel(page.vcpu(2)), 0x8001);
        assert_eq!(info.debug_word(63), Some((7, !2)));
        assert_eq!(info.debug_word(0), Some((0, u64::MAX)));
        assert_eq!(info.debug_word(64), None);
    }

    #[test]
    fn mask_all_sets_every_mask_word_and_nothing_else() {
        let page = Page::new();
        page.set_pending(3, 0x55);
        let info = one_cpu(&page);
        info.mask_all();
        for word in 0..WORDS {
            assert_eq!(page.mask(word), u64::MAX);
        }
        assert_eq!(page.pending(3), 0x55);
        for word in (0..WORDS).filter(|&w| w != 3) {
            assert_eq!(page.pending(word), 0);
        }
    }

    #[test]
    fn upcall_supported_for_legacy_slots_below_32_and_registered_vcpus_only() {
        let page = Page::new();
        let (_registered, reg, _) = registered_vcpu();
        let cpus = [
            cpu(0),
            cpu(31),
            cpu(32),
            ProcessorVcpu::default(),
            ProcessorVcpu {
                vcpu_id: Some(40),
                registered: Some(reg),
            },
            ProcessorVcpu {
                vcpu_id: None,
                registered: Some(reg),
            },
        ];
        let info = view(&page, &cpus);
        assert_eq!(info.processor_count(), 6);
        let supported: Vec<bool> = (0..8).map(|i| info.upcall_supported(i)).collect();
        assert_eq!(
            supported,
            [true, true, false, false, true, false, false, false]
        );
        assert!(!info.upcall_supported(u32::MAX));
    }

    #[test]
    fn upcall_pending_takes_the_flag_once() {
        let page = Page::new();
        let info = view(&page, &[cpu(0), cpu(7)]);
        set_upcall(page.vcpu(7), 1);
        assert!(!info.upcall_pending(0));
        assert!(info.upcall_pending(1));
        assert_eq!(upcall(page.vcpu(7)), 0);
        assert!(!info.upcall_pending(1));
        // Any non-zero value counts.
        set_upcall(page.vcpu(0), 0xff);
        assert!(info.upcall_pending(0));
        assert_eq!(upcall(page.vcpu(0)), 0);
    }

    #[test]
    fn upcall_pending_is_false_without_vcpu_info_and_off_the_table() {
        let page = Page::new();
        let info = view(&page, &[cpu(32), ProcessorVcpu::default()]);
        set_upcall(page.vcpu(0), 1);
        assert!(!info.upcall_pending(0));
        assert!(!info.upcall_pending(1));
        assert!(!info.upcall_pending(2));
        assert_eq!(upcall(page.vcpu(0)), 1);
    }

    #[test]
    fn registered_vcpu_info_is_used_instead_of_the_legacy_slot() {
        let page = Page::new();
        let (_registered, reg_ptr, reg) = registered_vcpu();
        let cpus = [ProcessorVcpu {
            vcpu_id: Some(0),
            registered: Some(reg_ptr),
        }];
        let info = view(&page, &cpus);
        set_upcall(page.vcpu(0), 1);
        set_sel(page.vcpu(0), 1);
        page.set_pending(0, 1);
        assert!(!info.upcall_pending(0));
        assert!(poll_all(&info, 0).is_empty());
        set_upcall(reg, 1);
        set_sel(reg, 1);
        assert!(info.upcall_pending(0));
        assert_eq!(poll_all(&info, 0), [0]);
        assert_eq!(sel(reg), 0);
        assert_eq!(sel(page.vcpu(0)), 1);
    }

    #[test]
    fn ack_mask_unmask_touch_exactly_one_bit_at_the_edges() {
        for port in [0u32, 1, 63, 64, 65, 127, 4032, 4095] {
            let page = Page::new();
            let info = one_cpu(&page);
            let word = (port / 64) as usize;
            let bit = 1u64 << (port % 64);

            page.set_pending(word, u64::MAX);
            info.evtchn_ack(port).unwrap();
            assert_eq!(page.pending(word), !bit, "ack {port}");

            info.evtchn_mask(port).unwrap();
            assert_eq!(page.mask(word), bit, "mask {port}");

            assert_eq!(info.evtchn_unmask(port), Ok(false), "unmask {port}");
            assert_eq!(page.mask(word), 0);

            for other in (0..WORDS).filter(|&w| w != word) {
                assert_eq!(page.pending(other), 0);
                assert_eq!(page.mask(other), 0);
            }
        }
    }

    #[test]
    fn unmask_reports_a_latched_pending_bit() {
        let page = Page::new();
        let info = one_cpu(&page);
        info.mask_all();
        page.set_pending(1, 1 << 2);
        assert_eq!(info.evtchn_unmask(66), Ok(true));
        assert_eq!(page.mask(1), !(1u64 << 2));
        assert_eq!(page.pending(1), 1 << 2, "unmask does not ack");
        assert_eq!(info.evtchn_unmask(67), Ok(false));
    }

    #[test]
    fn ports_from_4096_are_rejected_and_touch_nothing() {
        let page = Page::new();
        let info = one_cpu(&page);
        for port in [4096u32, 4097, 4160, 1 << 20, u32::MAX] {
            let err = SharedInfoError::PortOutOfRange(port);
            assert_eq!(info.evtchn_ack(port), Err(err));
            assert_eq!(info.evtchn_mask(port), Err(err));
            assert_eq!(info.evtchn_unmask(port), Err(err));
            assert_eq!(err.status(), STATUS_INVALID_PARAMETER);
        }
        let mut bytes = alloc::vec![0xffu8; PAGE_SIZE];
        page.mem().read_bytes(0, &mut bytes).unwrap();
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn poll_delivers_pending_unmasked_ports_once_in_ascending_order() {
        let page = Page::new();
        let info = one_cpu(&page);
        page.set_pending(0, 1 | 1 << 63);
        page.set_pending(1, 1);
        page.set_pending(63, 1 << 63 | 1 << 5);
        set_sel(page.vcpu(0), 1 | 1 << 1 | 1 << 63);
        assert_eq!(poll_all(&info, 0), [0, 63, 64, 4037, 4095]);
        assert_eq!(sel(page.vcpu(0)), 0);
        // Poll does not ack.
        assert_eq!(page.pending(0), 1 | 1 << 63);
        assert_eq!(page.pending(63), 1 << 63 | 1 << 5);
        // The selector was consumed: nothing more until Xen sets it again.
        assert!(poll_all(&info, 0).is_empty());
    }

    #[test]
    fn poll_skips_masked_ports_and_leaves_them_latched() {
        let page = Page::new();
        let info = one_cpu(&page);
        page.set_pending(2, 0b1111);
        page.set_mask(2, 0b0101);
        page.set_pending(4, 1);
        page.set_mask(4, 1);
        set_sel(page.vcpu(0), 1 << 2 | 1 << 4);
        assert_eq!(poll_all(&info, 0), [129, 131]);
        assert_eq!(page.pending(2), 0b1111);
        assert_eq!(page.pending(4), 1);
        // Unmasking reveals the latched ports to the caller, not to the next poll.
        assert_eq!(info.evtchn_unmask(128), Ok(true));
        assert!(poll_all(&info, 0).is_empty());
    }

    #[test]
    fn poll_only_scans_words_the_selector_names() {
        let page = Page::new();
        let info = one_cpu(&page);
        page.set_pending(1, 1);
        page.set_pending(2, 1);
        // Word 1 pending without its selector bit; word 3 selected with nothing pending.
        set_sel(page.vcpu(0), 1 << 2 | 1 << 3);
        assert_eq!(poll_all(&info, 0), [128]);
        assert_eq!(sel(page.vcpu(0)), 0);
        // Cursor is after the last selected word visited (3).
        assert_eq!(cursor(&info, 0), 4);
    }

    #[test]
    fn poll_resumes_after_the_last_word_and_wraps() {
        let page = Page::new();
        let info = one_cpu(&page);
        page.set_pending(0, 1);
        page.set_pending(5, 1);
        page.set_pending(63, 1);
        set_sel(page.vcpu(0), 1 << 5);
        assert_eq!(poll_all(&info, 0), [320]);
        assert_eq!(cursor(&info, 0), 6);
        set_sel(page.vcpu(0), 1 | 1 << 5 | 1 << 63);
        assert_eq!(poll_all(&info, 0), [4032, 0, 320]);
        assert_eq!(cursor(&info, 0), 6);
        // An empty selector leaves the cursor where it was.
        assert!(poll_all(&info, 0).is_empty());
        assert_eq!(cursor(&info, 0), 6);
        // Ending on the last word wraps the cursor to 0.
        set_sel(page.vcpu(0), 1 << 63);
        assert_eq!(poll_all(&info, 0), [4032]);
        assert_eq!(cursor(&info, 0), 0);
    }

    #[test]
    fn poll_cursors_are_per_cpu() {
        let page = Page::new();
        let info = view(&page, &[cpu(0), cpu(1)]);
        page.set_pending(0, 1);
        page.set_pending(9, 1);
        set_sel(page.vcpu(0), 1 << 9);
        assert_eq!(poll_all(&info, 0), [576]);
        set_sel(page.vcpu(0), 1 | 1 << 9);
        set_sel(page.vcpu(1), 1 | 1 << 9);
        assert_eq!(poll_all(&info, 1), [0, 576]);
        assert_eq!(poll_all(&info, 0), [0, 576]);
        assert_eq!(cursor(&info, 0), 10);
        assert_eq!(cursor(&info, 1), 10);
    }

    #[test]
    fn poll_returns_the_or_of_the_callback_results_and_calls_every_port() {
        let page = Page::new();
        let info = one_cpu(&page);
        page.set_pending(0, 0b111);

        set_sel(page.vcpu(0), 1);
        let mut calls = 0;
        assert!(!info.evtchn_poll(0, |_| {
            calls += 1;
            false
        }));
        assert_eq!(calls, 3);

        set_sel(page.vcpu(0), 1);
        let mut seen = Vec::new();
        assert!(info.evtchn_poll(0, |port| {
            seen.push(port);
            port == 0
        }));
        assert_eq!(seen, [0, 1, 2]);

        set_sel(page.vcpu(0), 1);
        assert!(info.evtchn_poll(0, |port| port == 2));
    }

    #[test]
    fn poll_without_vcpu_info_does_nothing() {
        let page = Page::new();
        let info = view(&page, &[cpu(33)]);
        page.set_pending(0, 1);
        set_sel(page.vcpu(0), 1);
        let mut called = false;
        assert!(!info.evtchn_poll(0, |_| {
            called = true;
            true
        }));
        assert!(!info.evtchn_poll(1, |_| {
            called = true;
            true
        }));
        assert!(!called);
        assert_eq!(sel(page.vcpu(0)), 1);
    }

    #[test]
    fn poll_sees_ports_acked_or_masked_by_the_callback_only_in_later_words() {
        // The word is snapshotted once: a callback that masks a later port of the same word
        // still sees it delivered, as upstream's per-word PortMask does.
        let page = Page::new();
        let info = one_cpu(&page);
        page.set_pending(0, 0b11);
        page.set_pending(1, 1);
        set_sel(page.vcpu(0), 0b11);
        let mut seen = Vec::new();
        info.evtchn_poll(0, |port| {
            seen.push(port);
            if port == 0 {
                info.evtchn_mask(1).unwrap();
                info.evtchn_mask(64).unwrap();
            }
            false
        });
        assert_eq!(seen, [0, 1]);
    }

    /// A small deterministic generator (xorshift64*) for the model test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A word with bits set with probability 1/2^density.
        fn sparse(&mut self, density: u32) -> u64 {
            (0..density).fold(u64::MAX, |acc, _| acc & self.next())
        }
    }

    /// The §5.2 scan written plainly: one pass from the cursor word, wrapping.
    fn model_poll(
        pending: &[u64; 64],
        mask: &[u64; 64],
        selector: u64,
        cursor: usize,
    ) -> (Vec<u32>, usize) {
        let mut ports = Vec::new();
        let mut last = None;
        for step in 0..64 {
            let word = (cursor + step) % 64;
            if selector & (1 << word) == 0 {
                continue;
            }
            last = Some(word);
            for bit in 0..64 {
                if (pending[word] & !mask[word]) & (1 << bit) != 0 {
                    ports.push(u32::try_from(word * 64 + bit).unwrap());
                }
            }
        }
        (ports, last.map_or(cursor, |w| (w + 1) % 64))
    }

    #[test]
    fn poll_matches_a_model_over_random_states() {
        let page = Page::new();
        let info = view(&page, &[cpu(0), cpu(3)]);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut model_cursor = [0usize; 2];
        let rounds = if cfg!(miri) { 40 } else { 3000 };
        for round in 0..rounds {
            let density = u32::try_from(round % 5).unwrap();
            let mut pending = [0u64; 64];
            let mut mask = [0u64; 64];
            for word in 0..64 {
                pending[word] = rng.sparse(density);
                mask[word] = rng.sparse(density);
                page.set_pending(word, pending[word]);
                page.set_mask(word, mask[word]);
            }
            let selector = rng.sparse(density + 1);
            let cpu_index = round % 2;
            let vcpu = page.vcpu([0, 3][cpu_index]);
            set_sel(vcpu, selector);

            let (expected, next) = model_poll(&pending, &mask, selector, model_cursor[cpu_index]);
            model_cursor[cpu_index] = next;
            let mut seen = Vec::new();
            let answer = rng.next() % 64;
            let result = info.evtchn_poll(u32::try_from(cpu_index).unwrap(), |port| {
                seen.push(port);
                u64::from(port) % 64 == answer
            });
            assert_eq!(seen, expected, "round {round}");
            assert_eq!(
                result,
                expected.iter().any(|&p| u64::from(p) % 64 == answer)
            );
            assert_eq!(cursor(&info, cpu_index) as usize, next, "round {round}");
            assert_eq!(sel(vcpu), 0);
            for word in 0..64 {
                assert_eq!(page.pending(word), pending[word]);
                assert_eq!(page.mask(word), mask[word]);
            }
            // Every pending unmasked port of a selected word, exactly once.
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), seen.len());
        }
    }

    // --- GetTime ---

    struct Clock {
        wc_version: u32,
        wc_sec: u32,
        wc_sec_hi: u32,
        wc_nsec: u32,
        version: u32,
        system_time: u64,
        tsc_timestamp: u64,
        mul: u32,
        shift: i8,
    }

    impl Default for Clock {
        fn default() -> Self {
            Self {
                wc_version: 2,
                wc_sec: 0,
                wc_sec_hi: 0,
                wc_nsec: 0,
                version: 4,
                system_time: 0,
                tsc_timestamp: 0,
                mul: 1 << 31,
                shift: 1,
            }
        }
    }

    /// Plays Xen: writes the clock fields into the page (vCPU 0's legacy slot).
    fn write_clock(page: &Page, clock: &Clock) {
        let mem = page.mem();
        let vcpu = page.vcpu(0);
        mem.write(WC_VERSION, clock.wc_version).unwrap();
        mem.write(WC_SEC, clock.wc_sec).unwrap();
        mem.write(WC_SEC_HI, clock.wc_sec_hi).unwrap();
        mem.write(WC_NSEC, clock.wc_nsec).unwrap();
        vcpu.write(TIME_VERSION, clock.version).unwrap();
        vcpu.write(SYSTEM_TIME, clock.system_time).unwrap();
        vcpu.write(TSC_TIMESTAMP, clock.tsc_timestamp).unwrap();
        vcpu.write(TSC_MUL, clock.mul).unwrap();
        vcpu.write(TSC_SHIFT, clock.shift.cast_unsigned()).unwrap();
    }

    fn time_of(clock: &Clock, tsc: u64) -> Result<i64, SharedInfoError> {
        let page = Page::new();
        write_clock(&page, clock);
        one_cpu(&page).get_time(|| tsc)
    }

    /// 1970-01-01 in Windows time.
    const UNIX_EPOCH_100NS: i64 = 116_444_736_000_000_000;

    #[test]
    fn time_zero_is_the_unix_epoch_in_windows_units() {
        assert_eq!(time_of(&Clock::default(), 0), Ok(UNIX_EPOCH_100NS));
    }

    #[test]
    fn time_adds_wallclock_system_time_and_scaled_tsc_age() {
        let clock = Clock {
            wc_sec: 1_700_000_000,
            wc_nsec: 500_000_000,
            system_time: 2_000_000_000,
            tsc_timestamp: 1000,
            mul: 1 << 31, // 0.5 ns per shifted tick
            shift: 1,
            ..Clock::default()
        };
        // age = (3_000_000 << 1) * 0.5 = 3_000_000 ns; since boot 2.003 s;
        // seconds = 1_700_000_000 + 11_644_473_600 + 2, ns = 500_000_000 + 3_000_000.
        assert_eq!(
            time_of(&clock, 1000 + 3_000_000),
            Ok(133_444_736_025_030_000)
        );
    }

    #[test]
    fn time_with_negative_tsc_shift_shifts_right() {
        let clock = Clock {
            tsc_timestamp: 5,
            mul: u32::MAX,
            shift: -2,
            ..Clock::default()
        };
        // age = ((4e9 >> 2) * (2^32 - 1)) >> 32 = 999_999_999 ns.
        assert_eq!(
            time_of(&clock, 5 + 4_000_000_000),
            Ok(UNIX_EPOCH_100NS + 9_999_999)
        );
        // A nanosecond carry from wc_nsec into the seconds.
        let clock = Clock {
            wc_nsec: 999_999_999,
            system_time: 999_999_999,
            ..Clock::default()
        };
        // 1.999999998 s -> 19_999_999 units of 100 ns.
        assert_eq!(time_of(&clock, 0), Ok(UNIX_EPOCH_100NS + 19_999_999));
    }

    #[test]
    fn time_edge_arithmetic() {
        // TSC behind the timestamp: the age wraps as an unsigned difference.
        let clock = Clock {
            tsc_timestamp: 10,
            mul: 1,
            shift: 0,
            ..Clock::default()
        };
        // ((2^64 - 1) * 1) >> 32 = 4_294_967_295 ns.
        assert_eq!(time_of(&clock, 9), Ok(UNIX_EPOCH_100NS + 42_949_672));
        // Shifts of 64 or more give an age of 0.
        for shift in [64i8, 127, -64, -128] {
            let clock = Clock {
                shift,
                mul: u32::MAX,
                ..Clock::default()
            };
            assert_eq!(time_of(&clock, u64::MAX), Ok(UNIX_EPOCH_100NS), "{shift}");
        }
        // wc_sec_hi counts 2^32 seconds.
        let clock = Clock {
            wc_sec_hi: 1,
            ..Clock::default()
        };
        assert_eq!(time_of(&clock, 0), Ok(159_394_408_960_000_000));
        // Beyond i64 saturates rather than wrapping.
        let clock = Clock {
            wc_sec_hi: u32::MAX,
            wc_sec: u32::MAX,
            ..Clock::default()
        };
        assert_eq!(time_of(&clock, 0), Ok(i64::MAX));
        // Largest age and system time do not overflow the 128-bit sum.
        let clock = Clock {
            system_time: u64::MAX,
            mul: u32::MAX,
            shift: 0,
            ..Clock::default()
        };
        let expected = (u128::from(EPOCH_DELTA_SECONDS) * NS_PER_S
            + u128::from(u64::MAX)
            + ((u128::from(u64::MAX) * u128::from(u32::MAX)) >> 32))
            / 100;
        assert_eq!(
            time_of(&clock, u64::MAX),
            Ok(i64::try_from(expected).unwrap())
        );
    }

    #[test]
    fn time_retries_when_xen_updates_between_reads() {
        let page = Page::new();
        let old = Clock {
            system_time: 1_000_000_000,
            ..Clock::default()
        };
        write_clock(&page, &old);
        let info = one_cpu(&page);
        let attempts = Cell::new(0);
        let tsc_reads = Cell::new(0);
        let result = info.get_time_observed(
            || {
                tsc_reads.set(tsc_reads.get() + 1);
                0
            },
            |attempt| {
                attempts.set(attempt + 1);
                if attempt == 0 {
                    // Xen completes a whole update after we copied the old fields.
                    write_clock(
                        &page,
                        &Clock {
                            wc_version: old.wc_version + 2,
                            version: old.version + 2,
                            system_time: 7_000_000_000,
                            ..Clock::default()
                        },
                    );
                }
            },
        );
        assert_eq!(result, Ok(UNIX_EPOCH_100NS + 70_000_000));
        assert_eq!(attempts.get(), 2);
        assert_eq!(tsc_reads.get(), 1);
    }

    #[test]
    fn time_waits_out_an_update_in_progress_on_either_seqlock() {
        for wallclock in [true, false] {
            let page = Page::new();
            write_clock(&page, &Clock::default());
            let info = one_cpu(&page);
            let attempts = Cell::new(0);
            let result = info.get_time_observed(
                || 0,
                |attempt| {
                    attempts.set(attempt + 1);
                    let odd = Clock {
                        wc_version: if wallclock { 3 } else { 2 },
                        version: if wallclock { 4 } else { 5 },
                        system_time: 123,
                        ..Clock::default()
                    };
                    match attempt {
                        // Xen starts an update (odd version) and writes half-new values.
                        0 => write_clock(&page, &odd),
                        // Xen finishes it.
                        1 => write_clock(
                            &page,
                            &Clock {
                                wc_version: if wallclock { 4 } else { 2 },
                                version: if wallclock { 4 } else { 6 },
                                system_time: 500,
                                ..Clock::default()
                            },
                        ),
                        _ => {}
                    }
                },
            );
            // Attempt 0 saw a change, attempt 1 started odd, attempt 2 is consistent.
            assert_eq!(result, Ok(UNIX_EPOCH_100NS + 5), "wallclock {wallclock}");
            assert_eq!(attempts.get(), 3);
        }
    }

    #[test]
    fn time_gives_up_when_the_record_never_settles() {
        let page = Page::new();
        write_clock(
            &page,
            &Clock {
                version: 1,
                ..Clock::default()
            },
        );
        let info = one_cpu(&page);
        let attempts = Cell::new(0u32);
        let result = info.get_time_observed(
            || panic!("the TSC is read only for a consistent record"),
            |_| attempts.set(attempts.get() + 1),
        );
        assert_eq!(result, Err(SharedInfoError::TimeUnstable));
        assert_eq!(attempts.get(), TIME_READ_ATTEMPTS);
        assert_eq!(SharedInfoError::TimeUnstable.status(), STATUS_RETRY);
    }

    #[test]
    fn time_needs_cpu_0s_vcpu_info() {
        let page = Page::new();
        let info = view(&page, &[cpu(32), cpu(0)]);
        assert_eq!(info.get_time(|| 0), Err(SharedInfoError::NoVcpuInfo));
        let empty = view(&page, &[]);
        assert_eq!(empty.get_time(|| 0), Err(SharedInfoError::NoVcpuInfo));
        assert_eq!(SharedInfoError::NoVcpuInfo.status(), STATUS_NOT_SUPPORTED);
    }

    #[test]
    fn time_reads_cpu_0s_registered_vcpu_info() {
        let page = Page::new();
        let mut registered = Box::new(VcpuInfo::default());
        registered.time.system_time = 3_000_000_000;
        registered.time.version = 2;
        let cpus = [ProcessorVcpu {
            vcpu_id: Some(0),
            registered: Some(NonNull::from(&mut *registered)),
        }];
        write_clock(
            &page,
            &Clock {
                system_time: 9,
                ..Clock::default()
            },
        );
        let info = view(&page, &cpus);
        assert_eq!(info.get_time(|| 0), Ok(UNIX_EPOCH_100NS + 30_000_000));
    }
}
