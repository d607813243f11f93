// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! C-variadic entry thunks.
//!
//! Stable Rust can call C-variadic functions but cannot define them. The interface methods
//! `EvtchnOpen(Interface, Type, Function, Argument, ...)`, `StorePrintf(Interface, Transaction,
//! Prefix, Node, Format, ...)` and `DebugPrintf(Interface, Format, ...)` are C-variadic, so each
//! gets a few instructions of assembly (`global_asm!`) that make the variadic arguments
//! addressable and call an ordinary Rust function with the fixed arguments plus a `va_list`:
//!
//! * [`win64_variadic_thunk!`] (Windows x64): spill RCX, RDX, R8, R9 to their home slots (the
//!   caller always reserves them), which makes every argument one 8-byte slot at
//!   `entry_rsp + 8 + 8 * i`; pass `&slot[N]` as a [`crate::RawWin64VaList`]. With SEH unwind
//!   data on Windows (`.seh_proc`/`.seh_stackalloc`) so stack walks and bug-check callbacks see a
//!   well-formed frame; with CFI on ELF hosts, where it is built for host tests (Rust can call
//!   `extern "win64"` variadic functions on Linux, so the very same instructions run in tests).
//! * [`sysv64_variadic_thunk!`] (System V x86_64, host tests): build the register save area and a
//!   `va_list` tag on the stack, exactly as a C variadic prologue does, and pass a
//!   [`crate::RawSysVVaList`].
//!
//! Both take 1 to 5 fixed arguments, each of integer class (integers, pointers, enums as
//! `int`): that covers every variadic method of the XENBUS interfaces. The thunk returns
//! whatever the Rust function returns in RAX, so any integer or pointer return type (or none)
//! works. The generated symbol is unmangled: give it a name unique in the final binary.
//!
//! Target signatures, checked at compile time:
//! * Windows x64: `extern "win64" fn(F1, .., Fn, RawWin64VaList) -> R` (on Windows x64
//!   `"win64"` is the same ABI as `"C"`).
//! * System V: `extern "sysv64" fn(F1, .., Fn, RawSysVVaList) -> R`.
//!
//! The thunk itself is declared as a foreign variadic function: `extern "C"` on the platform
//! whose ABI it implements (so it fits the `extern "C"` method types of the interface tables),
//! `extern "win64"` for the Windows thunk on a non-Windows host.

/// Number of fixed arguments (a `usize` constant expression).
#[doc(hidden)]
#[macro_export]
macro_rules! __kprintf_count {
    () => { 0usize };
    ($head:ty $(, $tail:ty)*) => { 1usize + $crate::__kprintf_count!($($tail),*) };
}

/// The Windows x64 instructions that place the `va_list` (`{va}` = its offset from RSP after the
/// prologue) as argument N+1 of the call, after N fixed arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __kprintf_win64_place_va {
    ($a:ty) => {
        "lea rdx, [rsp + {va}]"
    };
    ($a:ty, $b:ty) => {
        "lea r8, [rsp + {va}]"
    };
    ($a:ty, $b:ty, $c:ty) => {
        "lea r9, [rsp + {va}]"
    };
    // Argument 5 of the call goes to the stack at [rsp + 32], above the shadow space.
    ($a:ty, $b:ty, $c:ty, $d:ty) => {
        "lea rax, [rsp + {va}]\nmov qword ptr [rsp + 32], rax"
    };
    // Arguments 5 and 6 go to [rsp + 32] and [rsp + 40]; fixed argument 5 is copied from the
    // caller's stack ([entry_rsp + 40] = [rsp + frame + 40]).
    ($a:ty, $b:ty, $c:ty, $d:ty, $e:ty) => {
        "mov rax, qword ptr [rsp + {frame} + 40]\nmov qword ptr [rsp + 32], rax\nlea rax, [rsp + {va}]\nmov qword ptr [rsp + 40], rax"
    };
}

/// The System V register that carries argument N+1 after N fixed arguments.
#[doc(hidden)]
#[macro_export]
macro_rules! __kprintf_sysv_va_reg {
    ($a:ty) => {
        "rsi"
    };
    ($a:ty, $b:ty) => {
        "rdx"
    };
    ($a:ty, $b:ty, $c:ty) => {
        "rcx"
    };
    ($a:ty, $b:ty, $c:ty, $d:ty) => {
        "r8"
    };
    ($a:ty, $b:ty, $c:ty, $d:ty, $e:ty) => {
        "r9"
    };
}

/// Stack bytes the Windows x64 thunk reserves for a call with `fixed + 1` arguments.
///
/// That is 32 bytes of shadow space plus 8 per argument past the fourth, rounded so RSP is
/// 16-byte aligned at the call (RSP is 8 mod 16 on entry).
#[must_use]
pub const fn win64_frame_size(fixed: usize) -> usize {
    let args = fixed.saturating_add(1);
    let stack_args = args.saturating_sub(4);
    let outgoing = 32usize.saturating_add(stack_args.saturating_mul(8));
    // Smallest size >= outgoing with size % 16 == 8.
    outgoing
        .saturating_add(8)
        .div_ceil(16)
        .saturating_mul(16)
        .saturating_sub(8)
}

/// Offset from RSP (after the Windows x64 thunk's prologue) of the first variadic slot.
#[must_use]
pub const fn win64_va_offset(fixed: usize) -> usize {
    // frame + return address + `fixed` home/stack slots.
    win64_frame_size(fixed)
        .saturating_add(8)
        .saturating_add(fixed.saturating_mul(8))
}

/// Defines a Windows x64 C-variadic entry point that forwards to a Rust function.
///
/// ```ignore
/// kprintf::win64_variadic_thunk! {
///     /// StorePrintf as child drivers call it.
///     pub fn xenbus_store_printf(*mut Interface, *mut c_void, *const c_char, *const c_char,
///         *const c_char, ...) -> NTSTATUS => store_printf_va;
/// }
/// extern "win64" fn store_printf_va(i: *mut Interface, t: *mut c_void, p: *const c_char,
///     n: *const c_char, f: *const c_char, va: kprintf::RawWin64VaList) -> NTSTATUS { .. }
/// ```
#[macro_export]
macro_rules! win64_variadic_thunk {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ty),+ , ...) -> $ret:ty => $target:path;) => {
        const _: unsafe extern "win64" fn($($arg,)+ $crate::RawWin64VaList) -> $ret = $target;

        #[cfg(windows)]
        unsafe extern "C" {
            $(#[$meta])*
            $vis fn $name($(_: $arg),+ , ...) -> $ret;
        }
        #[cfg(not(windows))]
        unsafe extern "win64" {
            $(#[$meta])*
            $vis fn $name($(_: $arg),+ , ...) -> $ret;
        }

        #[cfg(windows)]
        ::core::arch::global_asm!(
            ".text",
            ".p2align 4",
            concat!(".def ", stringify!($name), "; .scl 2; .type 32; .endef"),
            concat!(".globl ", stringify!($name)),
            concat!(stringify!($name), ":"),
            concat!(".seh_proc ", stringify!($name)),
            "mov qword ptr [rsp + 8], rcx",
            "mov qword ptr [rsp + 16], rdx",
            "mov qword ptr [rsp + 24], r8",
            "mov qword ptr [rsp + 32], r9",
            "sub rsp, {frame}",
            ".seh_stackalloc {frame}",
            ".seh_endprologue",
            $crate::__kprintf_win64_place_va!($($arg),+),
            "call {target}",
            "add rsp, {frame}",
            "ret",
            ".seh_endproc",
            frame = const $crate::thunk::win64_frame_size($crate::__kprintf_count!($($arg),+)),
            va = const $crate::thunk::win64_va_offset($crate::__kprintf_count!($($arg),+)),
            target = sym $target,
        );

        #[cfg(not(windows))]
        ::core::arch::global_asm!(
            ".text",
            ".p2align 4",
            concat!(".globl ", stringify!($name)),
            concat!(".type ", stringify!($name), ",@function"),
            concat!(stringify!($name), ":"),
            ".cfi_startproc",
            "mov qword ptr [rsp + 8], rcx",
            "mov qword ptr [rsp + 16], rdx",
            "mov qword ptr [rsp + 24], r8",
            "mov qword ptr [rsp + 32], r9",
            "sub rsp, {frame}",
            ".cfi_adjust_cfa_offset {frame}",
            $crate::__kprintf_win64_place_va!($($arg),+),
            "call {target}",
            "add rsp, {frame}",
            ".cfi_adjust_cfa_offset -{frame}",
            "ret",
            ".cfi_endproc",
            concat!(".size ", stringify!($name), ", . - ", stringify!($name)),
            frame = const $crate::thunk::win64_frame_size($crate::__kprintf_count!($($arg),+)),
            va = const $crate::thunk::win64_va_offset($crate::__kprintf_count!($($arg),+)),
            target = sym $target,
        );
    };
}

/// Defines a System V x86_64 C-variadic entry point that forwards to a Rust function (host tests).
///
/// The thunk lays out, below a standard RBP frame, the 48-byte general-purpose register save
/// area (RDI, RSI, RDX, RCX, R8, R9) and a `va_list` tag with `gp_offset = 8 * N`,
/// `fp_offset = 176` (no vector registers saved: the engine never reads floating point),
/// `overflow_arg_area = entry_rsp + 8` and `reg_save_area` = the save area.
///
/// ```ignore
/// kprintf::sysv64_variadic_thunk! {
///     pub fn debug_printf(*mut Interface, *const c_char, ...) -> () => debug_printf_va;
/// }
/// ```
#[macro_export]
macro_rules! sysv64_variadic_thunk {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ty),+ , ...) -> $ret:ty => $target:path;) => {
        const _: unsafe extern "sysv64" fn($($arg,)+ $crate::RawSysVVaList) -> $ret = $target;

        unsafe extern "C" {
            $(#[$meta])*
            $vis fn $name($(_: $arg),+ , ...) -> $ret;
        }

        ::core::arch::global_asm!(
            ".text",
            ".p2align 4",
            concat!(".globl ", stringify!($name)),
            concat!(".type ", stringify!($name), ",@function"),
            concat!(stringify!($name), ":"),
            ".cfi_startproc",
            "push rbp",
            ".cfi_def_cfa_offset 16",
            ".cfi_offset rbp, -16",
            "mov rbp, rsp",
            ".cfi_def_cfa_register rbp",
            // 48 bytes of register save area at [rsp], the 24-byte tag at [rsp + 48], 8 spare:
            // 80 keeps RSP 16-byte aligned for the call.
            "sub rsp, 80",
            "mov qword ptr [rsp], rdi",
            "mov qword ptr [rsp + 8], rsi",
            "mov qword ptr [rsp + 16], rdx",
            "mov qword ptr [rsp + 24], rcx",
            "mov qword ptr [rsp + 32], r8",
            "mov qword ptr [rsp + 40], r9",
            "mov dword ptr [rsp + 48], {gp_offset}",
            "mov dword ptr [rsp + 52], 176",
            "lea rax, [rbp + 16]",
            "mov qword ptr [rsp + 56], rax",
            "mov qword ptr [rsp + 64], rsp",
            concat!("lea ", $crate::__kprintf_sysv_va_reg!($($arg),+), ", [rsp + 48]"),
            "call {target}",
            "leave",
            ".cfi_def_cfa rsp, 8",
            "ret",
            ".cfi_endproc",
            concat!(".size ", stringify!($name), ", . - ", stringify!($name)),
            gp_offset = const 8 * $crate::__kprintf_count!($($arg),+),
            target = sym $target,
        );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win64_frames_keep_the_call_aligned_and_hold_stack_arguments() {
        for fixed in 1..=5 {
            let frame = win64_frame_size(fixed);
            // RSP is 8 mod 16 on entry; after `sub rsp, frame` it must be 0 mod 16.
            assert_eq!((frame + 8) % 16, 0, "fixed = {fixed}");
            // Shadow space plus every argument past the fourth.
            assert!(
                frame >= 32 + 8 * (fixed + 1).saturating_sub(4),
                "fixed = {fixed}"
            );
        }
        assert_eq!([1, 2, 3, 4, 5].map(win64_frame_size), [40, 40, 40, 40, 56]);
    }

    #[test]
    fn win64_va_points_at_the_first_variadic_home_slot() {
        // DebugPrintf(Interface, Format, ...): first variadic argument is the third slot above
        // the return address: entry_rsp + 8 + 16.
        assert_eq!(win64_va_offset(2), 40 + 8 + 16);
        // StorePrintf has 5 fixed arguments: entry_rsp + 8 + 40.
        assert_eq!(win64_va_offset(5), 56 + 8 + 40);
        // EvtchnOpen has 4.
        assert_eq!(win64_va_offset(4), 40 + 8 + 32);
    }
}
