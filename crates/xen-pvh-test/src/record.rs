// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The hypercall transcript: with `xtk.record` on the command line, every hypercall the suite
//! makes (on either vCPU, one record at a time) is written, with its argument bytes before and after, its return value and
//! the guest memory it can affect (event bitmaps, `vcpu_info`, FIFO words, grant entries, the
//! pages a grant copy/map or a reservation change touches), to the second serial port (COM2),
//! which scripts/xen-qemu-test saves as the transcript `crates/xen-diff` replays against the
//! simulator. The format is `xen_transcript`'s.
//!
//! COM2 is not Xen's console (Xen owns COM1), so the transcript never competes with Xen's
//! console buffer, which drops characters when full; dom0 reaches the port directly. Records
//! are made with interrupts off (the suite keeps them off outside its wait loops, and the
//! recorder never enables them), so an upcall cannot change what a record observes between
//! the call and the snapshot after it. `SCHEDOP_block`, which the suite issues with interrupts
//! on, is the exception; the replay treats its event state as time-dependent.
//!
//! With two vCPUs, a record is made under one lock for both, so the transcript's order is the
//! order in which the calls ran; vCPU 1's upcall handler clears its ports' pending bits while
//! vCPU 0 records, which the replay treats as asynchronous.
//!
//! Console lines and the final shutdown go to Xen directly (`crate::XEN`), not through here.

use crate::arch;
use crate::events::{self, FIFO, SHARED_INFO, VCPU_INFO};
use crate::suite::{FIFO_ARRAY, FIFO_CONTROL, VCPUS};
use core::fmt::{self, Write};
use core::mem::offset_of;
use core::ops::Deref;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use xen::hypercall::{Hypervisor, Xen};
use xen_headers::grant_table::{
    GNTCOPY_DEST_GREF, GNTCOPY_SOURCE_GREF, GNTTABOP_COPY, GNTTABOP_MAP_GRANT_REF,
    GNTTABOP_UNMAP_GRANT_REF,
};
use xen_headers::memory::{
    XENMAPSPACE_GRANT_TABLE, XENMEM_ADD_TO_PHYSMAP, XENMEM_DECREASE_RESERVATION,
    XENMEM_POPULATE_PHYSMAP,
};
use xen_headers::vcpu::VCPUOP_REGISTER_VCPU_INFO;
use xen_headers::xen::{
    HYPERVISOR_GRANT_TABLE_OP, HYPERVISOR_MEMORY_OP, HYPERVISOR_VCPU_OP, SharedInfo, VcpuInfo,
    VcpuTimeInfo,
};
use xen_transcript::{hex, layout};

/// COM2's I/O base.
const COM2: u16 = 0x2f8;
/// Bytes of the 2-level pending and mask bitmaps recorded (ports 0..255).
const BITMAP_BYTES: usize = 32;
/// Bytes of a `vcpu_info` recorded: the event fields before `arch` and `time`.
const VCPU_INFO_BYTES: usize = 16;
/// Bytes of the FIFO control block recorded (ready, pad, 16 heads).
const FIFO_CONTROL_BYTES: usize = 72;
/// Bytes of the FIFO event array recorded (ports 0..15).
const FIFO_ARRAY_BYTES: usize = 64;
/// Bytes of grant-table frame 0 recorded (entries 0..15, v1).
const GRANT_ENTRY_BYTES: usize = 128;
/// Most windows one record holds.
const MAX_WINDOWS: usize = 12;
/// Bytes in a page.
const PAGE: usize = 4096;
/// Frames the boot page tables identity-map (4 GiB): windows beyond are not read.
const MAPPED_FRAMES: u64 = 1 << 20;

/// Recording is on (command line asked and COM2 answered).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The vCPU writing a record, or [`NOBODY`].
static OWNER: AtomicUsize = AtomicUsize::new(NOBODY);
/// No vCPU holds the recorder.
const NOBODY: usize = usize::MAX;
/// How long a vCPU waits for the other's record before it lets its call go unrecorded.
const MAX_SPINS: u64 = 100_000_000;
/// Records written.
static RECORDS: AtomicU32 = AtomicU32::new(0);
/// Hypercalls made while recording that are not in the transcript (other vCPUs, re-entry).
static UNRECORDED: AtomicU32 = AtomicU32::new(0);
/// Where grant-table frame 0 is mapped (0: not mapped).
static GRANT_FRAME: AtomicU64 = AtomicU64::new(0);

/// The hypervisor as the suite sees it: the detected [`Xen`], recorded when recording is on.
#[derive(Debug)]
pub struct Recording {
    xen: Xen,
}

impl Deref for Recording {
    type Target = Xen;

    fn deref(&self) -> &Xen {
        &self.xen
    }
}

static RECORDING: spin::Once<Recording> = spin::Once::new();

/// The recording hypervisor; only called after detection succeeded.
pub fn hv() -> &'static Recording {
    RECORDING.call_once(|| Recording { xen: *crate::xen() })
}

fn outb(port: u16, value: u8) {
    // SAFETY: COM2's registers; dom0 owns the port and writing it has no other effect.
    unsafe {
        core::arch::asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack));
    }
}

fn inb(port: u16) -> u8 {
    let value: u8;
    // SAFETY: as `outb`; reading a UART register has no side effect we rely on.
    unsafe {
        core::arch::asm!("in al, dx", in("dx") port, out("al") value, options(nomem, nostack));
    };
    value
}

/// Initialises COM2 (8N1, FIFOs on) and says whether a UART answers there.
fn com2_present() -> bool {
    outb(COM2 + 7, 0x5a);
    if inb(COM2 + 7) != 0x5a {
        return false;
    }
    outb(COM2 + 1, 0x00); // no interrupts
    outb(COM2 + 3, 0x80); // divisor latch
    outb(COM2, 0x01); // 115200 baud
    outb(COM2 + 1, 0x00);
    outb(COM2 + 3, 0x03); // 8N1
    outb(COM2 + 2, 0xc7); // FIFOs on and cleared
    outb(COM2 + 4, 0x03); // DTR, RTS
    true
}

fn putc(b: u8) {
    for _ in 0..100_000 {
        if inb(COM2 + 5) & 0x20 != 0 {
            break;
        }
        arch::pause();
    }
    outb(COM2, b);
}

/// Text to COM2.
struct Com2;

impl Write for Com2 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(putc);
        Ok(())
    }
}

fn line(args: fmt::Arguments<'_>) {
    let _ = Com2.write_fmt(args);
}

/// Starts recording if `cmdline` asks for it and COM2 is there.
pub fn start(cmdline: &[u8]) {
    let asked = cmdline
        .windows(b"xtk.record".len())
        .any(|w| w == b"xtk.record");
    if !asked {
        return;
    }
    if !com2_present() {
        crate::kprintln!("XTK: xtk.record given but no UART at COM2: not recording");
        return;
    }
    line(format_args!(
        "XTR-BEGIN {}\nXTR env cpu 0\nXTR env domid 0\nXTR env ram",
        xen_transcript::FORMAT_VERSION
    ));
    let ram = [
        &crate::suite::GRANT_SRC,
        &crate::suite::GRANT_DST,
        &crate::suite::BALLOON,
        &crate::suite::VCPU_INFO_PAGE,
        &FIFO_CONTROL[0],
        &FIFO_CONTROL[1],
        &FIFO_ARRAY[0],
        &FIFO_ARRAY[1],
    ];
    for page in ram {
        line(format_args!(" {:x}", page.gfn()));
    }
    line(format_args!("\n"));
    ENABLED.store(true, Ordering::SeqCst);
    crate::kprintln!("XTK: recording hypercalls on COM2");
}

/// Ends the transcript.
pub fn finish() {
    if ENABLED.swap(false, Ordering::SeqCst) {
        line(format_args!(
            "XTR env vcpus {}\nXTR-END {} {}\n",
            VCPUS.load(Ordering::SeqCst),
            RECORDS.load(Ordering::SeqCst),
            UNRECORDED.load(Ordering::SeqCst)
        ));
        crate::kprintln!(
            "XTK: transcript of {} hypercalls on COM2",
            RECORDS.load(Ordering::SeqCst)
        );
    }
}

/// Copies `out.len()` bytes of guest memory at `addr` (identity-mapped) with volatile reads,
/// eight bytes at a time where aligned (an unbacked frame is emulated per access).
fn read_guest(addr: usize, out: &mut [u8]) {
    let mut i = 0;
    while i < out.len() {
        let at = addr.wrapping_add(i);
        let rest = out.len() - i;
        if at % 8 == 0 && rest >= 8 {
            let p = core::ptr::with_exposed_provenance::<u64>(at);
            // SAFETY: the caller's hypercall contract makes `addr..addr+len` readable guest
            // memory (a structure the call uses, or a frame the suite owns or Xen maps; holes
            // read as all-ones).
            let word = unsafe { p.read_volatile() };
            if let Some(dst) = out.get_mut(i..i + 8) {
                dst.copy_from_slice(&word.to_le_bytes());
            }
            i += 8;
        } else {
            let p = core::ptr::with_exposed_provenance::<u8>(at);
            // SAFETY: as above.
            let byte = unsafe { p.read_volatile() };
            if let Some(dst) = out.get_mut(i) {
                *dst = byte;
            }
            i += 1;
        }
    }
}

/// Writes the bytes at `addr..addr+len` encoded, a page at a time.
fn emit_bytes(addr: usize, len: usize) {
    let mut buf = [0_u8; PAGE];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(PAGE);
        let chunk = buf.get_mut(..n).unwrap_or_default();
        read_guest(addr.wrapping_add(done), chunk);
        hex::encode(chunk, &mut putc);
        done += n;
    }
}

/// A window of guest memory: frame, offset, length.
#[derive(Clone, Copy)]
struct Window {
    gfn: u64,
    off: usize,
    len: usize,
}

impl Window {
    fn address(self) -> usize {
        usize::try_from(self.gfn << 12)
            .unwrap_or(0)
            .wrapping_add(self.off)
    }

    fn of_ptr<T>(p: *const T, len: usize) -> Self {
        let addr = p.addr();
        Self {
            gfn: (addr >> 12) as u64,
            off: addr & 0xfff,
            len,
        }
    }
}

struct Windows {
    list: [Option<Window>; MAX_WINDOWS],
}

impl Windows {
    /// Adds `w` unless it is already there or lies outside the identity map (frame numbers come
    /// from argument structures and grant entries, which may hold anything).
    fn push(&mut self, w: Window) {
        if w.gfn >= MAPPED_FRAMES {
            return;
        }
        if self
            .list
            .iter()
            .flatten()
            .any(|x| x.gfn == w.gfn && x.off == w.off)
        {
            return;
        }
        if let Some(slot) = self.list.iter_mut().find(|s| s.is_none()) {
            *slot = Some(w);
        }
    }

    fn page(&mut self, gfn: u64) {
        self.push(Window {
            gfn,
            off: 0,
            len: PAGE,
        });
    }
}

fn bytes_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The frame v1 grant `reference` names, read from the mapped grant frame 0.
fn granted_frame(reference: u32) -> Option<u64> {
    let frame0 = GRANT_FRAME.load(Ordering::SeqCst);
    if frame0 == 0 || frame0 >= MAPPED_FRAMES || reference >= 512 {
        return None;
    }
    let mut raw = [0_u8; 4];
    let entry = usize::try_from(frame0 << 12).ok()? + 8 * usize::try_from(reference).ok()?;
    read_guest(entry + 4, &mut raw);
    Some(u64::from(u32::from_le_bytes(raw)))
}

/// The windows a call can affect: always the event state, then what the op touches.
fn windows(op: u32, args: &[usize; 5], main: &[u8], nested: &[u8]) -> Windows {
    let mut w = Windows {
        list: [None; MAX_WINDOWS],
    };
    let si = SHARED_INFO.load(Ordering::SeqCst);
    if !si.is_null() {
        let pending = si.wrapping_byte_add(offset_of!(SharedInfo, evtchn_pending));
        let mask = si.wrapping_byte_add(offset_of!(SharedInfo, evtchn_mask));
        w.push(Window::of_ptr(pending, BITMAP_BYTES));
        w.push(Window::of_ptr(mask, BITMAP_BYTES));
    }
    let vcpus = usize::try_from(VCPUS.load(Ordering::SeqCst)).unwrap_or(1);
    for slot in VCPU_INFO.iter().take(vcpus) {
        let vi = slot.load(Ordering::SeqCst);
        if !vi.is_null() {
            w.push(Window::of_ptr(vi, VCPU_INFO_BYTES));
        }
    }
    if FIFO.load(Ordering::SeqCst) {
        for control in FIFO_CONTROL.iter().take(vcpus) {
            w.push(Window::of_ptr(control.ptr(), FIFO_CONTROL_BYTES));
        }
        w.push(Window::of_ptr(FIFO_ARRAY[0].ptr(), FIFO_ARRAY_BYTES));
    }
    let cmd = layout::command(op, args);
    let is = |c: u32| usize::try_from(c).is_ok_and(|c| c == cmd);
    match op {
        HYPERVISOR_GRANT_TABLE_OP | HYPERVISOR_MEMORY_OP => {
            let frame0 = GRANT_FRAME.load(Ordering::SeqCst);
            if frame0 != 0 {
                w.push(Window {
                    gfn: frame0,
                    off: 0,
                    len: GRANT_ENTRY_BYTES,
                });
            }
        }
        _ => {}
    }
    if op == HYPERVISOR_GRANT_TABLE_OP && is(GNTTABOP_COPY) {
        for entry in main.chunks_exact(40) {
            let flags = bytes_at::<2>(entry, 34).map_or(0, u16::from_le_bytes);
            for (at, gref) in [(0, GNTCOPY_SOURCE_GREF), (16, GNTCOPY_DEST_GREF)] {
                let u = bytes_at::<8>(entry, at).map_or(0, u64::from_le_bytes);
                let frame = if flags & gref != 0 {
                    granted_frame(u32::try_from(u & 0xffff_ffff).unwrap_or(u32::MAX))
                } else {
                    Some(u)
                };
                if let Some(frame) = frame {
                    w.page(frame);
                }
            }
        }
    } else if op == HYPERVISOR_GRANT_TABLE_OP && is(GNTTABOP_MAP_GRANT_REF) {
        for entry in main.chunks_exact(32) {
            let host = bytes_at::<8>(entry, 0).map_or(0, u64::from_le_bytes);
            let reference = bytes_at::<4>(entry, 12).map_or(u32::MAX, u32::from_le_bytes);
            if let Some(frame) = granted_frame(reference) {
                w.page(frame);
            }
            w.page(host >> 12);
        }
    } else if op == HYPERVISOR_GRANT_TABLE_OP && is(GNTTABOP_UNMAP_GRANT_REF) {
        for entry in main.chunks_exact(24) {
            let host = bytes_at::<8>(entry, 0).map_or(0, u64::from_le_bytes);
            w.page(host >> 12);
        }
    } else if op == HYPERVISOR_MEMORY_OP
        && (is(XENMEM_DECREASE_RESERVATION) || is(XENMEM_POPULATE_PHYSMAP))
    {
        for gfn in nested.chunks_exact(8).take(4) {
            w.page(bytes_at::<8>(gfn, 0).map_or(0, u64::from_le_bytes));
        }
    } else if op == HYPERVISOR_VCPU_OP && is(VCPUOP_REGISTER_VCPU_INFO) {
        let mfn = bytes_at::<8>(main, 0).map_or(0, u64::from_le_bytes);
        let off = bytes_at::<4>(main, 8).map_or(0, u32::from_le_bytes);
        let off = usize::try_from(off).unwrap_or(usize::MAX);
        if off
            .checked_add(VCPU_INFO_BYTES)
            .is_some_and(|end| end <= PAGE)
        {
            w.push(Window {
                gfn: mfn,
                off,
                len: VCPU_INFO_BYTES,
            });
        }
    }
    w
}

/// Xen system time, or 0 while this vCPU's time record is unreadable (its `shared_info` slot
/// unmapped between `remove_from_physmap` and the next `add_to_physmap` reads as all-ones, an
/// odd seqlock version `events::now_ns` would wait on forever).
fn system_time() -> u64 {
    let vi = VCPU_INFO
        .get(arch::cpu_id())
        .map_or(core::ptr::null_mut(), |p| p.load(Ordering::SeqCst));
    if vi.is_null() {
        return 0;
    }
    let version = vi
        .wrapping_byte_add(offset_of!(VcpuInfo, time) + offset_of!(VcpuTimeInfo, version))
        .cast::<u32>();
    // SAFETY: this vCPU's `vcpu_info` is in the mapped `shared_info` page or the registered page;
    // an unmapped frame reads as all-ones rather than faulting.
    if unsafe { version.read_volatile() } % 2 != 0 {
        return 0;
    }
    events::now_ns()
}

/// What one call's buffers are, read before the call.
struct Buffers {
    main: Option<layout::Region>,
    main_addr: usize,
    main_copy: [u8; 256],
    nested: Option<(usize, usize)>,
    nested_copy: [u8; 64],
}

impl Buffers {
    fn read(op: u32, args: &[usize; 5]) -> Self {
        let main = layout::main_region(op, args);
        let main_addr = main.map_or(0, |r| args.get(r.arg).copied().unwrap_or(0));
        let mut main_copy = [0_u8; 256];
        let mut nested = None;
        let mut nested_copy = [0_u8; 64];
        if let Some(r) = main
            && main_addr != 0
        {
            let n = r.len.min(main_copy.len());
            read_guest(main_addr, main_copy.get_mut(..n).unwrap_or_default());
            let head = main_copy.get(..n).unwrap_or_default();
            if let Some(nr) = layout::nested_region(op, args, head)
                && let Some(addr) = layout::handle_address(head, nr)
                && addr != 0
            {
                nested = Some((addr, nr.len));
                let m = nr.len.min(nested_copy.len());
                read_guest(addr, nested_copy.get_mut(..m).unwrap_or_default());
            }
        }
        Self {
            main,
            main_addr,
            main_copy,
            nested,
            nested_copy,
        }
    }

    fn main_bytes(&self) -> &[u8] {
        let n = self.main.map_or(0, |r| r.len.min(self.main_copy.len()));
        self.main_copy.get(..n).unwrap_or_default()
    }

    fn nested_bytes(&self) -> &[u8] {
        let n = self
            .nested
            .map_or(0, |(_, len)| len.min(self.nested_copy.len()));
        self.nested_copy.get(..n).unwrap_or_default()
    }

    /// Writes the `i`/`o` lines of the buffers as they are now.
    fn emit(&self, tag: char, seq: u32) {
        if let Some(r) = self.main
            && self.main_addr != 0
        {
            line(format_args!("XTR {tag} {seq} m "));
            emit_bytes(self.main_addr, r.len);
            line(format_args!("\n"));
        }
        if let Some((addr, len)) = self.nested {
            line(format_args!("XTR {tag} {seq} n "));
            emit_bytes(addr, len);
            line(format_args!("\n"));
        }
    }
}

fn emit_windows(tag: char, seq: u32, windows: &Windows) {
    for w in windows.list.iter().flatten() {
        line(format_args!("XTR {tag} {seq} {:x} {:x} ", w.gfn, w.off));
        emit_bytes(w.address(), w.len);
        line(format_args!("\n"));
    }
}

/// Notes where grant frame 0 went after a successful `add_to_physmap`.
fn track_grant_frame(op: u32, args: &[usize; 5], main: &[u8], ret: isize) {
    if op != HYPERVISOR_MEMORY_OP || ret != 0 {
        return;
    }
    if !usize::try_from(XENMEM_ADD_TO_PHYSMAP).is_ok_and(|c| c == layout::command(op, args)) {
        return;
    }
    let space = bytes_at::<4>(main, 4).map_or(u32::MAX, u32::from_le_bytes);
    let idx = bytes_at::<8>(main, 8).map_or(u64::MAX, u64::from_le_bytes);
    let gpfn = bytes_at::<8>(main, 16).map_or(0, u64::from_le_bytes);
    if space == XENMAPSPACE_GRANT_TABLE && idx == 0 {
        GRANT_FRAME.store(gpfn, Ordering::SeqCst);
    }
}

/// Takes the recorder for `cpu`; false on re-entry from the same vCPU or after waiting too long.
fn acquire(cpu: usize) -> bool {
    for _ in 0..MAX_SPINS {
        match OWNER.compare_exchange(NOBODY, cpu, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return true,
            Err(owner) if owner == cpu => return false,
            Err(_) => arch::pause(),
        }
    }
    false
}

impl Hypervisor for Recording {
    unsafe fn hypercall(&self, op: u32, args: &[usize]) -> isize {
        let mut regs = [0_usize; 5];
        let cpu = arch::cpu_id();
        let recordable =
            ENABLED.load(Ordering::SeqCst) && regs.get_mut(..args.len()).is_some() && acquire(cpu);
        if !recordable {
            if ENABLED.load(Ordering::SeqCst) {
                UNRECORDED.fetch_add(1, Ordering::SeqCst);
            }
            // SAFETY: the caller's guarantee is passed on unchanged.
            return unsafe { self.xen.hypercall(op, args) };
        }
        if let Some(dst) = regs.get_mut(..args.len()) {
            dst.copy_from_slice(args);
        }
        let seq = RECORDS.fetch_add(1, Ordering::SeqCst);
        let buffers = Buffers::read(op, &regs);
        let windows = windows(op, &regs, buffers.main_bytes(), buffers.nested_bytes());
        let [a0, a1, a2, a3, a4] = regs;
        line(format_args!(
            "XTR c {seq} {op} {a0:x} {a1:x} {a2:x} {a3:x} {a4:x} {:x}\n",
            system_time()
        ));
        if cpu != 0 {
            line(format_args!("XTR v {seq} {cpu}\n"));
        }
        buffers.emit('i', seq);
        emit_windows('b', seq, &windows);
        // SAFETY: the caller's guarantee is passed on unchanged; the recorder only reads the
        // memory the call uses, before and after it.
        let ret = unsafe { self.xen.hypercall(op, args) };
        line(format_args!("XTR r {seq} {ret}\n"));
        buffers.emit('o', seq);
        emit_windows('a', seq, &windows);
        track_grant_frame(op, &regs, buffers.main_bytes(), ret);
        OWNER.store(NOBODY, Ordering::SeqCst);
        ret
    }
}
