// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The HAL's DMA adapters, as the PCI bus driver's `BUS_INTERFACE_STANDARD.GetDmaAdapter` hands
//! them out ([`get_adapter`], called by [`super::pci_bus`]): a bus-master adapter on a machine
//! without an IOMMU, where a device's logical address is the physical address.
//!
//! Each `GetDmaAdapter` makes a new adapter: a `DMA_ADAPTER` head (`Version` 1, `Size` 16) whose
//! `DmaOperations` points at one of three static tables, chosen by the description's `Version`:
//! 0 gives the version 1 table (`Size` 104), 1 and 2 the version 2 table (`Size` 128), 3 the
//! version 3 table (`Size` 232); a later version gets no adapter (NULL). `*NumberOfMapRegisters`
//! is [`map_registers`] of the description's `MaximumLength`: the pages of the longest transfer
//! plus one (it may start inside a page), at most [`MAX_MAP_REGISTERS`].
//!
//! The routines, as the HAL behaves with logical = physical:
//!
//! * `PutDmaAdapter` (`PASSIVE_LEVEL`): the adapter is dead from then on.
//! * `AllocateCommonBuffer`/`FreeCommonBuffer` (`PASSIVE_LEVEL`): page-aligned, physically
//!   contiguous memory in the boot identity map, as `MmAllocateContiguousMemory` gives it (not
//!   zeroed: filled with `0xAA`; freed memory filled with `0xDF` and never reused),
//!   `*LogicalAddress` its physical address; the free must name an allocation of this adapter
//!   exactly (address, length, logical address, `CacheEnabled`). `AllocateCommonBufferEx`
//!   (version 3, `PASSIVE_LEVEL`) likewise, NULL when `*MaximumAddress` is below the block.
//! * `AllocateAdapterChannel` (exactly `DISPATCH_LEVEL`): the channel is free at once (a second
//!   request while the channel is held is not modelled and fails), so the execution routine is
//!   called before it returns, at `DISPATCH_LEVEL`, with (`DeviceObject`,
//!   `DeviceObject->CurrentIrp`, `MapRegisterBase`, `Context`); what it returns is applied:
//!   `KeepObject` holds the channel and the map registers (`FreeAdapterChannel` frees both),
//!   `DeallocateObject` frees both, `DeallocateObjectKeepRegisters` frees the channel and keeps
//!   the map registers (`FreeMapRegisters`, exactly `DISPATCH_LEVEL`, with the same base and
//!   count). `MapRegisterBase` is an opaque, never mapped address (NULL for 0 registers); more
//!   registers than the adapter has fail. `AllocateAdapterChannelEx` (version 3, at most
//!   `DISPATCH_LEVEL`, on an initialised transfer context) does the same; with a NULL
//!   `ExecutionRoutine` (only with `DMA_SYNCHRONOUS_CALLBACK`) it returns the base in
//!   `*MapRegisterBase` and holds channel and registers until `FreeAdapterObject`
//!   (`DeallocateObject` or `DeallocateObjectKeepRegisters`).
//! * `MapTransfer` (at most `DISPATCH_LEVEL`, held map registers): the physical address of
//!   `CurrentVa`, `*Length` cut to the physically contiguous run; `FlushAdapterBuffers`: TRUE.
//!   `GetDmaAlignment`: 1. `ReadDmaCounter`: 0 (a bus master has no counter).
//! * `GetScatterGatherList` (exactly `DISPATCH_LEVEL`): the list of the MDL's pages from
//!   `CurrentVa` for `Length` bytes, physically contiguous pages merged into one element, built
//!   by the stand-in and passed at once, at `DISPATCH_LEVEL`, to the execution routine with
//!   (`DeviceObject`, `DeviceObject->CurrentIrp`, list, `Context`);
//!   `STATUS_INSUFFICIENT_RESOURCES` when the transfer needs more map registers than the
//!   adapter has. `PutScatterGatherList` (exactly `DISPATCH_LEVEL`) must name a live list.
//!   `BuildScatterGatherList` (version 2) builds it in the caller's buffer
//!   (`STATUS_BUFFER_TOO_SMALL` when short), `CalculateScatterGatherList` gives the worst-case
//!   size (one element per page) and the map registers; `GetScatterGatherListEx` and
//!   `BuildScatterGatherListEx` (version 3, at most `DISPATCH_LEVEL`) take an offset from the
//!   MDL's virtual address, and with a NULL `ExecutionRoutine` return the list in
//!   `*ScatterGatherList`. The transfer must lie inside one MDL (chains are not modelled).
//! * Version 3: `InitializeDmaTransferContext` (zeroes the caller's
//!   [`DMA_TRANSFER_CONTEXT_SIZE_V1`] bytes, records the context), `CancelAdapterChannel`
//!   (nothing is ever pending: FALSE), `GetDmaAdapterInfo` (version 1: no DMA counter,
//!   scatter/gather limit = the map registers, 64- or 32-bit addresses as described,
//!   `ADAPTER_INFO_SYNCHRONOUS_CALLBACK`, transfer unit 1), `FreeAdapterObject`.
//!   `BuildMdlFromScatterGatherList` (version 2), `GetDmaTransferInfo`,
//!   `ConfigureAdapterChannel`, `MapTransferEx`, `FlushAdapterBuffersEx` and
//!   `CancelMappedTransfer` answer `STATUS_NOT_SUPPORTED`.
//!
//! Checked (a verifier failure names the routine as `DMA_OPERATIONS.Name`): an adapter that is
//! not a live adapter of the stand-in's (never made, or put already: told apart), the IRQL, a
//! device object that is not a live one, frees of what the adapter did not give (or gave back
//! already), an execution routine outside a loaded image or one that changed the IRQL, an
//! unknown `IO_ALLOCATION_ACTION`. What is still outstanding when the PCI PDO is deleted
//! ([`pdo_deleted`]) fails the run, and [`outstanding`] lists it for the unload audit.
//!
//! Recorded per adapter ([`adapters_of`]): every device object the channel and scatter/gather
//! routines received, each with the `DmaOperations` the adapter had at that call (a driver
//! above may have replaced the table), and every execution routine call with its arguments.
//!
//! The tables point at entry thunks like the kernel routines' (`crate::nt::routines`), so a
//! message names the driver's return address.

use crate::nt::routines::{DriverObject, io};
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use crate::nt::{loader, vm};
use alloc::alloc::{Layout, alloc};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::{
    DEVICE_DESCRIPTION, DEVICE_OBJECT, DMA_ADAPTER, DMA_OPERATIONS, DMA_OPERATIONS_SIZE1,
    DMA_OPERATIONS_SIZE2, DMA_OPERATIONS_SIZE3, DeallocateObject, DeallocateObjectKeepRegisters,
    KeepObject, MDL, SCATTER_GATHER_ELEMENT, SCATTER_GATHER_LIST,
};
use ntstatus::{
    NtStatus, STATUS_BUFFER_TOO_SMALL, STATUS_INSUFFICIENT_RESOURCES, STATUS_NOT_SUPPORTED,
    STATUS_SUCCESS,
};

const PAGE: usize = 4096;
const PAGE_U32: u32 = 4096;
/// The most map registers an adapter has (1 MiB transfers).
pub const MAX_MAP_REGISTERS: u32 = 256;
/// `DMA_TRANSFER_CONTEXT_SIZE_V1` (Microsoft's `wdm.h`).
pub const DMA_TRANSFER_CONTEXT_SIZE_V1: usize = 128;
/// `DMA_SYNCHRONOUS_CALLBACK` (`AllocateAdapterChannelEx`'s and `GetScatterGatherListEx`'s flag).
const DMA_SYNCHRONOUS_CALLBACK: u32 = 0x1;
/// `DMA_ADAPTER_INFO_VERSION1`.
const DMA_ADAPTER_INFO_VERSION1: u32 = 1;
/// `ADAPTER_INFO_SYNCHRONOUS_CALLBACK`.
const ADAPTER_INFO_SYNCHRONOUS_CALLBACK: u32 = 0x1;
/// Where map register bases are made up: opaque, never mapped.
const MAP_REGISTER_REGION: usize = 0xffff_f80a_0000_0000;
/// `IO_ALLOCATION_ACTION`s.
const KEEP_OBJECT: i32 = KeepObject;
const DEALLOCATE_OBJECT: i32 = DeallocateObject;
const DEALLOCATE_OBJECT_KEEP_REGISTERS: i32 = DeallocateObjectKeepRegisters;
const FILL_UNINITIALIZED: u8 = 0xaa;
const FILL_FREED: u8 = 0xdf;
/// The words of a version 3 table.
const TABLE_WORDS: usize = DMA_OPERATIONS_SIZE3 as usize / 8;

const _: () = assert!(size_of::<DMA_ADAPTER>() == size_of::<[usize; 2]>());
const _: () = assert!(offset_of!(DMA_ADAPTER, Size) == 2);
const _: () = assert!(offset_of!(DMA_ADAPTER, DmaOperations) == 8);

/// The map registers an adapter for transfers of up to `maximum_length` bytes has: the pages
/// of the longest transfer plus one, at least 1, at most [`MAX_MAP_REGISTERS`].
#[must_use]
pub fn map_registers(maximum_length: u32) -> u32 {
    (maximum_length.div_ceil(PAGE_U32) + 1).clamp(1, MAX_MAP_REGISTERS)
}

/// A device object one of the channel or scatter/gather routines received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    /// The routine (`AllocateAdapterChannel`, ...).
    pub routine: &'static str,
    /// Its `DeviceObject`.
    pub device: usize,
    /// The adapter's `DmaOperations` at that call.
    pub table: usize,
}

/// An execution routine call the adapter made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    /// The routine that called it.
    pub routine: &'static str,
    /// The execution routine.
    pub function: usize,
    /// Its `DeviceObject`, `Irp`, `MapRegisterBase` (or the scatter/gather list) and `Context`.
    pub device: usize,
    /// `Irp`.
    pub irp: usize,
    /// `MapRegisterBase` or the list.
    pub argument: usize,
    /// `Context`.
    pub context: usize,
    /// What it returned (adapter-control routines).
    pub action: Option<i32>,
}

/// A live common buffer.
#[derive(Debug, Clone, Copy)]
struct Common {
    address: usize,
    length: u32,
    logical: u64,
    cached: bool,
}

/// Held map registers.
#[derive(Debug, Clone, Copy)]
struct Registers {
    base: usize,
    count: u32,
    /// Held with the channel (freed by `FreeAdapterChannel`/`FreeAdapterObject`).
    with_channel: bool,
}

/// One adapter.
struct Adapter {
    /// The `DMA_ADAPTER` (`Version` and `Size` in the first word, `DmaOperations` the second).
    head: Box<[usize; 2]>,
    pdo: usize,
    /// The table version (1 to 3) and its address.
    version: u32,
    table: usize,
    map_registers: u32,
    dma64: bool,
    put: bool,
    common: Vec<Common>,
    lists: Vec<usize>,
    channel: bool,
    registers: Vec<Registers>,
    contexts: Vec<usize>,
    uses: Vec<Use>,
    executions: Vec<Execution>,
}

impl Adapter {
    fn address(&self) -> usize {
        (&raw const *self.head).addr()
    }
}

/// What [`adapters_of`] tells about an adapter.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The `DMA_ADAPTER`.
    pub address: usize,
    /// Its table version (1 to 3).
    pub version: u32,
    /// The stand-in's static table it was made with.
    pub table: usize,
    /// Whether `PutDmaAdapter` came.
    pub put: bool,
    /// Device objects received.
    pub uses: Vec<Use>,
    /// Execution routine calls.
    pub executions: Vec<Execution>,
}

struct Dma {
    adapters: Vec<Adapter>,
    next_registers: usize,
    /// Lists the stand-in built and that were put (never reused).
    freed_lists: Vec<usize>,
}

static DMA: spin::Mutex<Dma> = spin::Mutex::new(Dma {
    adapters: Vec::new(),
    next_registers: MAP_REGISTER_REGION,
    freed_lists: Vec::new(),
});

/// The three tables (versions 1 to 3), filled once.
static TABLES: spin::Once<[[usize; TABLE_WORDS]; 3]> = spin::Once::new();

/// Declares the routines of the tables: for each `Field => implementation;` an entry thunk
/// `nt_dma_Field` that records the driver's return address in this CPU's slot of
/// [`verifier::CALLERS`] and jumps to the implementation (as the kernel routines' thunks do,
/// `crate::nt::routines`), so a message names the caller; `DMA_OFFSETS` holds each field's
/// offset in `DMA_OPERATIONS`, `nt_dma_entries` each thunk's address, in the same order.
macro_rules! thunks {
    ($($name:ident => $target:path;)*) => {
        core::arch::global_asm!(
            ".pushsection .text.nt_dma, \"ax\"",
            $(
                ".p2align 4",
                concat!("nt_dma_", stringify!($name), ":"),
                // As `routines::table!`'s thunks: RAX, R10 and R11 carry no argument.
                "mov r10, qword ptr [rsp]",
                "str r11d",
                "sub r11d, 0x18",
                "shr r11d, 1",
                "and r11d, 8",
                "lea rax, [rip + {callers}]",
                "mov qword ptr [rax + r11], r10",
                "jmp {}",
            )*
            ".popsection",
            ".pushsection .rodata.nt_dma, \"a\"",
            ".p2align 3",
            ".globl nt_dma_entries",
            ".hidden nt_dma_entries",
            "nt_dma_entries:",
            $(concat!(".quad nt_dma_", stringify!($name)),)*
            ".popsection",
            $(sym $target,)*
            callers = sym verifier::CALLERS,
        );

        /// Each routine's offset in `DMA_OPERATIONS`, in thunk order.
        const DMA_OFFSETS: &[usize] = &[$(offset_of!(DMA_OPERATIONS, $name)),*];

        // SAFETY: `nt_dma_entries` is defined by the assembly above as one quadword (an entry
        // thunk's address) per routine, in the order of `DMA_OFFSETS`, in read-only data.
        unsafe extern "C" {
            safe static nt_dma_entries: [usize; DMA_OFFSETS.len()];
        }
    };
}

thunks! {
    PutDmaAdapter => put_dma_adapter;
    AllocateCommonBuffer => allocate_common_buffer;
    FreeCommonBuffer => free_common_buffer;
    AllocateAdapterChannel => allocate_adapter_channel;
    FlushAdapterBuffers => flush_adapter_buffers;
    FreeAdapterChannel => free_adapter_channel;
    FreeMapRegisters => free_map_registers;
    MapTransfer => map_transfer;
    GetDmaAlignment => get_dma_alignment;
    ReadDmaCounter => read_dma_counter;
    GetScatterGatherList => get_scatter_gather_list;
    PutScatterGatherList => put_scatter_gather_list;
    CalculateScatterGatherList => calculate_scatter_gather_list;
    BuildScatterGatherList => build_scatter_gather_list;
    BuildMdlFromScatterGatherList => build_mdl_from_scatter_gather_list;
    GetDmaAdapterInfo => get_dma_adapter_info;
    GetDmaTransferInfo => get_dma_transfer_info;
    InitializeDmaTransferContext => initialize_dma_transfer_context;
    AllocateCommonBufferEx => allocate_common_buffer_ex;
    AllocateAdapterChannelEx => allocate_adapter_channel_ex;
    ConfigureAdapterChannel => configure_adapter_channel;
    CancelAdapterChannel => cancel_adapter_channel;
    MapTransferEx => map_transfer_ex;
    GetScatterGatherListEx => get_scatter_gather_list_ex;
    BuildScatterGatherListEx => build_scatter_gather_list_ex;
    FlushAdapterBuffersEx => flush_adapter_buffers_ex;
    FreeAdapterObject => free_adapter_object;
    CancelMappedTransfer => cancel_mapped_transfer;
}

fn tables() -> &'static [[usize; TABLE_WORDS]; 3] {
    TABLES.call_once(|| {
        let routines: Vec<(usize, usize)> = DMA_OFFSETS
            .iter()
            .copied()
            .zip(nt_dma_entries.iter().copied())
            .collect();
        let mut out = [[0usize; TABLE_WORDS]; 3];
        for (table, size) in out.iter_mut().zip([
            DMA_OPERATIONS_SIZE1,
            DMA_OPERATIONS_SIZE2,
            DMA_OPERATIONS_SIZE3,
        ]) {
            // `Size` (a ULONG) in the first word; the routines up to `Size`.
            if let Some(w) = table.first_mut() {
                *w = size as usize;
            }
            for &(offset, f) in &routines {
                if offset < size as usize
                    && let Some(w) = table.get_mut(offset / 8)
                {
                    *w = f;
                }
            }
        }
        out
    })
}

/// The stand-in's static table of version `version` (1 to 3).
#[must_use]
pub fn table_address(version: u32) -> usize {
    let index = usize::try_from(version.saturating_sub(1)).unwrap_or(0);
    tables().get(index).map_or(0, |t| t.as_ptr().addr())
}

/// `BUS_INTERFACE_STANDARD.GetDmaAdapter` of PCI PDO `pdo` (the interface checked its IRQL and
/// pointers): a new adapter for `description`, `*registers` its map registers; NULL for a
/// description version above 3.
pub fn get_adapter(pdo: usize, description: usize, registers: *mut u32) -> *mut c_void {
    // SAFETY: the routine's contract: a caller's DEVICE_DESCRIPTION.
    let d = unsafe { DriverObject::new(description, size_of::<DEVICE_DESCRIPTION>()) };
    let described: u32 = d.get(offset_of!(DEVICE_DESCRIPTION, Version)).unwrap_or(0);
    let version = match described {
        0 => 1,
        1 | 2 => 2,
        3 => 3,
        _ => return core::ptr::null_mut(),
    };
    let maximum: u32 = d
        .get(offset_of!(DEVICE_DESCRIPTION, MaximumLength))
        .unwrap_or(0);
    let dma64: u8 = d
        .get(offset_of!(DEVICE_DESCRIPTION, Dma64BitAddresses))
        .unwrap_or(0);
    let count = map_registers(maximum);
    let table = table_address(version);
    // `Version` 1, `Size` 16, then `DmaOperations`.
    let head = Box::new([1 | size_of::<DMA_ADAPTER>() << 16, table]);
    let adapter = Adapter {
        head,
        pdo,
        version,
        table,
        map_registers: count,
        dma64: dma64 != 0,
        put: false,
        common: Vec::new(),
        lists: Vec::new(),
        channel: false,
        registers: Vec::new(),
        contexts: Vec::new(),
        uses: Vec::new(),
        executions: Vec::new(),
    };
    let address = adapter.address();
    DMA.lock().adapters.push(adapter);
    if !registers.is_null() {
        // SAFETY: the routine's contract: a writable ULONG (non-NULL, checked).
        unsafe { registers.write_unaligned(count) };
    }
    core::ptr::with_exposed_provenance_mut(address)
}

/// Starts a DMA routine's checks: counted as `DMA_OPERATIONS.Name`, its IRQL at most `max`,
/// `adapter` a live adapter. Returns the call and the adapter's index.
fn enter(routine: &'static str, adapter: *mut c_void, max: u8) -> (Call, usize) {
    let call = verifier::enter(routine);
    call.at_most(max);
    let a = adapter.addr();
    let found = DMA
        .lock()
        .adapters
        .iter()
        .enumerate()
        .find(|(_, x)| x.address() == a)
        .map(|(i, x)| (i, x.put));
    match found {
        None => call.fail(format_args!(
            "DmaAdapter {a:#x} is not an adapter GetDmaAdapter returned"
        )),
        Some((_, true)) => call.fail(format_args!(
            "DmaAdapter {a:#x} was put already (PutDmaAdapter)"
        )),
        Some((i, false)) => (call, i),
    }
}

/// Runs `f` on adapter `i`'s record.
fn with<T>(i: usize, f: impl FnOnce(&mut Adapter) -> T) -> Option<T> {
    DMA.lock().adapters.get_mut(i).map(f)
}

/// Requires exactly `DISPATCH_LEVEL`.
fn at_dispatch(call: &Call) {
    call.require(
        call.irql == DISPATCH_LEVEL,
        format_args!(
            "called at IRQL {}: the routine must be called at DISPATCH_LEVEL",
            call.irql
        ),
    );
}

/// The adapter's `DmaOperations` now (a driver above may have replaced it).
fn table_now(adapter: *mut c_void) -> usize {
    // SAFETY: a live adapter's head (checked by `enter`), the stand-in's memory.
    let head = unsafe { DriverObject::new(adapter.addr(), size_of::<DMA_ADAPTER>()) };
    head.get::<usize>(offset_of!(DMA_ADAPTER, DmaOperations))
        .unwrap_or(0)
}

/// Checks `device` and records its use by `call`'s routine on adapter `i`; its `CurrentIrp`.
fn use_device(call: &Call, i: usize, adapter: *mut c_void, device: *mut c_void) -> usize {
    let _ = io::live_device(call, device, "DeviceObject", false);
    let table = table_now(adapter);
    let _ = with(i, |a| {
        a.uses.push(Use {
            routine: call.routine,
            device: device.addr(),
            table,
        });
    });
    io::device_object(device.addr())
        .get::<usize>(offset_of!(DEVICE_OBJECT, CurrentIrp))
        .unwrap_or(0)
}

/// Checks an execution routine's address: code of a loaded image.
fn routine_code(call: &Call, routine: usize) {
    call.require(
        loader::is_loaded_code(routine as u64),
        format_args!("ExecutionRoutine {routine:#x} is not in a loaded image's code"),
    );
}

/// A fresh map register base for `count` registers (NULL for none).
fn new_registers(i: usize, count: u32, with_channel: bool) -> usize {
    if count == 0 {
        return 0;
    }
    let mut dma = DMA.lock();
    let base = dma.next_registers;
    dma.next_registers = base.wrapping_add(0x1_0000);
    if let Some(a) = dma.adapters.get_mut(i) {
        a.registers.push(Registers {
            base,
            count,
            with_channel,
        });
    }
    base
}

/// Applies `action` (an execution routine's answer) to the channel and the registers at `base`.
fn apply(call: &Call, i: usize, base: usize, action: i32) {
    match action {
        KEEP_OBJECT => {}
        DEALLOCATE_OBJECT => {
            let _ = with(i, |a| {
                a.channel = false;
                a.registers.retain(|r| r.base != base);
            });
        }
        DEALLOCATE_OBJECT_KEEP_REGISTERS => {
            let _ = with(i, |a| {
                a.channel = false;
                for r in &mut a.registers {
                    if r.base == base {
                        r.with_channel = false;
                    }
                }
            });
        }
        other => call.fail(format_args!(
            "the execution routine returned {other}, not an IO_ALLOCATION_ACTION"
        )),
    }
}

/// Calls adapter-control routine `routine` at `DISPATCH_LEVEL` (raised there if below) with
/// (`device`, `irp`, `base`, `context`); records the call, returns its action.
fn call_control(
    call: &Call,
    i: usize,
    routine: usize,
    (device, irp, base, context): (usize, usize, usize, usize),
) -> i32 {
    routine_code(call, routine);
    let before = verifier::irql();
    verifier::set_irql(DISPATCH_LEVEL);
    // SAFETY: code of a loaded image (checked) the driver gave as its DRIVER_CONTROL routine,
    // which takes (DeviceObject, Irp, MapRegisterBase, Context) in the Microsoft x64 convention.
    let f = unsafe {
        core::mem::transmute::<usize, unsafe extern "win64" fn(usize, usize, usize, usize) -> i32>(
            routine,
        )
    };
    // SAFETY: as above; the arguments are what the routine's contract gives it.
    let action = unsafe { f(device, irp, base, context) };
    let after = verifier::irql();
    call.require(
        after == DISPATCH_LEVEL,
        format_args!("the execution routine {routine:#x} returned at IRQL {after}, called at 2"),
    );
    verifier::set_irql(before);
    let _ = with(i, |a| {
        a.executions.push(Execution {
            routine: call.routine,
            function: routine,
            device,
            irp,
            argument: base,
            context,
            action: Some(action),
        });
    });
    action
}

/// Calls list-control routine `routine` at `DISPATCH_LEVEL` with (`device`, `irp`, `list`,
/// `context`); records the call.
fn call_list_control(
    call: &Call,
    i: usize,
    routine: usize,
    (device, irp, list, context): (usize, usize, usize, usize),
) {
    routine_code(call, routine);
    let before = verifier::irql();
    verifier::set_irql(DISPATCH_LEVEL);
    // SAFETY: code of a loaded image (checked) the driver gave as its DRIVER_LIST_CONTROL
    // routine, which takes (DeviceObject, Irp, ScatterGather, Context) in the Microsoft x64
    // convention.
    let f = unsafe {
        core::mem::transmute::<usize, unsafe extern "win64" fn(usize, usize, usize, usize)>(routine)
    };
    // SAFETY: as above.
    unsafe { f(device, irp, list, context) };
    let after = verifier::irql();
    call.require(
        after == DISPATCH_LEVEL,
        format_args!("the execution routine {routine:#x} returned at IRQL {after}, called at 2"),
    );
    verifier::set_irql(before);
    let _ = with(i, |a| {
        a.executions.push(Execution {
            routine: call.routine,
            function: routine,
            device,
            irp,
            argument: list,
            context,
            action: None,
        });
    });
}

// ---- version 1 ------------------------------------------------------------------------------

extern "win64" fn put_dma_adapter(adapter: *mut c_void) {
    let (_call, i) = enter("DMA_OPERATIONS.PutDmaAdapter", adapter, PASSIVE_LEVEL);
    let _ = with(i, |a| a.put = true);
}

/// Allocates a common buffer of `length` bytes below `maximum` for adapter `i`.
fn common_buffer(
    call: &Call,
    i: usize,
    length: u32,
    logical: *mut i64,
    cached: u8,
    maximum: u64,
) -> *mut c_void {
    call.require(length != 0, format_args!("Length is 0"));
    call.require(!logical.is_null(), format_args!("LogicalAddress is NULL"));
    let size = usize::try_from(length)
        .unwrap_or(usize::MAX)
        .next_multiple_of(PAGE);
    let Ok(layout) = Layout::from_size_align(size, PAGE) else {
        return core::ptr::null_mut();
    };
    // SAFETY: a non-zero-size layout.
    let p = unsafe { alloc(layout) };
    if p.is_null() {
        return p.cast();
    }
    let physical = vm::translate(p.addr() as u64).unwrap_or(u64::MAX);
    if physical.saturating_add(size as u64 - 1) > maximum {
        // The allocator's memory lies above; the block is lost, as the request fails.
        return core::ptr::null_mut();
    }
    // SAFETY: a fresh allocation of `size` bytes.
    unsafe { p.write_bytes(FILL_UNINITIALIZED, size) };
    let _ = with(i, |a| {
        a.common.push(Common {
            address: p.addr(),
            length,
            logical: physical,
            cached: cached != 0,
        });
    });
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe { logical.write_unaligned(i64::try_from(physical).unwrap_or(-1)) };
    p.cast()
}

extern "win64" fn allocate_common_buffer(
    adapter: *mut c_void,
    length: u32,
    logical: *mut i64,
    cached: u8,
) -> *mut c_void {
    let (call, i) = enter(
        "DMA_OPERATIONS.AllocateCommonBuffer",
        adapter,
        PASSIVE_LEVEL,
    );
    common_buffer(&call, i, length, logical, cached, u64::MAX)
}

extern "win64" fn free_common_buffer(
    adapter: *mut c_void,
    length: u32,
    logical: i64,
    virtual_address: *mut c_void,
    cached: u8,
) {
    let (call, i) = enter("DMA_OPERATIONS.FreeCommonBuffer", adapter, PASSIVE_LEVEL);
    let va = virtual_address.addr();
    let Some(Some(block)) = with(i, |a| a.common.iter().find(|c| c.address == va).copied()) else {
        call.fail(format_args!(
            "VirtualAddress {va:#x} is not a common buffer of this adapter (never allocated, or \
             freed already)"
        ));
    };
    call.require(
        block.length == length
            && i64::try_from(block.logical).ok() == Some(logical)
            && block.cached == (cached != 0),
        format_args!(
            "Length {length:#x}, LogicalAddress {logical:#x}, CacheEnabled {cached} do not match \
             the allocation at {va:#x} ({:#x}, {:#x}, {})",
            block.length, block.logical, block.cached
        ),
    );
    let size = usize::try_from(length).unwrap_or(0).next_multiple_of(PAGE);
    // SAFETY: the block's `size` bytes, the kernel's again; never reused.
    unsafe { virtual_address.cast::<u8>().write_bytes(FILL_FREED, size) };
    let _ = with(i, |a| a.common.retain(|c| c.address != va));
}

extern "win64" fn allocate_adapter_channel(
    adapter: *mut c_void,
    device: *mut c_void,
    count: u32,
    routine: usize,
    context: usize,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.AllocateAdapterChannel",
        adapter,
        DISPATCH_LEVEL,
    );
    at_dispatch(&call);
    let irp = use_device(&call, i, adapter, device);
    call.require(routine != 0, format_args!("ExecutionRoutine is NULL"));
    channel(&call, i, count, (device.addr(), irp, routine, context))
}

/// Takes the channel and `count` registers of adapter `i` and runs `routine` with them.
fn channel(
    call: &Call,
    i: usize,
    count: u32,
    (device, irp, routine, context): (usize, usize, usize, usize),
) -> NtStatus {
    let (held, most) = with(i, |a| (a.channel, a.map_registers)).unwrap_or((false, 0));
    call.require(
        !held,
        format_args!(
            "the adapter channel is held (KeepObject): a queued request is not modelled by the \
             stand-in"
        ),
    );
    call.require(
        count <= most,
        format_args!("NumberOfMapRegisters {count} is more than the adapter's {most}"),
    );
    let _ = with(i, |a| a.channel = true);
    let base = new_registers(i, count, true);
    let action = call_control(call, i, routine, (device, irp, base, context));
    apply(call, i, base, action);
    STATUS_SUCCESS
}

extern "win64" fn flush_adapter_buffers(
    adapter: *mut c_void,
    _mdl: *mut c_void,
    _base: usize,
    _current: usize,
    _length: u32,
    _write: u8,
) -> u8 {
    let _ = enter(
        "DMA_OPERATIONS.FlushAdapterBuffers",
        adapter,
        DISPATCH_LEVEL,
    );
    1
}

extern "win64" fn free_adapter_channel(adapter: *mut c_void) {
    let (call, i) = enter("DMA_OPERATIONS.FreeAdapterChannel", adapter, DISPATCH_LEVEL);
    at_dispatch(&call);
    call.require(
        with(i, |a| a.channel) == Some(true),
        format_args!("the adapter channel is not held (no execution routine returned KeepObject)"),
    );
    let _ = with(i, |a| {
        a.channel = false;
        a.registers.retain(|r| !r.with_channel);
    });
}

extern "win64" fn free_map_registers(adapter: *mut c_void, base: usize, count: u32) {
    let (call, i) = enter("DMA_OPERATIONS.FreeMapRegisters", adapter, DISPATCH_LEVEL);
    at_dispatch(&call);
    let found = with(i, |a| a.registers.iter().find(|r| r.base == base).copied()).flatten();
    let Some(r) = found else {
        call.fail(format_args!(
            "MapRegisterBase {base:#x} is not held map registers of this adapter (never \
             allocated, or freed already)"
        ));
    };
    call.require(
        !r.with_channel,
        format_args!(
            "MapRegisterBase {base:#x} is held with the channel (KeepObject): FreeAdapterChannel \
             frees it"
        ),
    );
    call.require(
        r.count == count,
        format_args!(
            "NumberOfMapRegisters {count} is not the {} allocated at {base:#x}",
            r.count
        ),
    );
    let _ = with(i, |a| a.registers.retain(|x| x.base != base));
}

extern "win64" fn map_transfer(
    adapter: *mut c_void,
    mdl: *mut c_void,
    base: usize,
    current: usize,
    length: *mut u32,
    _write: u8,
) -> i64 {
    let (call, i) = enter("DMA_OPERATIONS.MapTransfer", adapter, DISPATCH_LEVEL);
    call.require(
        with(i, |a| a.registers.iter().any(|r| r.base == base)) == Some(true),
        format_args!("MapRegisterBase {base:#x} is not held map registers of this adapter"),
    );
    call.require(!length.is_null(), format_args!("Length is NULL"));
    // SAFETY: checked non-NULL; readable and writable by the routine's contract.
    let wanted = unsafe { length.read_unaligned() };
    let runs = transfer(&call, mdl.addr(), current, wanted);
    let Some(&(address, run)) = runs.first() else {
        return 0;
    };
    // SAFETY: as above.
    unsafe { length.write_unaligned(run) };
    i64::try_from(address).unwrap_or(0)
}

extern "win64" fn get_dma_alignment(adapter: *mut c_void) -> u32 {
    let _ = enter(
        "DMA_OPERATIONS.GetDmaAlignment",
        adapter,
        verifier::HIGH_LEVEL,
    );
    1
}

extern "win64" fn read_dma_counter(adapter: *mut c_void) -> u32 {
    let _ = enter("DMA_OPERATIONS.ReadDmaCounter", adapter, DISPATCH_LEVEL);
    0
}

/// The physically contiguous runs (address, bytes) of `length` bytes from `current` in MDL
/// `mdl`; fails the call when the range is not inside the MDL.
fn transfer(call: &Call, mdl: usize, current: usize, length: u32) -> Vec<(u64, u32)> {
    call.require(mdl != 0, format_args!("Mdl is NULL"));
    // SAFETY: the routine's contract: a valid MDL (its header, then its PFN array).
    let m = unsafe { DriverObject::new(mdl, size_of::<MDL>()) };
    let size: i16 = m.get(offset_of!(MDL, Size)).unwrap_or(0);
    let start: usize = m.get(offset_of!(MDL, StartVa)).unwrap_or(0);
    let count: u32 = m.get(offset_of!(MDL, ByteCount)).unwrap_or(0);
    let offset: u32 = m.get(offset_of!(MDL, ByteOffset)).unwrap_or(0);
    let va = start.wrapping_add(offset as usize);
    let end = va.wrapping_add(count as usize);
    let last = current.wrapping_add(length as usize);
    call.require(
        length != 0 && current >= va && last >= current && last <= end,
        format_args!(
            "CurrentVa {current:#x} + Length {length:#x} is not inside the MDL's {va:#x} + \
             {count:#x} (chained MDLs are not modelled by the stand-in)"
        ),
    );
    let pages = (offset as usize + count as usize).div_ceil(PAGE);
    let array_bytes = usize::try_from(size)
        .unwrap_or(0)
        .saturating_sub(size_of::<MDL>());
    call.require(
        array_bytes >= pages * 8,
        format_args!("the MDL's Size {size} has no room for its {pages} PFNs"),
    );
    // SAFETY: the PFN array follows the header inside `Size` bytes (checked above).
    let pfns = unsafe { DriverObject::new(mdl + size_of::<MDL>(), pages * 8) };
    let mut runs: Vec<(u64, u32)> = Vec::new();
    let mut at = current;
    while at < last {
        let page = (at - start) / PAGE;
        let pfn: u64 = pfns.get(page * 8).unwrap_or(0);
        let within = at % PAGE;
        let bytes = (PAGE - within).min(last - at);
        let address = pfn.wrapping_mul(PAGE as u64).wrapping_add(within as u64);
        let n = u32::try_from(bytes).unwrap_or(0);
        match runs.last_mut() {
            Some((a, l)) if a.wrapping_add(u64::from(*l)) == address => *l += n,
            _ => runs.push((address, n)),
        }
        at += bytes;
    }
    runs
}

/// The pages `length` bytes from `current` span.
fn span(current: usize, length: u32) -> u32 {
    u32::try_from((current % PAGE + length as usize).div_ceil(PAGE)).unwrap_or(u32::MAX)
}

/// The bytes of a list of `n` elements.
const fn list_bytes(n: usize) -> usize {
    offset_of!(SCATTER_GATHER_LIST, Elements) + n * size_of::<SCATTER_GATHER_ELEMENT>()
}

/// Writes the list of `runs` at `at` (room for it checked by the caller).
fn write_list(at: usize, runs: &[(u64, u32)]) {
    // SAFETY: the caller's buffer or the stand-in's block, `list_bytes(runs.len())` bytes.
    let l = unsafe { DriverObject::new(at, list_bytes(runs.len())) };
    l.set(
        offset_of!(SCATTER_GATHER_LIST, NumberOfElements),
        u32::try_from(runs.len()).unwrap_or(0),
    );
    l.set(offset_of!(SCATTER_GATHER_LIST, Reserved), 0usize);
    for (n, &(address, length)) in runs.iter().enumerate() {
        let e = offset_of!(SCATTER_GATHER_LIST, Elements) + n * size_of::<SCATTER_GATHER_ELEMENT>();
        l.set(e + offset_of!(SCATTER_GATHER_ELEMENT, Address), address);
        l.set(e + offset_of!(SCATTER_GATHER_ELEMENT, Length), length);
        l.set(e + offset_of!(SCATTER_GATHER_ELEMENT, Reserved), 0usize);
    }
}

/// Builds the list of `length` bytes from `current` in `mdl` for adapter `i`, in `buffer`
/// (`Some((address, bytes))`) or a block of the stand-in's; the list or the failure status.
fn build_list(
    call: &Call,
    i: usize,
    (mdl, current, length): (usize, usize, u32),
    buffer: Option<(usize, u32)>,
) -> Result<usize, NtStatus> {
    let most = with(i, |a| a.map_registers).unwrap_or(0);
    if span(current, length) > most {
        let _ = transfer(call, mdl, current, length);
        return Err(STATUS_INSUFFICIENT_RESOURCES);
    }
    let runs = transfer(call, mdl, current, length);
    let bytes = list_bytes(runs.len());
    let at = if let Some((address, room)) = buffer {
        call.require(address != 0, format_args!("ScatterGatherBuffer is NULL"));
        if (room as usize) < bytes {
            return Err(STATUS_BUFFER_TOO_SMALL);
        }
        address
    } else {
        let Ok(layout) = Layout::from_size_align(bytes, 16) else {
            return Err(STATUS_INSUFFICIENT_RESOURCES);
        };
        // SAFETY: a non-zero-size layout.
        let p = unsafe { alloc(layout) };
        if p.is_null() {
            return Err(STATUS_INSUFFICIENT_RESOURCES);
        }
        p.addr()
    };
    write_list(at, &runs);
    let _ = with(i, |a| a.lists.push(at));
    // A caller's buffer may hold a list again after its put.
    DMA.lock().freed_lists.retain(|&l| l != at);
    Ok(at)
}

extern "win64" fn get_scatter_gather_list(
    adapter: *mut c_void,
    device: *mut c_void,
    mdl: *mut c_void,
    current: usize,
    length: u32,
    routine: usize,
    context: usize,
    _write: u8,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.GetScatterGatherList",
        adapter,
        DISPATCH_LEVEL,
    );
    at_dispatch(&call);
    let irp = use_device(&call, i, adapter, device);
    call.require(routine != 0, format_args!("ExecutionRoutine is NULL"));
    match build_list(&call, i, (mdl.addr(), current, length), None) {
        Ok(list) => {
            call_list_control(&call, i, routine, (device.addr(), irp, list, context));
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

extern "win64" fn put_scatter_gather_list(adapter: *mut c_void, list: usize, _write: u8) {
    let (call, i) = enter(
        "DMA_OPERATIONS.PutScatterGatherList",
        adapter,
        DISPATCH_LEVEL,
    );
    at_dispatch(&call);
    if with(i, |a| a.lists.contains(&list)) != Some(true) {
        let again = DMA.lock().freed_lists.contains(&list);
        call.fail(format_args!(
            "ScatterGather {list:#x} is not a live list of this adapter{}",
            if again { " (put already)" } else { "" }
        ));
    }
    let _ = with(i, |a| a.lists.retain(|&l| l != list));
    DMA.lock().freed_lists.push(list);
}

// ---- version 2 ------------------------------------------------------------------------------

extern "win64" fn calculate_scatter_gather_list(
    adapter: *mut c_void,
    mdl: *mut c_void,
    current: usize,
    length: u32,
    list_size: *mut u32,
    registers: *mut u32,
) -> NtStatus {
    let (call, _i) = enter(
        "DMA_OPERATIONS.CalculateScatterGatherList",
        adapter,
        DISPATCH_LEVEL,
    );
    call.require(
        !list_size.is_null(),
        format_args!("ScatterGatherListSize is NULL"),
    );
    if !mdl.is_null() {
        let _ = transfer(&call, mdl.addr(), current, length);
    }
    let pages = span(current, length);
    let bytes = u32::try_from(list_bytes(pages as usize)).unwrap_or(u32::MAX);
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe { list_size.write_unaligned(bytes) };
    if !registers.is_null() {
        // SAFETY: non-NULL (optional); writable by the routine's contract.
        unsafe { registers.write_unaligned(pages) };
    }
    STATUS_SUCCESS
}

extern "win64" fn build_scatter_gather_list(
    adapter: *mut c_void,
    device: *mut c_void,
    mdl: *mut c_void,
    current: usize,
    length: u32,
    routine: usize,
    context: usize,
    _write: u8,
    buffer: usize,
    buffer_length: u32,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.BuildScatterGatherList",
        adapter,
        DISPATCH_LEVEL,
    );
    at_dispatch(&call);
    let irp = use_device(&call, i, adapter, device);
    call.require(routine != 0, format_args!("ExecutionRoutine is NULL"));
    match build_list(
        &call,
        i,
        (mdl.addr(), current, length),
        Some((buffer, buffer_length)),
    ) {
        Ok(list) => {
            call_list_control(&call, i, routine, (device.addr(), irp, list, context));
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

extern "win64" fn build_mdl_from_scatter_gather_list(
    adapter: *mut c_void,
    _list: usize,
    _original: usize,
    _target: usize,
) -> NtStatus {
    let _ = enter(
        "DMA_OPERATIONS.BuildMdlFromScatterGatherList",
        adapter,
        DISPATCH_LEVEL,
    );
    STATUS_NOT_SUPPORTED
}

// ---- version 3 ------------------------------------------------------------------------------

extern "win64" fn get_dma_adapter_info(adapter: *mut c_void, info: usize) -> NtStatus {
    let (call, i) = enter("DMA_OPERATIONS.GetDmaAdapterInfo", adapter, DISPATCH_LEVEL);
    call.require(info != 0, format_args!("AdapterInfo is NULL"));
    // SAFETY: the routine's contract: a DMA_ADAPTER_INFO (Version, then version 1's five ULONGs).
    let o = unsafe { DriverObject::new(info, 24) };
    if o.get::<u32>(0) != Some(DMA_ADAPTER_INFO_VERSION1) {
        return STATUS_NOT_SUPPORTED;
    }
    let (registers, dma64) = with(i, |a| (a.map_registers, a.dma64)).unwrap_or((0, false));
    o.set(4, 0u32); // ReadDmaCounterAvailable
    o.set(8, registers); // ScatterGatherLimit
    o.set(12, if dma64 { 64u32 } else { 32 }); // DmaAddressWidth
    o.set(16, ADAPTER_INFO_SYNCHRONOUS_CALLBACK); // Flags
    o.set(20, 1u32); // MinimumTransferUnit
    STATUS_SUCCESS
}

extern "win64" fn get_dma_transfer_info(
    adapter: *mut c_void,
    _mdl: usize,
    _offset: u64,
    _length: u32,
    _write_only: u8,
    _info: usize,
) -> NtStatus {
    let _ = enter("DMA_OPERATIONS.GetDmaTransferInfo", adapter, DISPATCH_LEVEL);
    STATUS_NOT_SUPPORTED
}

extern "win64" fn initialize_dma_transfer_context(
    adapter: *mut c_void,
    context: usize,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.InitializeDmaTransferContext",
        adapter,
        DISPATCH_LEVEL,
    );
    call.require(context != 0, format_args!("DmaTransferContext is NULL"));
    // SAFETY: the routine's contract: DMA_TRANSFER_CONTEXT_SIZE_V1 writable bytes.
    let o = unsafe { DriverObject::new(context, DMA_TRANSFER_CONTEXT_SIZE_V1) };
    o.set(0, [0u8; DMA_TRANSFER_CONTEXT_SIZE_V1]);
    let _ = with(i, |a| {
        if !a.contexts.contains(&context) {
            a.contexts.push(context);
        }
    });
    STATUS_SUCCESS
}

/// Requires `context` to be a transfer context `InitializeDmaTransferContext` initialised for
/// adapter `i`.
fn initialised(call: &Call, i: usize, context: usize) {
    call.require(
        with(i, |a| a.contexts.contains(&context)) == Some(true),
        format_args!(
            "DmaTransferContext {context:#x} was not initialised (InitializeDmaTransferContext) \
             for this adapter"
        ),
    );
}

extern "win64" fn allocate_common_buffer_ex(
    adapter: *mut c_void,
    maximum: *const i64,
    length: u32,
    logical: *mut i64,
    cached: u8,
    _node: u32,
) -> *mut c_void {
    let (call, i) = enter(
        "DMA_OPERATIONS.AllocateCommonBufferEx",
        adapter,
        PASSIVE_LEVEL,
    );
    let highest = if maximum.is_null() {
        u64::MAX
    } else {
        // SAFETY: non-NULL (optional); readable by the routine's contract.
        unsafe { maximum.read_unaligned() }.cast_unsigned()
    };
    common_buffer(&call, i, length, logical, cached, highest)
}

extern "win64" fn allocate_adapter_channel_ex(
    adapter: *mut c_void,
    device: *mut c_void,
    transfer_context: usize,
    count: u32,
    flags: u32,
    routine: usize,
    context: usize,
    base_out: *mut usize,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.AllocateAdapterChannelEx",
        adapter,
        DISPATCH_LEVEL,
    );
    let irp = use_device(&call, i, adapter, device);
    initialised(&call, i, transfer_context);
    call.require(
        flags & !DMA_SYNCHRONOUS_CALLBACK == 0,
        format_args!("Flags {flags:#x} holds unknown bits"),
    );
    if routine != 0 {
        return channel(&call, i, count, (device.addr(), irp, routine, context));
    }
    call.require(
        flags & DMA_SYNCHRONOUS_CALLBACK != 0 && !base_out.is_null(),
        format_args!(
            "a NULL ExecutionRoutine needs DMA_SYNCHRONOUS_CALLBACK and MapRegisterBase (Flags \
             {flags:#x}, MapRegisterBase {:#x})",
            base_out.addr()
        ),
    );
    let (held, most) = with(i, |a| (a.channel, a.map_registers)).unwrap_or((false, 0));
    call.require(
        !held,
        format_args!(
            "the adapter channel is held: a queued request is not modelled by the stand-in"
        ),
    );
    call.require(
        count <= most,
        format_args!("NumberOfMapRegisters {count} is more than the adapter's {most}"),
    );
    let _ = with(i, |a| a.channel = true);
    let base = new_registers(i, count, true);
    // SAFETY: checked non-NULL; writable by the routine's contract.
    unsafe { base_out.write_unaligned(base) };
    STATUS_SUCCESS
}

extern "win64" fn configure_adapter_channel(
    adapter: *mut c_void,
    _function: u32,
    _context: usize,
) -> NtStatus {
    let _ = enter(
        "DMA_OPERATIONS.ConfigureAdapterChannel",
        adapter,
        DISPATCH_LEVEL,
    );
    STATUS_NOT_SUPPORTED
}

extern "win64" fn cancel_adapter_channel(
    adapter: *mut c_void,
    device: *mut c_void,
    transfer_context: usize,
) -> u8 {
    let (call, i) = enter(
        "DMA_OPERATIONS.CancelAdapterChannel",
        adapter,
        DISPATCH_LEVEL,
    );
    let _ = use_device(&call, i, adapter, device);
    initialised(&call, i, transfer_context);
    // Allocations complete at once: nothing is ever pending.
    0
}

extern "win64" fn map_transfer_ex(
    adapter: *mut c_void,
    _mdl: usize,
    _base: usize,
    _offset: u64,
    _device_offset: u32,
    _length: usize,
    _write: u8,
    _list: usize,
    _list_length: u32,
    _completion: usize,
    _completion_context: usize,
) -> NtStatus {
    let _ = enter("DMA_OPERATIONS.MapTransferEx", adapter, DISPATCH_LEVEL);
    STATUS_NOT_SUPPORTED
}

#[expect(
    clippy::too_many_arguments,
    reason = "the routines' parameters, grouped"
)]
/// The `Ex` scatter/gather routines: the list of `length` bytes at `offset` from the MDL's
/// virtual address.
fn scatter_gather_ex(
    call: &Call,
    i: usize,
    adapter: *mut c_void,
    device: *mut c_void,
    (transfer_context, mdl, offset, length, flags): (usize, usize, u64, u32, u32),
    (routine, context, completion): (usize, usize, usize),
    buffer: Option<(usize, u32)>,
    list_out: *mut usize,
) -> NtStatus {
    let irp = use_device(call, i, adapter, device);
    initialised(call, i, transfer_context);
    call.require(
        flags & !DMA_SYNCHRONOUS_CALLBACK == 0,
        format_args!("Flags {flags:#x} holds unknown bits"),
    );
    if completion != 0 {
        // DMA completion routines belong to system DMA and MapTransferEx: not modelled.
        return STATUS_NOT_SUPPORTED;
    }
    call.require(mdl != 0, format_args!("Mdl is NULL"));
    // SAFETY: the routine's contract: a valid MDL.
    let m = unsafe { DriverObject::new(mdl, size_of::<MDL>()) };
    let start: usize = m.get(offset_of!(MDL, StartVa)).unwrap_or(0);
    let byte_offset: u32 = m.get(offset_of!(MDL, ByteOffset)).unwrap_or(0);
    let current = start
        .wrapping_add(byte_offset as usize)
        .wrapping_add(usize::try_from(offset).unwrap_or(usize::MAX));
    if routine == 0 {
        call.require(
            flags & DMA_SYNCHRONOUS_CALLBACK != 0 && !list_out.is_null(),
            format_args!(
                "a NULL ExecutionRoutine needs DMA_SYNCHRONOUS_CALLBACK and ScatterGatherList"
            ),
        );
    }
    match build_list(call, i, (mdl, current, length), buffer) {
        Ok(list) => {
            if routine == 0 {
                // SAFETY: checked non-NULL; writable by the routine's contract.
                unsafe { list_out.write_unaligned(list) };
            } else {
                call_list_control(call, i, routine, (device.addr(), irp, list, context));
            }
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

extern "win64" fn get_scatter_gather_list_ex(
    adapter: *mut c_void,
    device: *mut c_void,
    transfer_context: usize,
    mdl: usize,
    offset: u64,
    length: u32,
    flags: u32,
    routine: usize,
    context: usize,
    _write: u8,
    completion: usize,
    _completion_context: usize,
    list_out: *mut usize,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.GetScatterGatherListEx",
        adapter,
        DISPATCH_LEVEL,
    );
    scatter_gather_ex(
        &call,
        i,
        adapter,
        device,
        (transfer_context, mdl, offset, length, flags),
        (routine, context, completion),
        None,
        list_out,
    )
}

extern "win64" fn build_scatter_gather_list_ex(
    adapter: *mut c_void,
    device: *mut c_void,
    transfer_context: usize,
    mdl: usize,
    offset: u64,
    length: u32,
    flags: u32,
    routine: usize,
    context: usize,
    _write: u8,
    buffer: usize,
    buffer_length: u32,
    completion: usize,
    _completion_context: usize,
    list_out: *mut usize,
) -> NtStatus {
    let (call, i) = enter(
        "DMA_OPERATIONS.BuildScatterGatherListEx",
        adapter,
        DISPATCH_LEVEL,
    );
    scatter_gather_ex(
        &call,
        i,
        adapter,
        device,
        (transfer_context, mdl, offset, length, flags),
        (routine, context, completion),
        Some((buffer, buffer_length)),
        list_out,
    )
}

extern "win64" fn flush_adapter_buffers_ex(
    adapter: *mut c_void,
    _mdl: usize,
    _base: usize,
    _offset: u64,
    _length: u32,
    _write: u8,
) -> NtStatus {
    let _ = enter(
        "DMA_OPERATIONS.FlushAdapterBuffersEx",
        adapter,
        DISPATCH_LEVEL,
    );
    STATUS_NOT_SUPPORTED
}

extern "win64" fn free_adapter_object(adapter: *mut c_void, action: i32) {
    let (call, i) = enter("DMA_OPERATIONS.FreeAdapterObject", adapter, DISPATCH_LEVEL);
    call.require(
        with(i, |a| a.channel) == Some(true),
        format_args!("the adapter channel is not held"),
    );
    match action {
        DEALLOCATE_OBJECT => {
            let _ = with(i, |a| {
                a.channel = false;
                a.registers.retain(|r| !r.with_channel);
            });
        }
        DEALLOCATE_OBJECT_KEEP_REGISTERS => {
            let _ = with(i, |a| {
                a.channel = false;
                for r in &mut a.registers {
                    r.with_channel = false;
                }
            });
        }
        other => call.fail(format_args!(
            "AllocationAction {other} is not DeallocateObject or DeallocateObjectKeepRegisters"
        )),
    }
}

extern "win64" fn cancel_mapped_transfer(adapter: *mut c_void, _context: usize) -> NtStatus {
    let _ = enter(
        "DMA_OPERATIONS.CancelMappedTransfer",
        adapter,
        DISPATCH_LEVEL,
    );
    STATUS_NOT_SUPPORTED
}

// ---- records --------------------------------------------------------------------------------

/// What adapter `a` still holds, one line per kind; empty when nothing.
fn held(a: &Adapter) -> Vec<String> {
    let mut out = Vec::new();
    let at = a.address();
    if !a.put {
        out.push(alloc::format!("adapter {at:#x} not put"));
    }
    for c in &a.common {
        out.push(alloc::format!(
            "adapter {at:#x}: common buffer {:#x} ({:#x} bytes)",
            c.address,
            c.length
        ));
    }
    for l in &a.lists {
        out.push(alloc::format!(
            "adapter {at:#x}: scatter/gather list {l:#x}"
        ));
    }
    if a.channel {
        out.push(alloc::format!("adapter {at:#x}: channel held"));
    }
    for r in &a.registers {
        out.push(alloc::format!(
            "adapter {at:#x}: {} map registers at {:#x}",
            r.count,
            r.base
        ));
    }
    out
}

/// Everything outstanding on every adapter (all PDOs): adapters not put, common buffers,
/// scatter/gather lists, held channels and map registers.
pub fn outstanding() -> Vec<String> {
    DMA.lock().adapters.iter().flat_map(held).collect()
}

/// PCI PDO `pdo` is being deleted: anything its adapters still hold fails the run.
pub fn pdo_deleted(pdo: usize) {
    let left: Vec<String> = DMA
        .lock()
        .adapters
        .iter()
        .filter(|a| a.pdo == pdo)
        .flat_map(held)
        .collect();
    if !left.is_empty() {
        verifier::violation(
            "IoDeleteDevice (PCI PDO)",
            0,
            format_args!(
                "the PDO {pdo:#x}'s DMA adapters still hold: {}",
                left.join("; ")
            ),
        );
    }
}

/// The adapters PCI PDO `pdo`'s `GetDmaAdapter` made, in order.
pub fn adapters_of(pdo: usize) -> Vec<Summary> {
    DMA.lock()
        .adapters
        .iter()
        .filter(|a| a.pdo == pdo)
        .map(|a| Summary {
            address: a.address(),
            version: a.version,
            table: a.table,
            put: a.put,
            uses: a.uses.clone(),
            executions: a.executions.clone(),
        })
        .collect()
}
