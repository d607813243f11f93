// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The C-variadic entry thunks, end to end.
//!
//! StorePrintf (5 fixed arguments), DebugPrintf (2) and EvtchnOpen (4) are each defined twice,
//! with the System V thunk and with the Windows x64 thunk (built for this host with CFI in place
//! of SEH; Rust and GCC can both make `ms_abi` variadic calls on Linux, so the Windows
//! instructions really run here). They are called:
//! * from Rust (rustc generates the variadic calls), and
//! * from a C program compiled at test time with the `cc` crate and loaded with `dlopen`, which
//!   calls every thunk through both calling conventions with many argument mixes (every integer
//!   width, strings, NULL, pointers, `*`, more arguments than registers) and also hands a real
//!   C `va_list` to [`SysVVaList`].

#![cfg(all(unix, target_arch = "x86_64"))]
#![allow(
    clippy::unwrap_used,
    clippy::missing_safety_doc,
    clippy::doc_markdown,
    clippy::cast_possible_truncation
)]

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::{Path, PathBuf};

use kprintf::{
    Arg, ArgSource, BufSink, FormatError, RawSysVVaList, RawWin64VaList, SliceArgs, SysVVaList,
    Win64VaList, format,
};

const STATUS_SUCCESS: i32 = 0;
#[allow(clippy::cast_possible_wrap)]
const STATUS_INVALID_PARAMETER: i32 = 0xC000_000D_u32 as i32;
#[allow(clippy::cast_possible_wrap)]
const STATUS_INVALID_BUFFER_SIZE: i32 = 0xC000_0206_u32 as i32;

thread_local! {
    /// What the last method call recorded.
    static LAST: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn set_last(bytes: &[u8]) {
    LAST.with(|l| *l.borrow_mut() = bytes.to_vec());
}

fn last() -> String {
    LAST.with(|l| String::from_utf8_lossy(&l.borrow()).into_owned())
}

/// The C string at `p` (NULL allowed) as bytes.
unsafe fn opt_cstr<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: callers pass NULL or a NUL-terminated string.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// StorePrintf's body: format (at most 1023 characters, as upstream) and record
/// `Interface|Transaction|Prefix|Node|value`.
unsafe fn store_printf_body(
    iface: *mut c_void,
    txn: *mut c_void,
    prefix: *const c_char,
    node: *const c_char,
    fmt: *const c_char,
    args: &mut dyn ArgSource<'_>,
) -> i32 {
    let mut value = [0u8; 1023];
    let mut sink = BufSink::new(&mut value);
    // SAFETY: the caller passes a NUL-terminated format.
    let fmt = unsafe { CStr::from_ptr(fmt) }.to_bytes();
    match format(fmt, args, &mut sink) {
        Ok(_) => {}
        Err(FormatError::Overflow) => return STATUS_INVALID_BUFFER_SIZE,
        Err(_) => return STATUS_INVALID_PARAMETER,
    }
    let mut record = vec![0u8; 2048];
    let head = [
        Arg::from(iface.cast_const()),
        Arg::from(txn.cast_const()),
        // SAFETY: NULL or a C string.
        Arg::Str(unsafe { opt_cstr(prefix) }),
        // SAFETY: a C string.
        Arg::Str(unsafe { opt_cstr(node) }),
        Arg::Str(Some(sink.as_bytes())),
    ];
    let n = kprintf::format_to_buf(&mut record, b"%p|%p|%s|%s|%s", &mut SliceArgs::new(&head))
        .unwrap()
        .len();
    set_last(&record[..n]);
    STATUS_SUCCESS
}

/// DebugPrintf's body: record the formatted text (or the error).
unsafe fn debug_printf_body(fmt: *const c_char, args: &mut dyn ArgSource<'_>) {
    let mut out = [0u8; 1024];
    let mut sink = BufSink::new(&mut out);
    // SAFETY: the caller passes a NUL-terminated format.
    let fmt = unsafe { CStr::from_ptr(fmt) }.to_bytes();
    match format(fmt, args, &mut sink) {
        Ok(_) => set_last(sink.as_bytes()),
        Err(e) => set_last(format!("error: {e}").as_bytes()),
    }
}

/// EvtchnOpen's body: decode the per-type extra arguments (spec §1.3) and record them. The
/// interface pointer points at the interface version here.
unsafe fn evtchn_open_body(
    iface: *mut c_void,
    kind: c_int,
    function: *mut c_void,
    argument: *mut c_void,
    va: &mut dyn ArgSource<'_>,
) -> *mut c_void {
    // SAFETY: the test callers pass a pointer to a u32 version.
    let version = unsafe { iface.cast::<u32>().read() };
    let mut word = || va.next_word().unwrap();
    let text = match kind {
        1 => format!("FIXED port={} mask={}", word() as u32, word() as u8),
        2 => format!("UNBOUND domain={} mask={}", word() as u16, word() as u8),
        3 => format!(
            "INTER_DOMAIN domain={} port={} mask={}",
            word() as u16,
            word() as u32,
            word() as u8
        ),
        4 if version >= 9 => format!(
            "VIRQ index={} group={} number={}",
            word() as u32,
            word() as u16,
            word() as u8
        ),
        4 => format!("VIRQ index={}", word() as u32),
        _ => return std::ptr::null_mut(),
    };
    set_last(format!("{text} fn={function:p}").as_bytes());
    argument
}

// ---- System V entry points -------------------------------------------------------------------

unsafe extern "sysv64" fn store_printf_sysv(
    iface: *mut c_void,
    txn: *mut c_void,
    prefix: *const c_char,
    node: *const c_char,
    fmt: *const c_char,
    va: RawSysVVaList,
) -> i32 {
    // SAFETY: the thunk hands over the caller's va_list; the caller matches the format.
    let mut args = unsafe { SysVVaList::new(va) };
    // SAFETY: as above.
    unsafe { store_printf_body(iface, txn, prefix, node, fmt, &mut args) }
}

unsafe extern "sysv64" fn debug_printf_sysv(
    _iface: *mut c_void,
    fmt: *const c_char,
    va: RawSysVVaList,
) {
    // SAFETY: the thunk hands over the caller's va_list; the caller matches the format.
    let mut args = unsafe { SysVVaList::new(va) };
    // SAFETY: as above.
    unsafe { debug_printf_body(fmt, &mut args) }
}

unsafe extern "sysv64" fn evtchn_open_sysv(
    iface: *mut c_void,
    kind: c_int,
    function: *mut c_void,
    argument: *mut c_void,
    va: RawSysVVaList,
) -> *mut c_void {
    // SAFETY: the thunk hands over the caller's va_list; the caller passes the type's extras.
    let mut args = unsafe { SysVVaList::with_limit(va, 3) };
    // SAFETY: as above.
    unsafe { evtchn_open_body(iface, kind, function, argument, &mut args) }
}

kprintf::sysv64_variadic_thunk! {
    fn kprintf_test_sysv_store_printf(*mut c_void, *mut c_void, *const c_char, *const c_char,
        *const c_char, ...) -> i32 => store_printf_sysv;
}
kprintf::sysv64_variadic_thunk! {
    fn kprintf_test_sysv_debug_printf(*mut c_void, *const c_char, ...) -> () => debug_printf_sysv;
}
kprintf::sysv64_variadic_thunk! {
    fn kprintf_test_sysv_evtchn_open(*mut c_void, c_int, *mut c_void, *mut c_void, ...)
        -> *mut c_void => evtchn_open_sysv;
}

// ---- Windows x64 entry points ----------------------------------------------------------------

unsafe extern "win64" fn store_printf_win(
    iface: *mut c_void,
    txn: *mut c_void,
    prefix: *const c_char,
    node: *const c_char,
    fmt: *const c_char,
    va: RawWin64VaList,
) -> i32 {
    // SAFETY: the thunk hands over the caller's va_list; the caller matches the format.
    let mut args = unsafe { Win64VaList::new(va) };
    // SAFETY: as above.
    unsafe { store_printf_body(iface, txn, prefix, node, fmt, &mut args) }
}

unsafe extern "win64" fn debug_printf_win(
    _iface: *mut c_void,
    fmt: *const c_char,
    va: RawWin64VaList,
) {
    // SAFETY: the thunk hands over the caller's va_list; the caller matches the format.
    let mut args = unsafe { Win64VaList::new(va) };
    // SAFETY: as above.
    unsafe { debug_printf_body(fmt, &mut args) }
}

unsafe extern "win64" fn evtchn_open_win(
    iface: *mut c_void,
    kind: c_int,
    function: *mut c_void,
    argument: *mut c_void,
    va: RawWin64VaList,
) -> *mut c_void {
    // SAFETY: the thunk hands over the caller's va_list; the caller passes the type's extras.
    let mut args = unsafe { Win64VaList::with_limit(va, 3) };
    // SAFETY: as above.
    unsafe { evtchn_open_body(iface, kind, function, argument, &mut args) }
}

kprintf::win64_variadic_thunk! {
    fn kprintf_test_win_store_printf(*mut c_void, *mut c_void, *const c_char, *const c_char,
        *const c_char, ...) -> i32 => store_printf_win;
}
kprintf::win64_variadic_thunk! {
    fn kprintf_test_win_debug_printf(*mut c_void, *const c_char, ...) -> () => debug_printf_win;
}
kprintf::win64_variadic_thunk! {
    fn kprintf_test_win_evtchn_open(*mut c_void, c_int, *mut c_void, *mut c_void, ...)
        -> *mut c_void => evtchn_open_win;
}

// Arities 1 and 3, so every arm of both thunk macros is assembled and run.
unsafe extern "sysv64" fn sum_sysv1(count: u32, va: RawSysVVaList) -> u64 {
    // SAFETY: the caller passes `count` integer arguments.
    let mut args = unsafe { SysVVaList::with_limit(va, count as usize) };
    (0..count).map(|_| args.next_word().unwrap()).sum()
}
unsafe extern "sysv64" fn sum_sysv3(a: u64, b: u64, count: u32, va: RawSysVVaList) -> u64 {
    // SAFETY: the caller passes `count` integer arguments.
    let mut args = unsafe { SysVVaList::with_limit(va, count as usize) };
    a * 1000 + b * 100 + (0..count).map(|_| args.next_word().unwrap()).sum::<u64>()
}
unsafe extern "win64" fn sum_win1(count: u32, va: RawWin64VaList) -> u64 {
    // SAFETY: the caller passes `count` integer arguments.
    let mut args = unsafe { Win64VaList::with_limit(va, count as usize) };
    (0..count).map(|_| args.next_word().unwrap()).sum()
}
unsafe extern "win64" fn sum_win3(a: u64, b: u64, count: u32, va: RawWin64VaList) -> u64 {
    // SAFETY: the caller passes `count` integer arguments.
    let mut args = unsafe { Win64VaList::with_limit(va, count as usize) };
    a * 1000 + b * 100 + (0..count).map(|_| args.next_word().unwrap()).sum::<u64>()
}
kprintf::sysv64_variadic_thunk! { fn kprintf_test_sysv_sum1(u32, ...) -> u64 => sum_sysv1; }
kprintf::sysv64_variadic_thunk! { fn kprintf_test_sysv_sum3(u64, u64, u32, ...) -> u64 => sum_sysv3; }
kprintf::win64_variadic_thunk! { fn kprintf_test_win_sum1(u32, ...) -> u64 => sum_win1; }
kprintf::win64_variadic_thunk! { fn kprintf_test_win_sum3(u64, u64, u32, ...) -> u64 => sum_win3; }

/// `vformat(buf, len, fmt, va_list)`: the System V reader over a va_list built by a C compiler.
unsafe extern "C" fn vformat(
    buf: *mut c_char,
    len: usize,
    fmt: *const c_char,
    ap: RawSysVVaList,
) -> i32 {
    // SAFETY: the C caller passes a live va_list matching the format.
    let mut args = unsafe { SysVVaList::new(ap) };
    // SAFETY: the C caller passes a writable buffer of `len` bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    let Some((_, body)) = out.split_last_mut() else {
        return -1;
    };
    // SAFETY: a NUL-terminated format.
    let fmt = unsafe { CStr::from_ptr(fmt) }.to_bytes();
    let mut sink = BufSink::new(body);
    format(fmt, &mut args, &mut sink).map_or(-1, |n| {
        out[n] = 0;
        i32::try_from(n).unwrap()
    })
}

/// Copies the last record, NUL-terminated, for the C program.
unsafe extern "C" fn last_for_c(buf: *mut c_char, len: usize) -> usize {
    let last = LAST.with(|l| l.borrow().clone());
    let n = last.len().min(len.saturating_sub(1));
    // SAFETY: the C caller passes a writable buffer of `len` bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    out[..n].copy_from_slice(&last[..n]);
    out[n] = 0;
    n
}

// ---- Rust callers ------------------------------------------------------------------------------

/// Calls a thunk. Every call site in this file passes C strings and arguments that match the
/// format (or the count) it gives, as the C variadic contract requires.
macro_rules! call {
    ($f:ident($($a:expr),* $(,)?)) => {{
        // SAFETY: see the macro's documentation; each call site upholds it.
        unsafe { $f($($a),*) }
    }};
}

#[test]
#[allow(clippy::many_single_char_names)] // Short names keep the long calls readable.
fn rust_calls_store_printf_through_both_abis() {
    let iface = std::ptr::without_provenance_mut::<c_void>(0x1122_3344_5566_7788);
    let txn = std::ptr::null_mut::<c_void>();
    let (p, n, f) = (
        c"device/vbd/768".as_ptr(),
        c"sector-size".as_ptr(),
        c"%u".as_ptr(),
    );
    let want = "1122334455667788|0000000000000000|device/vbd/768|sector-size|512";
    assert_eq!(
        call!(kprintf_test_sysv_store_printf(iface, txn, p, n, f, 512u32)),
        0
    );
    assert_eq!(last(), want);
    assert_eq!(
        call!(kprintf_test_win_store_printf(iface, txn, p, n, f, 512u32)),
        0
    );
    assert_eq!(last(), want);

    // Twelve variadic arguments: far more than the registers left after 5 fixed ones.
    let f = c"%d %u %lu %llu %I64x %s %p %c %hd %hhu %x %s".as_ptr();
    let (s, ptr, nul) = (
        c"vif".as_ptr(),
        std::ptr::without_provenance::<c_void>(0xffff_8000_0000_1000),
        std::ptr::null::<c_char>(),
    );
    let node = c"node".as_ptr();
    let no_prefix = std::ptr::null();
    let want = "1122334455667788|0000000000000000|(null)|node|-7 4000000000 5 \
                18446744073709551615 feedf00d vif FFFF800000001000 Z -2 255 abc (null)";
    let z = c_int::from(b'Z');
    // %lu is 32 bits: 0x1_0000_0005 prints 5.
    let status = call!(kprintf_test_sysv_store_printf(
        iface,
        txn,
        no_prefix,
        node,
        f,
        -7i32,
        4_000_000_000u32,
        0x1_0000_0005u64,
        u64::MAX,
        0xfeed_f00du64,
        s,
        ptr,
        z,
        -2i32,
        0x1ffu32,
        0xabcu32,
        nul
    ));
    assert_eq!((status, last()), (STATUS_SUCCESS, want.to_owned()));
    let status = call!(kprintf_test_win_store_printf(
        iface,
        txn,
        no_prefix,
        node,
        f,
        -7i32,
        4_000_000_000u32,
        0x1_0000_0005u64,
        u64::MAX,
        0xfeed_f00du64,
        s,
        ptr,
        z,
        -2i32,
        0x1ffu32,
        0xabcu32,
        nul
    ));
    assert_eq!((status, last()), (STATUS_SUCCESS, want.to_owned()));
}

#[test]
fn rust_calls_debug_printf_and_evtchn_open_through_both_abis() {
    let mut v9 = 9u32;
    let mut v8 = 8u32;
    let iface9 = (&raw mut v9).cast::<c_void>();
    let iface8 = (&raw mut v8).cast::<c_void>();
    let function = std::ptr::without_provenance_mut::<c_void>(0x4000);
    let argument = std::ptr::without_provenance_mut::<c_void>(0x5000);

    let f = c"%s: %u %p %I64x %d %d %d %d %d %d".as_ptr();
    let (s, p) = (
        c"XENVIF".as_ptr(),
        std::ptr::without_provenance::<c_void>(0xdead_0000),
    );
    let want = "XENVIF: 7 00000000DEAD0000 feed 1 2 3 4 5 6";
    call!(kprintf_test_sysv_debug_printf(
        iface9, f, s, 7u32, p, 0xfeedu64, 1, 2, 3, 4, 5, 6
    ));
    assert_eq!(last(), want);
    call!(kprintf_test_win_debug_printf(
        iface9, f, s, 7u32, p, 0xfeedu64, 1, 2, 3, 4, 5, 6
    ));
    assert_eq!(last(), want);

    let cases: [(*mut c_void, c_int, [u64; 3], Option<&str>); 4] = [
        (
            iface9,
            3,
            [0, 17, 1],
            Some("INTER_DOMAIN domain=0 port=17 mask=1 fn=0x4000"),
        ),
        (
            iface9,
            4,
            [1, 0, 3],
            Some("VIRQ index=1 group=0 number=3 fn=0x4000"),
        ),
        (
            iface8,
            4,
            [1, 0xdead, 0xbeef],
            Some("VIRQ index=1 fn=0x4000"),
        ),
        (iface9, 7, [0, 0, 0], None),
    ];
    for (iface, kind, [a, b, c], want) in cases {
        let expected = if want.is_some() {
            argument
        } else {
            std::ptr::null_mut()
        };
        let r = call!(kprintf_test_sysv_evtchn_open(
            iface, kind, function, argument, a, b, c
        ));
        assert_eq!(r, expected);
        if let Some(want) = want {
            assert_eq!(last(), want);
        }
        let r = call!(kprintf_test_win_evtchn_open(
            iface, kind, function, argument, a, b, c
        ));
        assert_eq!(r, expected);
        if let Some(want) = want {
            assert_eq!(last(), want);
        }
    }
}

#[test]
fn every_thunk_arity_passes_fixed_and_variadic_arguments() {
    assert_eq!(call!(kprintf_test_sysv_sum1(0)), 0);
    assert_eq!(call!(kprintf_test_sysv_sum1(3, 1u64, 2u64, 3u64)), 6);
    assert_eq!(
        call!(kprintf_test_sysv_sum1(
            9, 1u64, 2u64, 3u64, 4u64, 5u64, 6u64, 7u64, 8u64, 9u64
        )),
        45
    );
    assert_eq!(call!(kprintf_test_sysv_sum3(4, 5, 2, 10u64, 20u64)), 4530);
    assert_eq!(
        call!(kprintf_test_sysv_sum3(
            4, 5, 6, 1u64, 2u64, 3u64, 4u64, 5u64, 6u64
        )),
        4521
    );
    assert_eq!(call!(kprintf_test_win_sum1(0)), 0);
    assert_eq!(call!(kprintf_test_win_sum1(3, 1u64, 2u64, 3u64)), 6);
    assert_eq!(
        call!(kprintf_test_win_sum1(
            9, 1u64, 2u64, 3u64, 4u64, 5u64, 6u64, 7u64, 8u64, 9u64
        )),
        45
    );
    assert_eq!(call!(kprintf_test_win_sum3(4, 5, 1, 10u64)), 4510);
    assert_eq!(
        call!(kprintf_test_win_sum3(
            4, 5, 6, 1u64, 2u64, 3u64, 4u64, 5u64, 6u64
        )),
        4521
    );
}

#[test]
fn bad_formats_through_the_thunks_fail_cleanly() {
    let i = std::ptr::null_mut::<c_void>();
    let (p, n, y) = (std::ptr::null(), c"x".as_ptr(), c"y".as_ptr());
    // A bad format reads no argument at all, so these calls are sound even past the arguments.
    let bad = c"%d %y".as_ptr();
    assert_eq!(
        call!(kprintf_test_sysv_store_printf(i, i, p, n, bad, 1)),
        STATUS_INVALID_PARAMETER
    );
    let bad = c"%d %".as_ptr();
    assert_eq!(
        call!(kprintf_test_win_store_printf(i, i, p, n, bad, 1)),
        STATUS_INVALID_PARAMETER
    );
    let long = c"%1100s".as_ptr();
    assert_eq!(
        call!(kprintf_test_win_store_printf(i, i, p, n, long, y)),
        STATUS_INVALID_BUFFER_SIZE
    );
    let limit = c"%1023s".as_ptr();
    assert_eq!(
        call!(kprintf_test_sysv_store_printf(i, i, p, n, limit, y)),
        STATUS_SUCCESS
    );
    assert_eq!(last().len(), 16 + 1 + 16 + 1 + 6 + 1 + 1 + 1 + 1023);
}

// ---- The C program -----------------------------------------------------------------------------

type StorePrintfC = unsafe extern "C" fn(
    *mut c_void,
    *mut c_void,
    *const c_char,
    *const c_char,
    *const c_char,
    ...
) -> i32;
type DebugPrintfC = unsafe extern "C" fn(*mut c_void, *const c_char, ...);
type EvtchnOpenC =
    unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, *mut c_void, ...) -> *mut c_void;
type StorePrintfW = unsafe extern "win64" fn(
    *mut c_void,
    *mut c_void,
    *const c_char,
    *const c_char,
    *const c_char,
    ...
) -> i32;
type DebugPrintfW = unsafe extern "win64" fn(*mut c_void, *const c_char, ...);
type EvtchnOpenW =
    unsafe extern "win64" fn(*mut c_void, c_int, *mut c_void, *mut c_void, ...) -> *mut c_void;

/// Mirrors `struct kp_callbacks` in tests/c/variadic_callers.c.
#[repr(C)]
struct Callbacks {
    sysv_store_printf: StorePrintfC,
    sysv_debug_printf: DebugPrintfC,
    sysv_evtchn_open: EvtchnOpenC,
    win_store_printf: StorePrintfW,
    win_debug_printf: DebugPrintfW,
    win_evtchn_open: EvtchnOpenW,
    vformat: unsafe extern "C" fn(*mut c_char, usize, *const c_char, RawSysVVaList) -> i32,
    last: unsafe extern "C" fn(*mut c_char, usize) -> usize,
}

type RunCTests = unsafe extern "C" fn(*const Callbacks, *mut c_char, usize, *mut c_int) -> c_int;

unsafe extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}

const RTLD_NOW: c_int = 2;

/// Compiles tests/c/variadic_callers.c into a shared library with the `cc` crate's compiler.
fn build_c_program() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/variadic_callers.c");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kprintf-c");
    std::fs::create_dir_all(&out_dir).unwrap();
    let lib = out_dir.join("libkprintf_variadic_callers.so");
    xen_abi_check::c_program::build(&xen_abi_check::c_program::CProgram {
        source: &src,
        output: &lib,
        includes: &[],
        link: None,
        shared: true,
        opt_level: 2,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    lib
}

#[test]
fn c_program_calls_the_thunks_with_many_argument_mixes() {
    let lib = build_c_program();
    let path = std::ffi::CString::new(lib.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; the library has no constructors.
    let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        // SAFETY: dlerror has no preconditions.
        let err = unsafe { dlerror() };
        // SAFETY: after a failure dlerror returns a NUL-terminated message.
        panic!("dlopen: {:?}", unsafe { CStr::from_ptr(err) });
    }
    // SAFETY: a live handle and a C string.
    let sym = unsafe { dlsym(handle, c"kp_run_c_tests".as_ptr()) };
    assert!(!sym.is_null());
    // SAFETY: the C program defines `kp_run_c_tests` with this signature.
    let run = unsafe { std::mem::transmute::<*mut c_void, RunCTests>(sym) };
    let callbacks = Callbacks {
        sysv_store_printf: kprintf_test_sysv_store_printf,
        sysv_debug_printf: kprintf_test_sysv_debug_printf,
        sysv_evtchn_open: kprintf_test_sysv_evtchn_open,
        win_store_printf: kprintf_test_win_store_printf,
        win_debug_printf: kprintf_test_win_debug_printf,
        win_evtchn_open: kprintf_test_win_evtchn_open,
        vformat,
        last: last_for_c,
    };
    let mut report = vec![0u8; 16384];
    let mut passed: c_int = 0;
    let (buf, len) = (report.as_mut_ptr().cast(), report.len());
    // SAFETY: the callbacks outlive the call; the report buffer is writable.
    let failed = unsafe { run(&raw const callbacks, buf, len, &raw mut passed) };
    let report = CStr::from_bytes_until_nul(&report)
        .unwrap()
        .to_string_lossy();
    println!("c variadic callers: {passed} passed, {failed} failed");
    assert_eq!(failed, 0, "{report}");
    assert!(passed >= 60, "only {passed} checks ran");
}
