// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! DMA adapter interception on Windows (upstream `dma.c`; [`crate::pnp::dma`] decides).
//!
//! [`intercept`] puts a [`Context`] in front of the platform device's adapter: a private
//! `DMA_OPERATIONS` of the lower table's size, a copy of the lower table's routines, the
//! platform device's PDO and the execution routines still owed a call. The adapter given to
//! the child is the lower one with its table pointer replaced (pass-through) or the context's
//! own adapter object (substitute, Windows 6.0). Every routine finds its context by adapter
//! address in [`ADAPTERS`] (no lock: any IRQL) and forwards; the routines that take a device
//! object hand the lower adapter the platform device's PDO, and the child's execution routine
//! is called back through [`channel_control`] or [`list_control`] with the child's device
//! object and its `CurrentIrp`. Above `DISPATCH_LEVEL` they forward unwrapped, as upstream.
//! A routine on an adapter that is not in the table answers as a failure
//! (`STATUS_INVALID_PARAMETER`, `NULL`, `FALSE` or 0) and logs, where upstream would fault.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::mem::{MaybeUninit, offset_of, size_of};

use ntddk::{
    BOOLEAN, DEVICE_OBJECT, DMA_ADAPTER, DMA_ADAPTER_INFO, DMA_COMPLETION_ROUTINE, DMA_OPERATIONS,
    DMA_TRANSFER_INFO, DRIVER_CONTROL, DRIVER_LIST_CONTROL, IO_ALLOCATION_ACTION, IRP, MDL,
    NODE_REQUIREMENT, NTSTATUS, PHYSICAL_ADDRESS, PVOID, RTL_OSVERSIONINFOW, SCATTER_GATHER_LIST,
    STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY,
};
use platform_port::{Irql, IrqlLevel, IrqlLock, plog};
use platform_windows::WindowsPlatform;

use crate::pnp::dma::{AdapterTable, Controls, InsertError, Interception, OpsVersion};

/// Adapters intercepted at once, at most (one or two per child is the norm).
const MAX_ADAPTERS: usize = 128;

/// The intercepted adapters: adapter address to [`Context`] address.
static ADAPTERS: AdapterTable<MAX_ADAPTERS> = AdapterTable::new();

/// Upstream's substitute adapter object: room for the object header the kernel keeps in
/// front of an object (48 bytes on x64), the `DMA_ADAPTER` head, and the rest of the HAL's
/// `ADAPTER_OBJECT` (168 bytes), zeroed but for the head.
#[repr(C)]
struct Substitute {
    header: [usize; 6],
    adapter: DMA_ADAPTER,
    tail: [usize; 21],
}

/// One intercepted adapter.
#[repr(C)]
struct Context {
    /// The table the child's adapter points at (the lower table's size; routines past it are
    /// `None`).
    operations: DMA_OPERATIONS,
    /// The substitute adapter object (used in [`Interception::Substitute`] only).
    substitute: Substitute,
    /// The lower table's routines, copied up to its size (`None` past it).
    lower: DMA_OPERATIONS,
    /// The platform device's adapter.
    lower_adapter: *mut DMA_ADAPTER,
    /// Its own table, put back when the adapter is put (pass-through).
    lower_table: *mut DMA_OPERATIONS,
    /// The platform device's PDO, handed to the lower routines for the child's device object.
    platform_pdo: *mut DEVICE_OBJECT,
    /// The adapter the child holds (the table's key).
    adapter: *mut DMA_ADAPTER,
    version: OpsVersion,
    mode: Interception,
    /// The execution routines handed to the lower adapter and not called yet ([`Control`]
    /// addresses).
    controls: IrqlLock<WindowsPlatform, Controls>,
    platform: WindowsPlatform,
}

/// A child's execution routine, while the lower adapter owes it a call.
struct Control {
    context: *const Context,
    /// The child's device object.
    device: *mut DEVICE_OBJECT,
    routine: Routine,
    argument: PVOID,
}

#[derive(Clone, Copy)]
enum Routine {
    Channel(DRIVER_CONTROL),
    List(DRIVER_LIST_CONTROL),
}

/// Why an adapter is given out unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotIntercepted {
    /// The adapter has no table.
    NoTable,
    /// The table's size is not one a known version has.
    UnknownSize(u32),
    /// [`MAX_ADAPTERS`] are intercepted already.
    Full,
    /// The adapter is intercepted already (given out twice without a put).
    Present,
    /// No memory for the context.
    NoMemory,
}

/// The Windows version (`RtlGetVersion`, looked up at run time), `(major, minor)`; `(0, 0)`
/// when the kernel does not have it. PASSIVE_LEVEL.
pub fn windows_version() -> (u32, u32) {
    type RtlGetVersion = unsafe extern "system" fn(*mut RTL_OSVERSIONINFOW) -> NTSTATUS;
    let found = platform_windows::system_routine("RtlGetVersion");
    if found.is_null() {
        return (0, 0);
    }
    // SAFETY: `RtlGetVersion` as the kernel exports it.
    let get: RtlGetVersion = unsafe { core::mem::transmute::<*mut c_void, RtlGetVersion>(found) };
    let mut info = MaybeUninit::<RTL_OSVERSIONINFOW>::zeroed();
    let size = u32::try_from(size_of::<RTL_OSVERSIONINFOW>()).unwrap_or(u32::MAX);
    let size_field = info
        .as_mut_ptr()
        .wrapping_byte_add(offset_of!(RTL_OSVERSIONINFOW, dwOSVersionInfoSize))
        .cast::<u32>();
    // SAFETY: a field of our own zeroed structure.
    unsafe { size_field.write(size) };
    // SAFETY: the routine fills the structure whose size it was given.
    let status = unsafe { get(info.as_mut_ptr()) };
    if !ntddk::nt_success(status) {
        return (0, 0);
    }
    // SAFETY: zeroed, then filled by the kernel: every field is an integer.
    let info = unsafe { info.assume_init() };
    (info.dwMajorVersion, info.dwMinorVersion)
}

/// `value` in a new heap allocation, as `Box::into_raw` gives it; `None` when the pool has no
/// memory (where `Box::new` would stop the machine). Freed with `Box::from_raw`.
fn try_boxed<T>(value: T) -> Option<*mut T> {
    let layout = core::alloc::Layout::new::<T>();
    // SAFETY: `T` is not zero-sized here (a context or a control).
    let memory = unsafe { alloc::alloc::alloc(layout) }.cast::<T>();
    if memory.is_null() {
        return None;
    }
    // SAFETY: fresh memory of `T`'s layout.
    unsafe { memory.write(value) };
    Some(memory)
}

/// A table with every routine `None` and `Size` 0.
const fn empty_table() -> DMA_OPERATIONS {
    // SAFETY: `DMA_OPERATIONS` is an integer and `Option`s of function pointers, for which
    // all-zero bytes are 0 and `None`.
    unsafe { MaybeUninit::<DMA_OPERATIONS>::zeroed().assume_init() }
}

/// Our routines for a table of `version`, `Size` its size.
fn our_table(version: OpsVersion) -> DMA_OPERATIONS {
    let mut t = empty_table();
    t.Size = version.size();
    t.PutDmaAdapter = Some(put_dma_adapter);
    t.AllocateCommonBuffer = Some(allocate_common_buffer);
    t.FreeCommonBuffer = Some(free_common_buffer);
    t.AllocateAdapterChannel = Some(allocate_adapter_channel);
    t.FlushAdapterBuffers = Some(flush_adapter_buffers);
    t.FreeAdapterChannel = Some(free_adapter_channel);
    t.FreeMapRegisters = Some(free_map_registers);
    t.MapTransfer = Some(map_transfer);
    t.GetDmaAlignment = Some(get_dma_alignment);
    t.ReadDmaCounter = Some(read_dma_counter);
    t.GetScatterGatherList = Some(get_scatter_gather_list);
    t.PutScatterGatherList = Some(put_scatter_gather_list);
    if version >= OpsVersion::V2 {
        t.CalculateScatterGatherList = Some(calculate_scatter_gather_list);
        t.BuildScatterGatherList = Some(build_scatter_gather_list);
        t.BuildMdlFromScatterGatherList = Some(build_mdl_from_scatter_gather_list);
    }
    if version >= OpsVersion::V3 {
        t.GetDmaAdapterInfo = Some(get_dma_adapter_info);
        t.GetDmaTransferInfo = Some(get_dma_transfer_info);
        t.InitializeDmaTransferContext = Some(initialize_dma_transfer_context);
        t.AllocateCommonBufferEx = Some(allocate_common_buffer_ex);
        t.AllocateAdapterChannelEx = Some(allocate_adapter_channel_ex);
        t.ConfigureAdapterChannel = Some(configure_adapter_channel);
        t.CancelAdapterChannel = Some(cancel_adapter_channel);
        t.MapTransferEx = Some(map_transfer_ex);
        t.GetScatterGatherListEx = Some(get_scatter_gather_list_ex);
        t.BuildScatterGatherListEx = Some(build_scatter_gather_list_ex);
        t.FlushAdapterBuffersEx = Some(flush_adapter_buffers_ex);
        t.FreeAdapterObject = Some(free_adapter_object);
        t.CancelMappedTransfer = Some(cancel_mapped_transfer);
    }
    t
}

/// Intercepts `lower_adapter` (the platform device's, just obtained) for a child: the adapter
/// the child gets. PASSIVE_LEVEL (`GetDmaAdapter`'s).
///
/// # Errors
/// [`NotIntercepted`]: the caller gives the child `lower_adapter` unchanged.
///
/// # Safety
/// `lower_adapter` is a live adapter from the platform device's bus interface, not yet given
/// to anyone; `platform_pdo` is the platform device's PDO, which outlives the adapter.
pub unsafe fn intercept(
    lower_adapter: *mut DMA_ADAPTER,
    mode: Interception,
    platform_pdo: *mut DEVICE_OBJECT,
    platform: WindowsPlatform,
) -> Result<*mut DMA_ADAPTER, NotIntercepted> {
    // SAFETY: the caller's live adapter; its head is a `DMA_ADAPTER`.
    let head = unsafe { lower_adapter.read() };
    let lower_table = head.DmaOperations;
    if lower_table.is_null() {
        return Err(NotIntercepted::NoTable);
    }
    // SAFETY: the adapter's table; `Size` is its first member in every version.
    let size = unsafe { lower_table.cast::<u32>().read() };
    let version = OpsVersion::of_size(size).ok_or(NotIntercepted::UnknownSize(size))?;
    let mut lower = empty_table();
    let bytes = usize::try_from(version.size()).unwrap_or(0);
    // SAFETY: the lower table has `bytes` bytes (its own `Size`, a known version's, at most
    // ours); our copy is a whole `DMA_OPERATIONS`, zeroed past them.
    unsafe {
        core::ptr::copy_nonoverlapping(
            lower_table.cast::<u8>(),
            (&raw mut lower).cast::<u8>(),
            bytes,
        );
    };
    let context = try_boxed(Context {
        operations: our_table(version),
        substitute: Substitute {
            header: [0; 6],
            adapter: DMA_ADAPTER {
                Version: 0,
                Size: 0,
                DmaOperations: core::ptr::null_mut(),
            },
            tail: [0; 21],
        },
        lower,
        lower_adapter,
        lower_table,
        platform_pdo,
        adapter: lower_adapter,
        version,
        mode,
        controls: IrqlLock::dispatch(platform, Controls::new()),
        platform,
    })
    .ok_or(NotIntercepted::NoMemory)?;
    let ours = context
        .wrapping_byte_add(offset_of!(Context, operations))
        .cast::<DMA_OPERATIONS>();
    let adapter = if mode == Interception::Substitute {
        let adapter = context
            .wrapping_byte_add(offset_of!(Context, substitute))
            .wrapping_byte_add(offset_of!(Substitute, adapter))
            .cast::<DMA_ADAPTER>();
        let own = DMA_ADAPTER {
            Version: head.Version,
            Size: u16::try_from(size_of::<DMA_ADAPTER>()).unwrap_or(u16::MAX),
            DmaOperations: ours,
        };
        // SAFETY: our context's own adapter object, not yet shared.
        unsafe { adapter.write(own) };
        adapter
    } else {
        lower_adapter
    };
    let key = context
        .wrapping_byte_add(offset_of!(Context, adapter))
        .cast::<*mut DMA_ADAPTER>();
    // SAFETY: our context, not yet shared.
    unsafe { key.write(adapter) };
    if let Err(e) = ADAPTERS.insert(adapter.addr(), context.expose_provenance()) {
        // SAFETY: ours from `try_boxed` above, never shared.
        drop(unsafe { Box::from_raw(context) });
        return Err(match e {
            InsertError::Full => NotIntercepted::Full,
            InsertError::Present => NotIntercepted::Present,
        });
    }
    if mode != Interception::Substitute {
        let pointer = lower_adapter
            .wrapping_byte_add(offset_of!(DMA_ADAPTER, DmaOperations))
            .cast::<*mut DMA_OPERATIONS>();
        // SAFETY: the lower adapter's table pointer, replaced as upstream's pass-through
        // replaces it (the context is in the table first, so every call finds it).
        unsafe { pointer.write_volatile(ours) };
    }
    plog!(
        platform,
        Info,
        "xenbus|DMA: adapter {:p} intercepted ({}, DMA_OPERATIONS version {})",
        adapter,
        if mode == Interception::Substitute {
            "substitute"
        } else {
            "pass-through"
        },
        version.number()
    );
    Ok(adapter)
}

/// The context of `adapter`, if it is intercepted; logs `routine` otherwise.
fn context_of<'a>(adapter: *mut DMA_ADAPTER, routine: &str) -> Option<&'a Context> {
    let Some(found) = ADAPTERS.find(adapter.addr()) else {
        plog!(
            WindowsPlatform::new(super::xen_log_sink),
            Error,
            "xenbus|DMA: {routine} on adapter {:p}, which xenbus.sys did not give out or was put",
            adapter
        );
        return None;
    };
    let context = core::ptr::with_exposed_provenance::<Context>(found);
    // SAFETY: a context stays in the table from `intercept` until `PutDmaAdapter` frees it;
    // the caller holds the adapter, so it was not put.
    unsafe { context.as_ref() }
}

/// The context of `adapter` and its lower routine `pick`, or `None` (logged) when either is
/// missing.
fn lower<'a, F: Copy>(
    adapter: *mut DMA_ADAPTER,
    routine: &str,
    pick: impl FnOnce(&DMA_OPERATIONS) -> Option<F>,
) -> Option<(&'a Context, F)> {
    let context = context_of(adapter, routine)?;
    let Some(f) = pick(&context.lower) else {
        plog!(
            context.platform,
            Error,
            "xenbus|DMA: {routine} is not in the platform device's DMA_OPERATIONS (version {})",
            context.version.number()
        );
        return None;
    };
    Some((context, f))
}

/// Whether the routine runs above `DISPATCH_LEVEL` (then it forwards unwrapped).
fn above_dispatch(context: &Context) -> bool {
    context.platform.current_irql() > IrqlLevel::DISPATCH
}

/// Registers a child's execution routine for the lower adapter to call back through
/// [`channel_control`] or [`list_control`]; `None` when it runs unwrapped: there is none, the
/// call is above `DISPATCH_LEVEL` (upstream's rule; the spin lock of the pending list cannot be
/// taken there).
///
/// # Errors
/// `STATUS_NO_MEMORY` (upstream's status) when there is no memory to wrap it: the call fails.
fn wrap(
    context: &Context,
    device: *mut DEVICE_OBJECT,
    routine: Option<Routine>,
    argument: PVOID,
    transfer: PVOID,
) -> Result<Option<*mut Control>, NTSTATUS> {
    let Some(routine) = routine else {
        return Ok(None);
    };
    if above_dispatch(context) {
        return Ok(None);
    }
    let Some(control) = try_boxed(Control {
        context: core::ptr::from_ref(context),
        device,
        routine,
        argument,
    }) else {
        plog!(
            context.platform,
            Error,
            "xenbus|DMA: no memory to wrap an execution routine"
        );
        return Err(STATUS_NO_MEMORY);
    };
    context
        .controls
        .lock()
        .add(control.expose_provenance(), transfer.addr());
    Ok(Some(control))
}

/// After a hand-out: a failed one never calls back, so its control is freed.
fn settle(context: &Context, control: Option<*mut Control>, status: NTSTATUS) {
    if let Some(control) = control
        && !ntddk::nt_success(status)
    {
        forget(context, control);
    }
}

/// Frees `control` if it is still pending (its call came, or its hand-out failed).
fn forget(context: &Context, control: *mut Control) {
    if context.controls.lock().remove(control.addr()) {
        // SAFETY: ours from `wrap`, and no longer pending: nothing else frees it.
        drop(unsafe { Box::from_raw(control) });
    }
}

/// `device->CurrentIrp`.
///
/// # Safety
/// `device` is a live device object.
unsafe fn current_irp(device: *mut DEVICE_OBJECT) -> *mut IRP {
    if device.is_null() {
        return core::ptr::null_mut();
    }
    let field = device
        .wrapping_byte_add(offset_of!(DEVICE_OBJECT, CurrentIrp))
        .cast::<*mut IRP>();
    // SAFETY: the caller's live device object.
    unsafe { field.read_volatile() }
}

/// The wrapper of a child's `DRIVER_CONTROL`: calls it with the child's device object and its
/// current IRP, then forgets it.
unsafe extern "system" fn channel_control(
    _device: *mut DEVICE_OBJECT,
    _irp: *mut IRP,
    map_register_base: PVOID,
    argument: PVOID,
) -> IO_ALLOCATION_ACTION {
    let control = argument.cast::<Control>();
    // SAFETY: our `Control` from `wrap`, pending until `unwrap_control` below.
    let Some(c) = (unsafe { control.as_ref() }) else {
        return ntddk::DeallocateObject;
    };
    // SAFETY: the control's context outlives its pending controls.
    let context = unsafe { &*c.context };
    // SAFETY: the child's device object, which it passed for this call.
    let irp = unsafe { current_irp(c.device) };
    let action = match c.routine {
        // SAFETY: the child's routine with the arguments Windows gives it.
        Routine::Channel(f) => unsafe { f(c.device, irp, map_register_base, c.argument) },
        Routine::List(_) => ntddk::DeallocateObject,
    };
    forget(context, control);
    action
}

/// The wrapper of a child's `DRIVER_LIST_CONTROL`.
unsafe extern "system" fn list_control(
    _device: *mut DEVICE_OBJECT,
    _irp: *mut IRP,
    list: *mut SCATTER_GATHER_LIST,
    argument: PVOID,
) {
    let control = argument.cast::<Control>();
    // SAFETY: our `Control` from `wrap`, pending until `unwrap_control` below.
    let Some(c) = (unsafe { control.as_ref() }) else {
        return;
    };
    // SAFETY: the control's context outlives its pending controls.
    let context = unsafe { &*c.context };
    // SAFETY: the child's device object, which it passed for this call.
    let irp = unsafe { current_irp(c.device) };
    if let Routine::List(f) = c.routine {
        // SAFETY: the child's routine with the arguments Windows gives it.
        unsafe { f(c.device, irp, list, c.argument) };
    }
    forget(context, control);
}

/// Calls lower routine `call` with the child's `DRIVER_CONTROL` `routine` wrapped (or as it is,
/// see [`wrap`]) and its argument: its status; a failed call's wrapper is freed.
fn with_channel(
    c: &Context,
    device: *mut DEVICE_OBJECT,
    (routine, argument, transfer): (Option<DRIVER_CONTROL>, PVOID, PVOID),
    call: impl FnOnce(Option<DRIVER_CONTROL>, PVOID) -> NTSTATUS,
) -> NTSTATUS {
    let control = match wrap(c, device, routine.map(Routine::Channel), argument, transfer) {
        Ok(control) => control,
        Err(status) => return status,
    };
    let status = match control {
        Some(wrapper) => call(Some(channel_control), wrapper.cast()),
        None => call(routine, argument),
    };
    settle(c, control, status);
    status
}

/// [`with_channel`] for a `DRIVER_LIST_CONTROL`.
fn with_list(
    c: &Context,
    device: *mut DEVICE_OBJECT,
    (routine, argument, transfer): (Option<DRIVER_LIST_CONTROL>, PVOID, PVOID),
    call: impl FnOnce(Option<DRIVER_LIST_CONTROL>, PVOID) -> NTSTATUS,
) -> NTSTATUS {
    let control = match wrap(c, device, routine.map(Routine::List), argument, transfer) {
        Ok(control) => control,
        Err(status) => return status,
    };
    let status = match control {
        Some(wrapper) => call(Some(list_control), wrapper.cast()),
        None => call(routine, argument),
    };
    settle(c, control, status);
    status
}

unsafe extern "system" fn put_dma_adapter(adapter: *mut DMA_ADAPTER) {
    let Some((c, f)) = lower(adapter, "PutDmaAdapter", |o| o.PutDmaAdapter) else {
        return;
    };
    let context = core::ptr::from_ref(c).cast_mut();
    if c.mode != Interception::Substitute {
        let pointer = c
            .lower_adapter
            .wrapping_byte_add(offset_of!(DMA_ADAPTER, DmaOperations))
            .cast::<*mut DMA_OPERATIONS>();
        // SAFETY: the lower adapter, still live: its own table back before it goes.
        unsafe { pointer.write_volatile(c.lower_table) };
    }
    let _ = ADAPTERS.remove(c.adapter.addr());
    let left = c.controls.lock().drain();
    if !left.is_empty() {
        plog!(
            c.platform,
            Warning,
            "xenbus|DMA: adapter {:p} put with {} execution routine(s) never called",
            c.adapter,
            left.len()
        );
    }
    for control in left {
        // SAFETY: ours from `wrap`, drained from the pending list: nothing else frees it.
        drop(unsafe { Box::from_raw(core::ptr::with_exposed_provenance_mut::<Control>(control)) });
    }
    // SAFETY: the platform device's routine with its adapter.
    unsafe { f(c.lower_adapter) };
    plog!(c.platform, Info, "xenbus|DMA: adapter {:p} put", c.adapter);
    // SAFETY: ours from `intercept`, out of the table: the child gave up the adapter.
    drop(unsafe { Box::from_raw(context) });
}

unsafe extern "system" fn allocate_common_buffer(
    adapter: *mut DMA_ADAPTER,
    length: u32,
    logical: *mut PHYSICAL_ADDRESS,
    cache: BOOLEAN,
) -> PVOID {
    let Some((c, f)) = lower(adapter, "AllocateCommonBuffer", |o| o.AllocateCommonBuffer) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, length, logical, cache) }
}

unsafe extern "system" fn free_common_buffer(
    adapter: *mut DMA_ADAPTER,
    length: u32,
    logical: PHYSICAL_ADDRESS,
    va: PVOID,
    cache: BOOLEAN,
) {
    let Some((c, f)) = lower(adapter, "FreeCommonBuffer", |o| o.FreeCommonBuffer) else {
        return;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, length, logical, va, cache) }
}

unsafe extern "system" fn allocate_adapter_channel(
    adapter: *mut DMA_ADAPTER,
    device: *mut DEVICE_OBJECT,
    registers: u32,
    routine: Option<DRIVER_CONTROL>,
    argument: PVOID,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "AllocateAdapterChannel", |o| {
        o.AllocateAdapterChannel
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_channel(
        c,
        device,
        (routine, argument, core::ptr::null_mut()),
        |routine, argument| {
            // SAFETY: the platform device's routine, for its own PDO, with the caller's
            // arguments or our wrapper.
            unsafe {
                f(
                    c.lower_adapter,
                    c.platform_pdo,
                    registers,
                    routine,
                    argument,
                )
            }
        },
    )
}

unsafe extern "system" fn flush_adapter_buffers(
    adapter: *mut DMA_ADAPTER,
    mdl: *mut MDL,
    base: PVOID,
    va: PVOID,
    length: u32,
    write: BOOLEAN,
) -> BOOLEAN {
    let Some((c, f)) = lower(adapter, "FlushAdapterBuffers", |o| o.FlushAdapterBuffers) else {
        return 0;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, mdl, base, va, length, write) }
}

unsafe extern "system" fn free_adapter_channel(adapter: *mut DMA_ADAPTER) {
    let Some((c, f)) = lower(adapter, "FreeAdapterChannel", |o| o.FreeAdapterChannel) else {
        return;
    };
    // SAFETY: the platform device's routine with its adapter.
    unsafe { f(c.lower_adapter) }
}

unsafe extern "system" fn free_map_registers(adapter: *mut DMA_ADAPTER, base: PVOID, count: u32) {
    let Some((c, f)) = lower(adapter, "FreeMapRegisters", |o| o.FreeMapRegisters) else {
        return;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, base, count) }
}

unsafe extern "system" fn map_transfer(
    adapter: *mut DMA_ADAPTER,
    mdl: *mut MDL,
    base: PVOID,
    va: PVOID,
    length: *mut u32,
    write: BOOLEAN,
) -> PHYSICAL_ADDRESS {
    let Some((c, f)) = lower(adapter, "MapTransfer", |o| o.MapTransfer) else {
        return 0;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, mdl, base, va, length, write) }
}

unsafe extern "system" fn get_dma_alignment(adapter: *mut DMA_ADAPTER) -> u32 {
    let Some((c, f)) = lower(adapter, "GetDmaAlignment", |o| o.GetDmaAlignment) else {
        return 0;
    };
    // SAFETY: the platform device's routine with its adapter.
    unsafe { f(c.lower_adapter) }
}

unsafe extern "system" fn read_dma_counter(adapter: *mut DMA_ADAPTER) -> u32 {
    let Some((c, f)) = lower(adapter, "ReadDmaCounter", |o| o.ReadDmaCounter) else {
        return 0;
    };
    // SAFETY: the platform device's routine with its adapter.
    unsafe { f(c.lower_adapter) }
}

unsafe extern "system" fn get_scatter_gather_list(
    adapter: *mut DMA_ADAPTER,
    device: *mut DEVICE_OBJECT,
    mdl: *mut MDL,
    va: PVOID,
    length: u32,
    routine: Option<DRIVER_LIST_CONTROL>,
    argument: PVOID,
    write: BOOLEAN,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "GetScatterGatherList", |o| o.GetScatterGatherList) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_list(
        c,
        device,
        (routine, argument, core::ptr::null_mut()),
        |routine, argument| {
            // SAFETY: the platform device's routine, for its own PDO, with the caller's
            // arguments or our wrapper.
            unsafe {
                f(
                    c.lower_adapter,
                    c.platform_pdo,
                    mdl,
                    va,
                    length,
                    routine,
                    argument,
                    write,
                )
            }
        },
    )
}

unsafe extern "system" fn put_scatter_gather_list(
    adapter: *mut DMA_ADAPTER,
    list: *mut SCATTER_GATHER_LIST,
    write: BOOLEAN,
) {
    let Some((c, f)) = lower(adapter, "PutScatterGatherList", |o| o.PutScatterGatherList) else {
        return;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, list, write) }
}

unsafe extern "system" fn calculate_scatter_gather_list(
    adapter: *mut DMA_ADAPTER,
    mdl: *mut MDL,
    va: PVOID,
    length: u32,
    size: *mut u32,
    registers: *mut u32,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "CalculateScatterGatherList", |o| {
        o.CalculateScatterGatherList
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, mdl, va, length, size, registers) }
}

unsafe extern "system" fn build_scatter_gather_list(
    adapter: *mut DMA_ADAPTER,
    device: *mut DEVICE_OBJECT,
    mdl: *mut MDL,
    va: PVOID,
    length: u32,
    routine: Option<DRIVER_LIST_CONTROL>,
    argument: PVOID,
    write: BOOLEAN,
    buffer: PVOID,
    buffer_length: u32,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "BuildScatterGatherList", |o| {
        o.BuildScatterGatherList
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_list(
        c,
        device,
        (routine, argument, core::ptr::null_mut()),
        |routine, argument| {
            // SAFETY: the platform device's routine, for its own PDO, with the caller's
            // arguments or our wrapper.
            unsafe {
                f(
                    c.lower_adapter,
                    c.platform_pdo,
                    mdl,
                    va,
                    length,
                    routine,
                    argument,
                    write,
                    buffer,
                    buffer_length,
                )
            }
        },
    )
}

unsafe extern "system" fn build_mdl_from_scatter_gather_list(
    adapter: *mut DMA_ADAPTER,
    list: *mut SCATTER_GATHER_LIST,
    original: *mut MDL,
    target: *mut *mut MDL,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "BuildMdlFromScatterGatherList", |o| {
        o.BuildMdlFromScatterGatherList
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, list, original, target) }
}

unsafe extern "system" fn get_dma_adapter_info(
    adapter: *mut DMA_ADAPTER,
    info: *mut DMA_ADAPTER_INFO,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "GetDmaAdapterInfo", |o| o.GetDmaAdapterInfo) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, info) }
}

unsafe extern "system" fn get_dma_transfer_info(
    adapter: *mut DMA_ADAPTER,
    mdl: *mut MDL,
    offset: u64,
    length: u32,
    write_only: BOOLEAN,
    info: *mut DMA_TRANSFER_INFO,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "GetDmaTransferInfo", |o| o.GetDmaTransferInfo) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, mdl, offset, length, write_only, info) }
}

unsafe extern "system" fn initialize_dma_transfer_context(
    adapter: *mut DMA_ADAPTER,
    transfer: PVOID,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "InitializeDmaTransferContext", |o| {
        o.InitializeDmaTransferContext
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, transfer) }
}

unsafe extern "system" fn allocate_common_buffer_ex(
    adapter: *mut DMA_ADAPTER,
    maximum: *mut PHYSICAL_ADDRESS,
    length: u32,
    logical: *mut PHYSICAL_ADDRESS,
    cache: BOOLEAN,
    node: NODE_REQUIREMENT,
) -> PVOID {
    let Some((c, f)) = lower(adapter, "AllocateCommonBufferEx", |o| {
        o.AllocateCommonBufferEx
    }) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, maximum, length, logical, cache, node) }
}

unsafe extern "system" fn allocate_adapter_channel_ex(
    adapter: *mut DMA_ADAPTER,
    device: *mut DEVICE_OBJECT,
    transfer: PVOID,
    registers: u32,
    flags: u32,
    routine: Option<DRIVER_CONTROL>,
    argument: PVOID,
    base: *mut PVOID,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "AllocateAdapterChannelEx", |o| {
        o.AllocateAdapterChannelEx
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_channel(
        c,
        device,
        (routine, argument, transfer),
        |routine, argument| {
            // SAFETY: the platform device's routine, for its own PDO, with the caller's
            // arguments or our wrapper.
            unsafe {
                f(
                    c.lower_adapter,
                    c.platform_pdo,
                    transfer,
                    registers,
                    flags,
                    routine,
                    argument,
                    base,
                )
            }
        },
    )
}

unsafe extern "system" fn configure_adapter_channel(
    adapter: *mut DMA_ADAPTER,
    function: u32,
    argument: PVOID,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "ConfigureAdapterChannel", |o| {
        o.ConfigureAdapterChannel
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, function, argument) }
}

unsafe extern "system" fn cancel_adapter_channel(
    adapter: *mut DMA_ADAPTER,
    _device: *mut DEVICE_OBJECT,
    transfer: PVOID,
) -> BOOLEAN {
    let Some((c, f)) = lower(adapter, "CancelAdapterChannel", |o| o.CancelAdapterChannel) else {
        return 0;
    };
    // SAFETY: the platform device's routine, for its own PDO, with the caller's context.
    let cancelled = unsafe { f(c.lower_adapter, c.platform_pdo, transfer) };
    if cancelled != 0 && !above_dispatch(c) {
        let taken = c.controls.lock().cancel(transfer.addr());
        for control in taken {
            // SAFETY: ours from `wrap`, taken off the pending list: the cancelled allocation
            // never calls it.
            drop(unsafe {
                Box::from_raw(core::ptr::with_exposed_provenance_mut::<Control>(control))
            });
        }
    }
    cancelled
}

unsafe extern "system" fn map_transfer_ex(
    adapter: *mut DMA_ADAPTER,
    mdl: *mut MDL,
    base: PVOID,
    offset: u64,
    device_offset: u32,
    length: *mut u32,
    write: BOOLEAN,
    buffer: *mut SCATTER_GATHER_LIST,
    buffer_length: u32,
    completion: Option<DMA_COMPLETION_ROUTINE>,
    completion_context: PVOID,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "MapTransferEx", |o| o.MapTransferEx) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe {
        f(
            c.lower_adapter,
            mdl,
            base,
            offset,
            device_offset,
            length,
            write,
            buffer,
            buffer_length,
            completion,
            completion_context,
        )
    }
}

unsafe extern "system" fn get_scatter_gather_list_ex(
    adapter: *mut DMA_ADAPTER,
    device: *mut DEVICE_OBJECT,
    transfer: PVOID,
    mdl: *mut MDL,
    offset: u64,
    length: u32,
    flags: u32,
    routine: Option<DRIVER_LIST_CONTROL>,
    argument: PVOID,
    write: BOOLEAN,
    completion: Option<DMA_COMPLETION_ROUTINE>,
    completion_context: PVOID,
    list: *mut *mut SCATTER_GATHER_LIST,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "GetScatterGatherListEx", |o| {
        o.GetScatterGatherListEx
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_list(
        c,
        device,
        (routine, argument, transfer),
        |routine, argument| {
            // SAFETY: the platform device's routine, for its own PDO, with the caller's
            // arguments or our wrapper.
            unsafe {
                f(
                    c.lower_adapter,
                    c.platform_pdo,
                    transfer,
                    mdl,
                    offset,
                    length,
                    flags,
                    routine,
                    argument,
                    write,
                    completion,
                    completion_context,
                    list,
                )
            }
        },
    )
}

unsafe extern "system" fn build_scatter_gather_list_ex(
    adapter: *mut DMA_ADAPTER,
    device: *mut DEVICE_OBJECT,
    transfer: PVOID,
    mdl: *mut MDL,
    offset: u64,
    length: u32,
    flags: u32,
    routine: Option<DRIVER_LIST_CONTROL>,
    argument: PVOID,
    write: BOOLEAN,
    buffer: PVOID,
    buffer_length: u32,
    completion: Option<DMA_COMPLETION_ROUTINE>,
    completion_context: PVOID,
    list: *mut *mut SCATTER_GATHER_LIST,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "BuildScatterGatherListEx", |o| {
        o.BuildScatterGatherListEx
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    with_list(
        c,
        device,
        (routine, argument, transfer),
        |routine, argument| {
            // SAFETY: the platform device's routine, for its own PDO, with the caller's
            // arguments or our wrapper.
            unsafe {
                f(
                    c.lower_adapter,
                    c.platform_pdo,
                    transfer,
                    mdl,
                    offset,
                    length,
                    flags,
                    routine,
                    argument,
                    write,
                    buffer,
                    buffer_length,
                    completion,
                    completion_context,
                    list,
                )
            }
        },
    )
}

unsafe extern "system" fn flush_adapter_buffers_ex(
    adapter: *mut DMA_ADAPTER,
    mdl: *mut MDL,
    base: PVOID,
    offset: u64,
    length: u32,
    write: BOOLEAN,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "FlushAdapterBuffersEx", |o| {
        o.FlushAdapterBuffersEx
    }) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, mdl, base, offset, length, write) }
}

unsafe extern "system" fn free_adapter_object(
    adapter: *mut DMA_ADAPTER,
    action: IO_ALLOCATION_ACTION,
) {
    let Some((c, f)) = lower(adapter, "FreeAdapterObject", |o| o.FreeAdapterObject) else {
        return;
    };
    // SAFETY: the platform device's routine with the caller's arguments. The context stays
    // until `PutDmaAdapter` (see `crate::pnp::dma` for how upstream differs).
    unsafe { f(c.lower_adapter, action) }
}

unsafe extern "system" fn cancel_mapped_transfer(
    adapter: *mut DMA_ADAPTER,
    transfer: PVOID,
) -> NTSTATUS {
    let Some((c, f)) = lower(adapter, "CancelMappedTransfer", |o| o.CancelMappedTransfer) else {
        return STATUS_INVALID_PARAMETER;
    };
    // SAFETY: the platform device's routine with the caller's arguments.
    unsafe { f(c.lower_adapter, transfer) }
}
