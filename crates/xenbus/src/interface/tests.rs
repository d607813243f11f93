// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Query-protocol and method tests (the C program in crates/xenbus-host covers the methods end
//! to end over the subsystems).

// Tables are filled into plain byte buffers on purpose: the provider must not rely on the
// caller's alignment.
#![allow(clippy::cast_ptr_alignment)]

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void};
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex as StdMutex;

use kprintf::{Arg, ArgSource, SliceArgs};
use ntstatus::{
    STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED, STATUS_SUCCESS, STATUS_UNSUCCESSFUL,
};
use platform_port::std_impl::StdPlatform;
use xenbus_interface as xi;
use xenbus_interface::InterfaceVersion;

use super::evtchn::{OpenRequest, decode_open};
use super::store::{StoreApi, StoreContext};
use super::*;
use crate::store::{StoreBuffer, StoreError, Transaction, Watch, WatchEvent};

unsafe fn no_event(_: *mut c_void) {}

/// Calls a method of a table the provider filled.
macro_rules! call {
    ($call:expr) => {{
        // SAFETY: every call in these tests goes to a table the provider filled, with live
        // out-parameters and variadic arguments that match the method's contract.
        unsafe { $call }
    }};
}

/// The checking platform the contexts' locks raise through (two processors).
fn irql() -> SharedIrql {
    Arc::new(StdPlatform::new(2))
}

fn provider_with(store: Option<Arc<dyn StoreApi>>, range_hooks: Hooks) -> Provider {
    provider_on(&irql(), store, range_hooks)
}

fn provider_on(
    irql: &SharedIrql,
    store: Option<Arc<dyn StoreApi>>,
    range_hooks: Hooks,
) -> Provider {
    Provider {
        suspend: Box::new(suspend::SuspendContext::new(irql, None)),
        shared_info: Box::new(shared_info::SharedInfoContext::new(irql, None)),
        evtchn: Box::new(evtchn::EvtchnContext::new(irql, None)),
        debug: Box::new(debug::DebugContext::new(irql, None)),
        store: Box::new(StoreContext::new(irql, store, no_event)),
        range_set: Box::new(range_set::RangeSetContext::new(irql, range_hooks)),
        cache: Box::new(cache::CacheContext::new(irql, None)),
        gnttab: Box::new(gnttab::GnttabContext::new(irql, None)),
        unplug: Box::new(unplug::UnplugContext::new(irql, None)),
        console: Box::new(console::ConsoleContext::new(irql, None)),
    }
}

fn provider() -> Provider {
    provider_with(None, Hooks::none())
}

/// Every served interface: GUID and the size of each version MIN..=MAX.
fn served() -> Vec<(Guid, u16, Vec<u16>)> {
    vec![
        (
            xi::suspend::GUID_XENBUS_SUSPEND_INTERFACE,
            1,
            vec![xi::suspend::XenbusSuspendInterfaceV1::SIZE],
        ),
        (
            xi::shared_info::GUID_XENBUS_SHARED_INFO_INTERFACE,
            2,
            vec![
                xi::shared_info::XenbusSharedInfoInterfaceV2::SIZE,
                xi::shared_info::XenbusSharedInfoInterfaceV3::SIZE,
                xi::shared_info::XenbusSharedInfoInterfaceV4::SIZE,
            ],
        ),
        (
            xi::evtchn::GUID_XENBUS_EVTCHN_INTERFACE,
            5,
            vec![
                xi::evtchn::XenbusEvtchnInterfaceV5::SIZE,
                xi::evtchn::XenbusEvtchnInterfaceV6::SIZE,
                xi::evtchn::XenbusEvtchnInterfaceV7::SIZE,
                xi::evtchn::XenbusEvtchnInterfaceV8::SIZE,
                xi::evtchn::XenbusEvtchnInterfaceV9::SIZE,
            ],
        ),
        (
            xi::debug::GUID_XENBUS_DEBUG_INTERFACE,
            1,
            vec![xi::debug::XenbusDebugInterfaceV1::SIZE],
        ),
        (
            xi::store::GUID_XENBUS_STORE_INTERFACE,
            2,
            vec![xi::store::XenbusStoreInterfaceV2::SIZE],
        ),
        (
            xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE,
            1,
            vec![xi::range_set::XenbusRangeSetInterfaceV1::SIZE],
        ),
        (
            xi::cache::GUID_XENBUS_CACHE_INTERFACE,
            1,
            vec![
                xi::cache::XenbusCacheInterfaceV1::SIZE,
                xi::cache::XenbusCacheInterfaceV2::SIZE,
            ],
        ),
        (
            xi::gnttab::GUID_XENBUS_GNTTAB_INTERFACE,
            2,
            vec![
                xi::gnttab::XenbusGnttabInterfaceV2::SIZE,
                xi::gnttab::XenbusGnttabInterfaceV3::SIZE,
                xi::gnttab::XenbusGnttabInterfaceV4::SIZE,
            ],
        ),
        (
            xi::unplug::GUID_XENBUS_UNPLUG_INTERFACE,
            1,
            vec![
                xi::unplug::XenbusUnplugInterfaceV1::SIZE,
                xi::unplug::XenbusUnplugInterfaceV2::SIZE,
                xi::unplug::XenbusUnplugInterfaceV3::SIZE,
            ],
        ),
        (
            xi::console::GUID_XENBUS_CONSOLE_INTERFACE,
            1,
            vec![xi::console::XenbusConsoleInterfaceV1::SIZE],
        ),
    ]
}

fn query(p: &Provider, guid: &Guid, version: u16, buffer: &mut [u8]) -> QueryOutcome {
    let size = u16::try_from(buffer.len()).unwrap();
    // SAFETY: `buffer` is writable for `size` bytes.
    unsafe {
        p.query_interface(
            guid,
            version,
            size,
            buffer.as_mut_ptr().cast(),
            STATUS_NOT_SUPPORTED,
        )
    }
}

fn header_of(buffer: &[u8]) -> InterfaceHeader {
    // SAFETY: the buffer holds at least a header; unaligned read.
    unsafe { buffer.as_ptr().cast::<InterfaceHeader>().read_unaligned() }
}

#[test]
fn every_version_fills_its_exact_table_with_null_reference_callbacks() {
    let p = provider();
    for (guid, min, sizes) in served() {
        for (version, size) in (min..).zip(sizes) {
            let mut buffer = vec![0xA5u8; 512];
            assert_eq!(
                query(&p, &guid, version, &mut buffer),
                QueryOutcome::Complete(STATUS_SUCCESS),
                "{guid} v{version}"
            );
            let header = header_of(&buffer);
            assert_eq!(header.size, size, "{guid} v{version}");
            assert_eq!(header.version, version, "{guid} v{version}");
            assert!(!header.context.is_null(), "{guid} v{version}");
            assert!(header.interface_reference.is_none());
            assert!(header.interface_dereference.is_none());
            // Every method slot is filled; nothing past the table is touched.
            let end = usize::from(size);
            for slot in buffer[32..end].chunks(8) {
                assert_ne!(slot, [0u8; 8], "{guid} v{version}: empty slot");
            }
            assert!(
                buffer[end..].iter().all(|&b| b == 0xA5),
                "{guid} v{version}"
            );
        }
    }
}

#[test]
fn versions_outside_min_max_are_not_supported() {
    let p = provider();
    for (guid, min, sizes) in served() {
        let max = min + u16::try_from(sizes.len()).unwrap() - 1;
        for version in [0, min - 1, max + 1, u16::MAX] {
            if (min..=max).contains(&version) {
                continue;
            }
            let mut buffer = vec![0u8; 512];
            assert_eq!(
                query(&p, &guid, version, &mut buffer),
                QueryOutcome::Complete(STATUS_NOT_SUPPORTED),
                "{guid} v{version}"
            );
            assert!(buffer.iter().all(|&b| b == 0), "{guid} v{version} wrote");
        }
    }
}

#[test]
fn a_buffer_one_byte_short_is_buffer_overflow_and_untouched() {
    let p = provider();
    for (guid, min, sizes) in served() {
        for (version, size) in (min..).zip(sizes) {
            let mut buffer = vec![0u8; usize::from(size) - 1];
            assert_eq!(
                query(&p, &guid, version, &mut buffer),
                QueryOutcome::Complete(STATUS_BUFFER_OVERFLOW),
                "{guid} v{version}"
            );
            assert!(buffer.iter().all(|&b| b == 0));
        }
    }
}

#[test]
fn only_an_irp_still_at_not_supported_is_answered() {
    let p = provider();
    let mut buffer = vec![0u8; 512];
    let guid = xi::store::GUID_XENBUS_STORE_INTERFACE;
    for current in [STATUS_SUCCESS, STATUS_UNSUCCESSFUL, STATUS_BUFFER_OVERFLOW] {
        // SAFETY: `buffer` is writable for its length.
        let outcome =
            unsafe { p.query_interface(&guid, 2, 512, buffer.as_mut_ptr().cast(), current) };
        assert_eq!(outcome, QueryOutcome::Complete(current));
        assert!(buffer.iter().all(|&b| b == 0));
    }
}

#[test]
fn an_unknown_guid_keeps_the_incoming_status() {
    let p = provider();
    let mut buffer = vec![0u8; 512];
    let guid = Guid::from_groups(1, 2, 3, 4, 5);
    assert_eq!(
        query(&p, &guid, 1, &mut buffer),
        QueryOutcome::Complete(STATUS_NOT_SUPPORTED)
    );
    // BALLOON is internal: not offered to children.
    assert_eq!(
        query(
            &p,
            &xi::balloon::GUID_XENBUS_BALLOON_INTERFACE,
            1,
            &mut buffer
        ),
        QueryOutcome::Complete(STATUS_NOT_SUPPORTED)
    );
}

#[test]
fn bus_interface_standard_is_version_1_and_too_small_below_64_bytes() {
    let p = provider();
    let mut small = vec![0u8; 63];
    let mut fits = vec![0u8; 64];
    assert_eq!(
        query(&p, &GUID_BUS_INTERFACE_STANDARD, 2, &mut fits),
        QueryOutcome::Complete(STATUS_NOT_SUPPORTED)
    );
    assert_eq!(
        query(&p, &GUID_BUS_INTERFACE_STANDARD, 1, &mut small),
        QueryOutcome::Complete(STATUS_BUFFER_TOO_SMALL)
    );
    assert_eq!(
        query(&p, &GUID_BUS_INTERFACE_STANDARD, 1, &mut fits),
        QueryOutcome::BusInterface
    );
}

#[test]
fn emulated_queries_are_delegated_to_the_fdo_stack() {
    let p = provider();
    let mut buffer = vec![0u8; 64];
    assert_eq!(
        query(
            &p,
            &xi::emulated::GUID_XENFILT_EMULATED_INTERFACE,
            3,
            &mut buffer
        ),
        QueryOutcome::DelegateToFdo
    );
}

fn range_set_table(p: &Provider) -> xi::range_set::XenbusRangeSetInterfaceV1 {
    let mut table = core::mem::MaybeUninit::<xi::range_set::XenbusRangeSetInterfaceV1>::uninit();
    let size = xi::range_set::XenbusRangeSetInterfaceV1::SIZE;
    // SAFETY: the table is writable for its size.
    let outcome = unsafe {
        p.query_interface(
            &xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE,
            1,
            size,
            table.as_mut_ptr().cast(),
            STATUS_NOT_SUPPORTED,
        )
    };
    assert_eq!(outcome, QueryOutcome::Complete(STATUS_SUCCESS));
    // SAFETY: filled by a successful query.
    unsafe { table.assume_init() }
}

#[test]
fn range_set_methods_work_through_the_table_and_release_tears_down_once() {
    let first = Arc::new(AtomicU32::new(0));
    let last = Arc::new(AtomicU32::new(0));
    let (on_first, on_last) = (Arc::clone(&first), Arc::clone(&last));
    let p = provider_with(
        None,
        Hooks::new(
            move || {
                on_first.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
            move || {
                on_last.fetch_add(1, Ordering::SeqCst);
            },
        ),
    );
    let mut t = range_set_table(&p);
    let i = core::ptr::from_mut(&mut t.interface);
    assert_eq!(call!((t.range_set_acquire)(i)), STATUS_SUCCESS);
    assert_eq!(call!((t.range_set_acquire)(i)), STATUS_SUCCESS);
    assert_eq!(first.load(Ordering::SeqCst), 1);
    let mut set: *mut c_void = core::ptr::null_mut();
    assert_eq!(
        call!((t.range_set_create)(i, c"test".as_ptr(), &raw mut set)),
        STATUS_SUCCESS
    );
    assert_eq!(call!((t.range_set_put)(i, set, 10, 5)), STATUS_SUCCESS);
    assert_eq!(
        call!((t.range_set_put)(i, set, 12, 1)),
        STATUS_INVALID_PARAMETER
    );
    let mut start = 0i64;
    assert_eq!(
        call!((t.range_set_pop)(i, set, 2, &raw mut start)),
        STATUS_SUCCESS
    );
    assert_eq!(start, 10);
    assert_eq!(call!((t.range_set_get)(i, set, 13, 2)), STATUS_SUCCESS);
    assert_eq!(
        call!((t.range_set_pop)(i, set, 2, &raw mut start)),
        STATUS_INSUFFICIENT_RESOURCES
    );
    assert_eq!(p.range_set.outstanding(), 1);
    call!((t.range_set_destroy)(i, set));
    assert_eq!(p.range_set.outstanding(), 0);
    // A destroyed handle is refused, not dereferenced.
    assert_eq!(
        call!((t.range_set_put)(i, set, 1, 1)),
        STATUS_INVALID_PARAMETER
    );
    call!((t.range_set_release)(i));
    assert_eq!(last.load(Ordering::SeqCst), 0);
    call!((t.range_set_release)(i));
    assert_eq!(last.load(Ordering::SeqCst), 1);
    // An unmatched Release does not underflow or tear down twice.
    call!((t.range_set_release)(i));
    assert_eq!(last.load(Ordering::SeqCst), 1);
    assert_eq!(
        p.references(&xi::range_set::GUID_XENBUS_RANGE_SET_INTERFACE),
        Some(0)
    );
}

#[test]
fn a_failed_first_acquire_leaves_no_reference() {
    let p = provider_with(None, Hooks::new(|| Err(STATUS_UNSUCCESSFUL), || {}));
    let mut t = range_set_table(&p);
    let i = core::ptr::from_mut(&mut t.interface);
    // SAFETY: a filled table.
    unsafe {
        assert_eq!((t.range_set_acquire)(i), STATUS_UNSUCCESSFUL);
    }
    assert_eq!(p.range_set.refs.count(), 0);
}

#[test]
fn a_table_of_another_interface_or_null_is_refused() {
    let p = provider();
    let mut t = range_set_table(&p);
    // SAFETY: NULL is refused before anything is read.
    unsafe {
        assert_eq!(
            (t.range_set_acquire)(core::ptr::null_mut()),
            STATUS_INVALID_PARAMETER
        );
    }
    // A header whose context is the STORE context.
    t.interface.context = core::ptr::from_ref(&*p.store).cast_mut().cast();
    let i = core::ptr::from_mut(&mut t.interface);
    // SAFETY: the header is readable; the tag check refuses the foreign context.
    unsafe {
        assert_eq!((t.range_set_acquire)(i), STATUS_INVALID_PARAMETER);
    }
    assert_eq!(p.range_set.refs.count(), 0);
}

#[test]
fn unwired_interfaces_answer_not_supported() {
    let p = provider();
    let mut buffer = vec![0u8; 136];
    let _ = query(&p, &xi::store::GUID_XENBUS_STORE_INTERFACE, 2, &mut buffer);
    // SAFETY: filled by the query.
    let t = unsafe {
        buffer
            .as_ptr()
            .cast::<xi::store::XenbusStoreInterfaceV2>()
            .read_unaligned()
    };
    let i = buffer.as_mut_ptr().cast::<InterfaceHeader>();
    // SAFETY: a filled table.
    unsafe {
        assert_eq!((t.store_acquire)(i), STATUS_NOT_SUPPORTED);
    }
}

fn decode(kind: i32, version: u16, words: &[u64]) -> Result<OpenRequest, NtStatus> {
    let args: Vec<Arg<'_>> = words.iter().map(|&w| Arg::from(w)).collect();
    let mut source = SliceArgs::new(&args);
    decode_open(kind, version, &mut source)
}

#[test]
fn evtchn_open_arguments_are_read_as_va_arg_reads_them() {
    use xi::evtchn::*;
    let junk = 0xDEAD_BEEF_0000_0000u64;
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_FIXED, 9, &[junk | 7, junk | 1]),
        Ok(OpenRequest::Fixed {
            port: 7,
            mask: true
        })
    );
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_UNBOUND, 5, &[0xFFFF_0000 | 3, 0x100]),
        Ok(OpenRequest::Unbound {
            domain: 3,
            mask: false
        })
    );
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_INTER_DOMAIN, 8, &[4, junk | 0x63, 1]),
        Ok(OpenRequest::InterDomain {
            domain: 4,
            port: 0x63,
            mask: true
        })
    );
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_VIRQ, 8, &[1]),
        Ok(OpenRequest::Virq {
            index: 1,
            processor: None
        })
    );
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_VIRQ, 9, &[1, 0, 3]),
        Ok(OpenRequest::Virq {
            index: 1,
            processor: Some((0, 3))
        })
    );
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_VIRQ, 9, &[1]),
        Err(STATUS_INVALID_PARAMETER),
        "v9 VIRQ needs Group and Number"
    );
    assert_eq!(
        decode(XENBUS_EVTCHN_TYPE_INVALID, 9, &[]),
        Err(STATUS_INVALID_PARAMETER)
    );
    assert_eq!(decode(77, 9, &[1, 2, 3]), Err(STATUS_INVALID_PARAMETER));
}

/// One recorded write: prefix, node, formatted value.
type Written = (Option<Vec<u8>>, Vec<u8>, String);

/// A STORE stand-in recording what Printf formatted (the provider's own path: thunk, `va_list`
/// reader, context recovery; the real client is exercised by the C program).
#[derive(Default)]
struct RecordingStore {
    writes: StdMutex<Vec<Written>>,
}

impl Lifecycle for RecordingStore {
    fn acquire(&self) -> Result<(), NtStatus> {
        Ok(())
    }
    fn release(&self) {}
}

impl StoreApi for RecordingStore {
    fn read(
        &self,
        _: Option<Transaction>,
        _: Option<&[u8]>,
        _: &[u8],
    ) -> Result<StoreBuffer, StoreError> {
        Err(StoreError::PathNotFound)
    }
    fn printf(
        &self,
        _: Option<Transaction>,
        prefix: Option<&[u8]>,
        node: &[u8],
        format: &[u8],
        args: &mut dyn ArgSource<'_>,
    ) -> Result<(), StoreError> {
        let mut buf = [0u8; 256];
        let text = kprintf::format_to_buf(&mut buf, format, args)
            .map_err(|_| StoreError::InvalidParameter)?;
        self.writes.lock().unwrap().push((
            prefix.map(<[u8]>::to_vec),
            node.to_vec(),
            String::from_utf8_lossy(text).into_owned(),
        ));
        Ok(())
    }
    fn permissions_set(
        &self,
        _: Option<Transaction>,
        _: Option<&[u8]>,
        _: &[u8],
        _: &[xi::store::XenbusStorePermission],
    ) -> Result<(), StoreError> {
        Ok(())
    }
    fn remove(&self, _: Option<Transaction>, _: Option<&[u8]>, _: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
    fn directory(
        &self,
        _: Option<Transaction>,
        _: Option<&[u8]>,
        _: &[u8],
    ) -> Result<StoreBuffer, StoreError> {
        Err(StoreError::PathNotFound)
    }
    fn transaction_start(&self) -> Result<Transaction, StoreError> {
        Err(StoreError::InsufficientResources)
    }
    fn transaction_end(&self, _: Transaction, _: bool) -> Result<(), StoreError> {
        Ok(())
    }
    fn watch_add(
        &self,
        _: Option<&[u8]>,
        _: &[u8],
        _: Arc<dyn WatchEvent>,
        _: usize,
    ) -> Result<Watch, StoreError> {
        Err(StoreError::InsufficientResources)
    }
    fn watch_remove(&self, _: Watch) -> Result<(), StoreError> {
        Ok(())
    }
    fn poll(&self) {}
    fn free(&self, _: StoreBuffer) {}
}

#[test]
fn store_printf_formats_through_both_entry_thunks() {
    let recorder = Arc::new(RecordingStore::default());
    let p = provider_with(Some(recorder.clone()), Hooks::none());
    let mut buffer = vec![0u8; 136];
    let _ = query(&p, &xi::store::GUID_XENBUS_STORE_INTERFACE, 2, &mut buffer);
    let i = buffer.as_mut_ptr().cast::<InterfaceHeader>();
    let node: *mut c_char = c"node".as_ptr().cast_mut();
    let prefix: *mut c_char = c"device/vif/0".as_ptr().cast_mut();
    assert_eq!(
        call!(super::store::xenbus_store_printf_sysv(
            i,
            core::ptr::null_mut(),
            prefix,
            node,
            c"%s-%u-%08X-%lld".as_ptr(),
            c"ring".as_ptr(),
            7u32,
            0xBEEFu32,
            -5i64,
        )),
        STATUS_SUCCESS
    );
    assert_eq!(
        call!(super::store::xenbus_store_printf_win64(
            i,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            node,
            c"%d %d %d %d %d %d %p".as_ptr(),
            1i32,
            2i32,
            3i32,
            4i32,
            5i32,
            6i32,
            0x1234usize,
        )),
        STATUS_SUCCESS
    );
    // An unknown transaction handle is refused before formatting.
    assert_eq!(
        call!(super::store::xenbus_store_printf_sysv(
            i,
            core::ptr::without_provenance_mut(0x40),
            core::ptr::null_mut(),
            node,
            c"x".as_ptr(),
        )),
        STATUS_INVALID_PARAMETER
    );

    let writes = recorder.writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0].0.as_deref(), Some(&b"device/vif/0"[..]));
    assert_eq!(writes[0].1, b"node");
    assert_eq!(writes[0].2, "ring-7-0000BEEF--5");
    assert_eq!(writes[1].0, None);
    assert_eq!(writes[1].2, "1 2 3 4 5 6 0000000000001234");
}

/// An EVTCHN stand-in recording what `EvtchnOpen` decoded.
#[derive(Default)]
struct RecordingEvtchn {
    opens: StdMutex<Vec<OpenRequest>>,
}

impl Lifecycle for RecordingEvtchn {
    fn acquire(&self) -> Result<(), NtStatus> {
        Ok(())
    }
    fn release(&self) {}
}

impl evtchn::EvtchnApi for RecordingEvtchn {
    fn open(
        &self,
        request: OpenRequest,
        callback: evtchn::EvtchnCallback,
        _caller: usize,
    ) -> Result<Object, NtStatus> {
        self.opens.lock().unwrap().push(request);
        assert!(callback(), "the child's callback is reachable");
        Ok(Arc::new(request))
    }
    fn bind(&self, _: &Object, _: u16, _: u8) -> Result<(), NtStatus> {
        Ok(())
    }
    fn unmask(&self, _: &Object, _: bool, _: bool) -> bool {
        false
    }
    fn send(&self, _: &Object) {}
    fn send_version1(&self, _: &Object) {}
    fn trigger(&self, _: &Object) {}
    fn get_count(&self, _: &Object) -> u32 {
        0
    }
    fn wait(&self, _: &Object, _: u32, _: Option<i64>) -> Result<(), NtStatus> {
        Ok(())
    }
    fn get_port(&self, _: &Object) -> u32 {
        0
    }
    fn close(&self, _: Object) {}
}

unsafe extern "C" fn child_callback(_: *mut c_void, argument: *mut c_void) -> u8 {
    // SAFETY: the test passes a live AtomicU32.
    unsafe { &*argument.cast::<AtomicU32>() }.fetch_add(1, Ordering::SeqCst);
    1
}

fn evtchn_table(p: &Provider, version: u16) -> Vec<u8> {
    let mut buffer = vec![0u8; 120];
    assert_eq!(
        query(
            p,
            &xi::evtchn::GUID_XENBUS_EVTCHN_INTERFACE,
            version,
            &mut buffer
        ),
        QueryOutcome::Complete(STATUS_SUCCESS)
    );
    buffer
}

#[test]
#[allow(
    clippy::too_many_lines,
    reason = "every thunk at both table versions, one scenario"
)]
fn evtchn_open_decodes_through_both_entry_thunks_by_the_callers_version() {
    use xi::evtchn::*;
    let recorder = Arc::new(RecordingEvtchn::default());
    let mut p = provider();
    *p.evtchn = evtchn::EvtchnContext::new(&irql(), Some(recorder.clone()));
    let calls = AtomicU32::new(0);
    let arg = core::ptr::from_ref(&calls).cast_mut().cast::<c_void>();
    let cb = Some(child_callback as xenbus_interface::KserviceRoutine);
    let mut v9 = evtchn_table(&p, 9);
    let mut v8 = evtchn_table(&p, 8);
    let i9 = v9.as_mut_ptr().cast::<InterfaceHeader>();
    let i8 = v8.as_mut_ptr().cast::<InterfaceHeader>();
    assert!(
        !call!(evtchn::xenbus_evtchn_open_sysv(
            i9,
            XENBUS_EVTCHN_TYPE_VIRQ,
            cb,
            arg,
            3u32,
            0u32,
            1u32
        ))
        .is_null()
    );
    assert!(
        !call!(evtchn::xenbus_evtchn_open_win64(
            i9,
            XENBUS_EVTCHN_TYPE_VIRQ,
            cb,
            arg,
            3u32,
            0u32,
            1u32
        ))
        .is_null()
    );
    assert!(
        !call!(evtchn::xenbus_evtchn_open_sysv(
            i8,
            XENBUS_EVTCHN_TYPE_VIRQ,
            cb,
            arg,
            3u32
        ))
        .is_null()
    );
    assert!(
        !call!(evtchn::xenbus_evtchn_open_win64(
            i8,
            XENBUS_EVTCHN_TYPE_VIRQ,
            cb,
            arg,
            3u32
        ))
        .is_null()
    );
    assert!(
        !call!(evtchn::xenbus_evtchn_open_win64(
            i9,
            XENBUS_EVTCHN_TYPE_INTER_DOMAIN,
            cb,
            arg,
            7u32,
            99u32,
            1u32
        ))
        .is_null()
    );
    assert!(
        !call!(evtchn::xenbus_evtchn_open_sysv(
            i9,
            XENBUS_EVTCHN_TYPE_UNBOUND,
            cb,
            arg,
            0u32,
            0u32
        ))
        .is_null()
    );
    // NULL callback and unknown type: NULL, nothing opened.
    assert!(
        call!(evtchn::xenbus_evtchn_open_sysv(
            i9,
            XENBUS_EVTCHN_TYPE_UNBOUND,
            None,
            arg,
            0u32,
            0u32
        ))
        .is_null()
    );
    assert!(
        call!(evtchn::xenbus_evtchn_open_win64(
            i9, 17, cb, arg, 0u32, 0u32
        ))
        .is_null()
    );

    let opens = recorder.opens.lock().unwrap().clone();
    let virq9 = OpenRequest::Virq {
        index: 3,
        processor: Some((0, 1)),
    };
    let virq8 = OpenRequest::Virq {
        index: 3,
        processor: None,
    };
    assert_eq!(
        *opens,
        [
            virq9,
            virq9,
            virq8,
            virq8,
            OpenRequest::InterDomain {
                domain: 7,
                port: 99,
                mask: true
            },
            OpenRequest::Unbound {
                domain: 0,
                mask: false
            },
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    assert_eq!(p.evtchn.outstanding(), 6);
}

/// A DEBUG stand-in recording what `DebugPrintf` formatted.
#[derive(Default)]
struct RecordingDebug {
    lines: StdMutex<Vec<String>>,
}

impl Lifecycle for RecordingDebug {
    fn acquire(&self) -> Result<(), NtStatus> {
        Ok(())
    }
    fn release(&self) {}
}

impl debug::DebugApi for RecordingDebug {
    fn register(
        &self,
        _: &[u8],
        _: crate::debug::DebugFunction,
        _: crate::debug::Origin,
    ) -> Result<Object, NtStatus> {
        Err(STATUS_UNSUCCESSFUL)
    }
    fn printf(&self, format: &[u8], args: &mut dyn ArgSource<'_>) {
        let mut buf = [0u8; 128];
        if let Ok(text) = kprintf::format_to_buf(&mut buf, format, args) {
            self.lines
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(text).into_owned());
        }
    }
    fn trigger(&self, _: Option<&Object>) {}
    fn deregister(&self, _: &Object) -> Result<(), NtStatus> {
        Ok(())
    }
}

#[test]
fn debug_printf_formats_through_both_entry_thunks() {
    let recorder = Arc::new(RecordingDebug::default());
    let mut p = provider();
    *p.debug = debug::DebugContext::new(&irql(), Some(recorder.clone()));
    let mut buffer = vec![0u8; 80];
    assert_eq!(
        query(&p, &xi::debug::GUID_XENBUS_DEBUG_INTERFACE, 1, &mut buffer),
        QueryOutcome::Complete(STATUS_SUCCESS)
    );
    let i = buffer.as_mut_ptr().cast::<InterfaceHeader>();
    call!(debug::xenbus_debug_printf_sysv(
        i,
        c"%s %d %X".as_ptr(),
        c"sysv".as_ptr(),
        -3i32,
        255u32
    ));
    call!(debug::xenbus_debug_printf_win64(
        i,
        c"%s %d %X".as_ptr(),
        c"win64".as_ptr(),
        -3i32,
        255u32
    ));
    // NULL interface or format: nothing logged, no crash.
    call!(debug::xenbus_debug_printf_sysv(
        core::ptr::null_mut(),
        c"x".as_ptr()
    ));
    call!(debug::xenbus_debug_printf_win64(i, core::ptr::null()));

    assert_eq!(
        *recorder.lines.lock().unwrap(),
        ["sysv -3 FF", "win64 -3 FF"]
    );
}

#[test]
fn handles_are_unique_non_null_and_refused_once_taken() {
    let table = Handles::<u32>::new(irql());
    let a = table.insert(1).unwrap();
    let b = table.insert(2).unwrap();
    assert!(!a.is_null() && !b.is_null());
    assert_ne!(a, b);
    assert_eq!(table.get(a), Some(1));
    assert_eq!(table.remove(a), Some(1));
    assert_eq!(table.get(a), None, "a taken handle is refused");
    assert_eq!(table.remove(a), None);
    assert_eq!(table.get(core::ptr::null_mut()), None);
    assert_eq!(
        table.get(core::ptr::without_provenance_mut(0xdead_beef)),
        None
    );
    // Values are never reused.
    let c = table.insert(3).unwrap();
    assert_ne!(c, a);
    assert_eq!(table.len(), 2);
}

#[test]
fn strings_are_read_within_their_bound() {
    // SAFETY: NULL is refused before any read.
    let null = unsafe { util::c_str(core::ptr::null(), 8) };
    assert_eq!(null, Ok(None));
    // SAFETY: a NUL-terminated literal.
    let exact = unsafe { util::c_str(c"abc".as_ptr(), 3) };
    assert_eq!(exact, Ok(Some(&b"abc"[..])));
    // SAFETY: a NUL-terminated literal; the scan stops at the bound.
    let long = unsafe { util::c_str(c"abcd".as_ptr(), 3) };
    assert_eq!(long, Err(STATUS_INVALID_PARAMETER));
    // SAFETY: NULL is refused before any read.
    let required = unsafe { util::required_str(core::ptr::null(), 8) };
    assert_eq!(required, Err(STATUS_INVALID_PARAMETER));
    let mut out = 0u64;
    // SAFETY: NULL is refused.
    let wrote_null = unsafe { util::write_out(core::ptr::null_mut::<u64>(), 5) };
    assert!(!wrote_null);
    // SAFETY: `out` is a live local.
    let wrote = unsafe { util::write_out(&raw mut out, 5) };
    assert!(wrote);
    assert_eq!(out, 5);
}

/// A subsystem lifecycle that counts, and fails its Acquire when told to.
#[derive(Default)]
struct CountingLifecycle {
    held: AtomicU32,
    fail: core::sync::atomic::AtomicBool,
}

impl Lifecycle for CountingLifecycle {
    fn acquire(&self) -> Result<(), ntstatus::NtStatus> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(STATUS_UNSUCCESSFUL);
        }
        self.held.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn release(&self) {
        self.held.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn forwarded_references_mirror_the_subsystem_exactly_under_concurrency() {
    let refs = Arc::new(References::new());
    let api = Arc::new(CountingLifecycle::default());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (refs, api) = (Arc::clone(&refs), Arc::clone(&api));
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    refs.forward_acquire(&*api).unwrap();
                    assert!(refs.forward_release(&*api));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(refs.count(), 0);
    assert_eq!(api.held.load(Ordering::SeqCst), 0);
    // A Release without a reference is not forwarded.
    assert!(!refs.forward_release(&*api));
    assert_eq!(api.held.load(Ordering::SeqCst), 0);
    // A failed Acquire is not counted.
    api.fail.store(true, Ordering::SeqCst);
    assert_eq!(refs.forward_acquire(&*api), Err(STATUS_UNSUCCESSFUL));
    assert_eq!(refs.count(), 0);
}

#[test]
fn range_set_hooks_run_once_per_transition_from_threads_on_every_processor() {
    let platform = StdPlatform::new(2);
    let irql: SharedIrql = Arc::new(platform.clone());
    let first = Arc::new(AtomicU32::new(0));
    let last = Arc::new(AtomicU32::new(0));
    let (on_first, on_last) = (Arc::clone(&first), Arc::clone(&last));
    let p = provider_on(
        &irql,
        None,
        Hooks::new(
            move || {
                on_first.fetch_add(1, Ordering::SeqCst);
                Ok(())
            },
            move || {
                on_last.fetch_add(1, Ordering::SeqCst);
            },
        ),
    );
    let mut t = range_set_table(&p);
    let i = core::ptr::from_mut(&mut t.interface).expose_provenance();
    let (acquire, release) = (t.range_set_acquire, t.range_set_release);
    std::thread::scope(|s| {
        for thread in 0..4u32 {
            let platform = platform.clone();
            s.spawn(move || {
                platform.as_processor(thread % 2, || {
                    let i = core::ptr::with_exposed_provenance_mut(i);
                    for _ in 0..500 {
                        assert_eq!(call!(acquire(i)), STATUS_SUCCESS);
                        call!(release(i));
                    }
                });
            });
        }
    });
    assert_eq!(p.range_set.refs.count(), 0);
    // Every set-up was matched by exactly one teardown.
    assert_eq!(first.load(Ordering::SeqCst), last.load(Ordering::SeqCst));
    assert!(first.load(Ordering::SeqCst) >= 1);
}
