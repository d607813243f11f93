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

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    crate::harness::fatal(format_args!("panic: {info}"))
}

/// A bump allocator over a static arena: the kernel allocates little and frees nothing. 4 MiB:
/// in the stand-in mode (`nt`) the driver image, its pool and the registry come from it too.
struct Bump;

const ARENA_BYTES: usize = 4 * 1024 * 1024;

#[repr(C, align(4096))]
struct Arena(core::cell::UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: disjoint ranges of the arena are handed out by an atomic cursor.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(core::cell::UnsafeCell::new([0; ARENA_BYTES]));
static NEXT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every allocation is a distinct, suitably aligned range of the arena, never reused.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = ARENA.0.get().cast::<u8>();
        let mut start = 0;
        let claimed = NEXT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
            let aligned = (base.addr() + next).next_multiple_of(layout.align()) - base.addr();
            start = aligned;
            let end = aligned.checked_add(layout.size())?;
            (end <= ARENA_BYTES).then_some(end)
        });
        if claimed.is_err() {
            return core::ptr::null_mut();
        }
        base.wrapping_add(start)
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump;
