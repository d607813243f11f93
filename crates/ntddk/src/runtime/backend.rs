// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The one place the two backends differ: which allocator and panic handler an image gets, and
//! who defines the symbols the precompiled `core` expects from a C runtime.
//!
//! * Default (any host, `raw-dylib`): our pool allocator ([`super::pool`]), our panic handler,
//!   and `_fltused` / `__CxxFrameHandler3` defined here in assembly so they are not exported.
//! * `wdk` (Windows host with the WDK): `wdk-alloc`'s allocator and `wdk-panic`'s handler;
//!   `wdk-sys` defines the runtime symbols.

#[cfg(not(feature = "wdk"))]
pub use self::own::Allocator;
#[cfg(feature = "wdk")]
pub use self::wdk::Allocator;

#[cfg(not(feature = "wdk"))]
mod own {
    use core::alloc::{GlobalAlloc, Layout};

    /// The global allocator over non-paged pool, tagged with the image's pool tag.
    #[derive(Debug)]
    pub struct Allocator {
        tag: u32,
    }

    impl Allocator {
        /// An allocator whose blocks carry `tag`.
        #[must_use]
        pub const fn new(tag: u32) -> Self {
            Self { tag }
        }
    }

    // SAFETY: `pool::allocate` returns NULL or a block of at least `layout.size()` bytes aligned
    // to `layout.align()`, and `deallocate` frees exactly such blocks.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            super::super::pool::allocate(layout, self.tag)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // SAFETY: `ptr` came from `alloc` above with the same tag (GlobalAlloc's contract).
            unsafe { super::super::pool::deallocate(ptr, self.tag) };
        }
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
        super::super::panicked(info)
    }

    // `_fltused`: MSVC's marker that floating point is used, normally defined by the C runtime.
    // `__CxxFrameHandler3`: named by the unwind data of the precompiled `core`/`alloc`; with
    // `panic = "abort"` nothing unwinds, so it answers ExceptionContinueSearch (1). Defined in
    // assembly so rustc does not add them to an export table.
    core::arch::global_asm!(
        ".section .rdata,\"dr\"",
        ".globl _fltused",
        "_fltused:",
        ".long 0",
        ".text",
        ".globl __CxxFrameHandler3",
        "__CxxFrameHandler3:",
        "mov eax, 1",
        "ret",
    );
}

#[cfg(feature = "wdk")]
mod wdk {
    use core::alloc::{GlobalAlloc, Layout};

    extern crate wdk_panic;

    /// The global allocator of windows-drivers-rs (pool tag chosen by wdk-alloc).
    #[derive(Debug)]
    pub struct Allocator(wdk_alloc::WdkAllocator);

    impl Allocator {
        /// The wdk-alloc allocator; its tag is wdk-alloc's own.
        #[must_use]
        pub const fn new(_tag: u32) -> Self {
            Self(wdk_alloc::WdkAllocator)
        }
    }

    // SAFETY: delegates to wdk-alloc's allocator, which upholds GlobalAlloc's contract.
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded with the caller's layout.
            unsafe { self.0.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's pointer and layout.
            unsafe { self.0.dealloc(ptr, layout) };
        }
    }

    // The layouts of our bindings are the WDK's: checked at compile time on a Windows host.
    const _: () = {
        use core::mem::size_of;
        assert!(size_of::<crate::DRIVER_OBJECT>() == size_of::<wdk_sys::DRIVER_OBJECT>());
        assert!(size_of::<crate::DEVICE_OBJECT>() == size_of::<wdk_sys::DEVICE_OBJECT>());
        assert!(size_of::<crate::IRP>() == size_of::<wdk_sys::IRP>());
        assert!(size_of::<crate::IO_STACK_LOCATION>() == size_of::<wdk_sys::IO_STACK_LOCATION>());
        assert!(size_of::<crate::UNICODE_STRING>() == size_of::<wdk_sys::UNICODE_STRING>());
        assert!(size_of::<crate::OBJECT_ATTRIBUTES>() == size_of::<wdk_sys::OBJECT_ATTRIBUTES>());
    };
}
