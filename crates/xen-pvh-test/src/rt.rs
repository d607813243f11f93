// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The runtime a freestanding binary on the linux-gnu target must bring itself: the C memory
//! and string functions `core` calls, the panic handler and a small allocator.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::asm;
use core::sync::atomic::{AtomicUsize, Ordering};

/// `memcpy`, with `rep movsb` (never a loop the compiler could turn back into `memcpy`).
///
/// # Safety
///
/// The C contract: `src` readable and `dst` writable for `n` bytes, not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges; DF is clear (ABI).
    unsafe {
        asm!("rep movsb", inout("rdi") dst => _, inout("rsi") src => _, inout("rcx") n => _,
             options(nostack, preserves_flags));
    }
    dst
}

/// `memmove`: copies backwards when the destination overlaps the end of the source.
///
/// # Safety
///
/// The C contract: `src` readable and `dst` writable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if dst.addr() <= src.addr() || dst.addr() >= src.addr().wrapping_add(n) {
        // SAFETY: forward copy is correct when dst is below src or past its end.
        return unsafe { memcpy(dst, src, n) };
    }
    // SAFETY: the caller guarantees both ranges; DF is set only for this copy and cleared
    // again before returning, as the ABI requires.
    unsafe {
        asm!("std", "rep movsb", "cld",
             inout("rdi") dst.wrapping_add(n).wrapping_sub(1) => _,
             inout("rsi") src.wrapping_add(n).wrapping_sub(1) => _,
             inout("rcx") n => _, options(nostack));
    }
    dst
}

/// `memset`.
///
/// # Safety
///
/// The C contract: `dst` writable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    let [byte, ..] = c.to_le_bytes();
    // SAFETY: the caller guarantees the range; DF is clear (ABI).
    unsafe {
        asm!("rep stosb", inout("rdi") dst => _, inout("rcx") n => _, in("al") byte,
             options(nostack, preserves_flags));
    }
    dst
}

/// `memcmp`.
///
/// # Safety
///
/// The C contract: both ranges readable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(left: *const u8, right: *const u8, len: usize) -> i32 {
    let mut offset = 0;
    while offset < len {
        // SAFETY: `offset < len`, within both ranges.
        let l = unsafe { left.wrapping_add(offset).read_volatile() };
        // SAFETY: as above.
        let r = unsafe { right.wrapping_add(offset).read_volatile() };
        if l != r {
            return i32::from(l) - i32::from(r);
        }
        offset += 1;
    }
    0
}

/// `bcmp`: like `memcmp`, only equality matters.
///
/// # Safety
///
/// The C contract: both ranges readable for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract.
    unsafe { memcmp(a, b, n) }
}

/// `strlen` (`core::ffi::CStr::from_ptr` calls it).
///
/// # Safety
///
/// The C contract: `s` points to a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut len = 0;
    // SAFETY: the caller guarantees the string is terminated, so every byte up to and
    // including the NUL is readable.
    while unsafe { s.wrapping_add(len).read_volatile() } != 0 {
        len += 1;
    }
    len
}

/// `_Unwind_Resume`: the precompiled `alloc` for this target was built to unwind, so its
/// landing pads (`alloc::fmt::format`'s, for one) name this routine. The kernel aborts on panic
/// (the panic handler never returns), so no landing pad ever runs: reaching it is a fault.
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume() -> ! {
    crate::harness::fatal(format_args!(
        "_Unwind_Resume reached: the kernel does not unwind"
    ))
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::harness::fatal(format_args!("panic: {info}"))
}

/// The kernel's allocator over a static arena. 12 MiB: in the stand-in mode (`nt`) the driver
/// images (xenbus.sys alone is about 480 KiB), their pool, the threads' stacks and the registry
/// come from it too; the smallest guest it runs in (xen-full-test's PVH domU) has 32 MiB.
///
/// Blocks of up to [`LARGEST_CLASS`] bytes come in power-of-two size classes, each block aligned
/// to its size (a page at most); a freed one goes on its class's free list and is handed out
/// again, so code that allocates and frees all the time (a driver's requests, the stand-in's
/// own poll loops) runs in bounded memory. Larger blocks, and any asking for more than page
/// alignment, are carved from the arena and never reused (images and stacks, which live for the
/// run). The stand-in's pool keeps its own use-after-free poisoning on top (`nt::routines::pool`).
struct Arena;

const ARENA_BYTES: usize = 12 * 1024 * 1024;
/// The smallest size class.
const SMALLEST_CLASS: usize = 16;
/// The largest size class.
const LARGEST_CLASS: usize = 64 * 1024;
/// Classes 16, 32, ... 64 KiB.
const CLASSES: usize = 13;
const _: () = assert!(SMALLEST_CLASS << (CLASSES - 1) == LARGEST_CLASS);

#[repr(C, align(4096))]
struct Memory(core::cell::UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: disjoint ranges of the arena are handed out by an atomic cursor, and a freed block
// is owned by its free list until handed out again.
unsafe impl Sync for Memory {}

static MEMORY: Memory = Memory(core::cell::UnsafeCell::new([0; ARENA_BYTES]));
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Each class's free blocks: the address of the first; each free block starts with the next's.
static FREE: spin::Mutex<[usize; CLASSES]> = spin::Mutex::new([0; CLASSES]);

/// The size class (index, size) of `layout`, if it has one.
fn class(layout: Layout) -> Option<(usize, usize)> {
    if layout.align() > 4096 {
        return None;
    }
    let size = layout
        .size()
        .max(layout.align())
        .max(SMALLEST_CLASS)
        .checked_next_power_of_two()?;
    (size <= LARGEST_CLASS).then(|| (size.trailing_zeros() as usize - 4, size))
}

/// `size` fresh bytes of the arena aligned to `align`, or NULL when it is used up.
fn carve(size: usize, align: usize) -> *mut u8 {
    let base = MEMORY.0.get().cast::<u8>();
    let mut start = 0;
    let claimed = NEXT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
        let aligned = (base.addr() + next).next_multiple_of(align) - base.addr();
        start = aligned;
        let end = aligned.checked_add(size)?;
        (end <= ARENA_BYTES).then_some(end)
    });
    if claimed.is_err() {
        return core::ptr::null_mut();
    }
    base.wrapping_add(start)
}

// SAFETY: every block handed out is a distinct range of the arena of at least the layout's size
// and alignment: fresh from the cursor, or a freed block of the same class (which its owner
// gave up with `dealloc`).
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((index, size)) = class(layout) else {
            return carve(layout.size(), layout.align());
        };
        {
            let mut free = FREE.lock();
            if let Some(head) = free.get_mut(index)
                && *head != 0
            {
                let block = core::ptr::with_exposed_provenance_mut::<usize>(*head);
                // SAFETY: a free block of this class holds the next free block's address.
                *head = unsafe { block.read() };
                return block.cast();
            }
        }
        carve(size, size.min(4096))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some((index, _)) = class(layout) else {
            return;
        };
        let mut free = FREE.lock();
        if let Some(head) = free.get_mut(index) {
            // SAFETY: the caller gives up the block (at least `SMALLEST_CLASS` bytes, aligned to
            // its class), so its first word may hold the list's link.
            unsafe { ptr.cast::<usize>().write_unaligned(*head) };
            *head = ptr.expose_provenance();
        }
    }
}

#[global_allocator]
static ALLOCATOR: Arena = Arena;
