// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A child PDO's `BUS_INTERFACE_STANDARD` on Windows (upstream `bus.c`).
//!
//! Every PDO owns a [`PdoBus`]: the interface's context, with its own reference count. Its
//! routines forward to the platform device's bus interface, which the FDO holds from
//! `AddDevice` to removal; once that is gone they answer as a bus with nothing there (0 bytes,
//! no translation, no adapter). `GetDmaAdapter` first sets the caller's description to
//! `PCIBus` ([`crate::pnp::bus`] says why), then intercepts the adapter when
//! `InterceptDmaAdapter` asks for it ([`super::dma`]). The routines run at the IRQL their
//! callers may use: up to `DISPATCH_LEVEL` (`GetDmaAdapter`: `PASSIVE_LEVEL`).

use alloc::sync::Weak;
use core::ffi::c_void;

use ntddk::{
    BUS_INTERFACE_STANDARD, DEVICE_DESCRIPTION, DMA_ADAPTER, GET_SET_DEVICE_DATA, PHYSICAL_ADDRESS,
};
use platform_port::plog;
use platform_windows::WindowsPlatform;

use super::fdo::FdoDevice;
use super::pdo::BUS_INTERFACE_SIZE;
use crate::pnp::bus::{BusReferences, DMA_INTERFACE_TYPE};
use crate::pnp::dma::Interception;

/// The context of a PDO's bus interface.
pub struct PdoBus {
    references: BusReferences,
    fdo: Weak<FdoDevice>,
    /// The interception `InterceptDmaAdapter` asked for when the PDO was created.
    interception: Interception,
    platform: WindowsPlatform,
}

impl PdoBus {
    /// The context of a PDO of `fdo`.
    pub const fn new(
        fdo: Weak<FdoDevice>,
        interception: Interception,
        platform: WindowsPlatform,
    ) -> Self {
        Self {
            references: BusReferences::new(),
            fdo,
            interception,
            platform,
        }
    }

    /// The interface a query gets, referenced (upstream `PdoQueryBusInterface`). The context
    /// is this value's address: it lives as long as the PDO.
    pub fn interface(&self) -> BUS_INTERFACE_STANDARD {
        self.references.reference();
        BUS_INTERFACE_STANDARD {
            Size: BUS_INTERFACE_SIZE,
            Version: 1,
            Context: core::ptr::from_ref(self).cast_mut().cast(),
            InterfaceReference: Some(bus_reference),
            InterfaceDereference: Some(bus_dereference),
            TranslateBusAddress: Some(bus_translate),
            GetDmaAdapter: Some(bus_get_dma_adapter),
            SetBusData: Some(bus_set_data),
            GetBusData: Some(bus_get_data),
        }
    }

    /// The platform device's bus interface (a copy; `None` once the FDO released it).
    fn lower(&self) -> Option<BUS_INTERFACE_STANDARD> {
        self.fdo.upgrade()?.lower_bus_interface()
    }
}

impl Drop for PdoBus {
    fn drop(&mut self) {
        let held = self.references.count();
        if held != 0 {
            plog!(
                self.platform,
                Error,
                "xenbus|PDO: BUS_INTERFACE_STANDARD still referenced {held} time(s) at deletion"
            );
        }
    }
}

/// The context of an interface this module handed out.
///
/// # Safety
/// `context` is a [`PdoBus`] address from [`PdoBus::interface`] whose PDO still exists (the
/// interface's contract: a child stops using it before its PDO is removed).
const unsafe fn context<'a>(context: *mut c_void) -> Option<&'a PdoBus> {
    // SAFETY: the caller's contract.
    unsafe { context.cast::<PdoBus>().as_ref() }
}

unsafe extern "system" fn bus_reference(ctx: *mut c_void) {
    // SAFETY: the interface's own context.
    if let Some(bus) = unsafe { context(ctx) } {
        bus.references.reference();
    }
}

unsafe extern "system" fn bus_dereference(ctx: *mut c_void) {
    // SAFETY: the interface's own context.
    let Some(bus) = (unsafe { context(ctx) }) else {
        return;
    };
    if bus.references.dereference().is_err() {
        plog!(
            bus.platform,
            Error,
            "xenbus|PDO: BUS_INTERFACE_STANDARD dereferenced more than referenced"
        );
    }
}

unsafe extern "system" fn bus_translate(
    ctx: *mut c_void,
    address: PHYSICAL_ADDRESS,
    length: u32,
    space: *mut u32,
    translated: *mut PHYSICAL_ADDRESS,
) -> u8 {
    // SAFETY: the interface's own context.
    let Some(lower) = (unsafe { context(ctx) }).and_then(PdoBus::lower) else {
        return 0;
    };
    let Some(translate) = lower.TranslateBusAddress else {
        return 0;
    };
    // SAFETY: the platform device's routine with its context; the caller's outputs.
    unsafe { translate(lower.Context, address, length, space, translated) }
}

unsafe extern "system" fn bus_get_dma_adapter(
    ctx: *mut c_void,
    description: *mut DEVICE_DESCRIPTION,
    registers: *mut u32,
) -> *mut DMA_ADAPTER {
    // SAFETY: the interface's own context.
    let Some(bus) = (unsafe { context(ctx) }) else {
        return core::ptr::null_mut();
    };
    if description.is_null() {
        return core::ptr::null_mut();
    }
    let interface_type = description
        .wrapping_byte_add(core::mem::offset_of!(DEVICE_DESCRIPTION, InterfaceType))
        .cast::<i32>();
    // SAFETY: a field of the caller's description (every version has it), written in place
    // as upstream writes it.
    unsafe { interface_type.write_unaligned(DMA_INTERFACE_TYPE) };
    let Some(fdo) = bus.fdo.upgrade() else {
        return core::ptr::null_mut();
    };
    let Some(lower) = fdo.lower_bus_interface() else {
        return core::ptr::null_mut();
    };
    let Some(get) = lower.GetDmaAdapter else {
        return core::ptr::null_mut();
    };
    // SAFETY: the platform device's routine with its context; the caller's arguments.
    let adapter = unsafe { get(lower.Context, description, registers) };
    if adapter.is_null() || bus.interception == Interception::None {
        return adapter;
    }
    // SAFETY: a live adapter of the platform device's bus, just made for this call; the
    // platform device's PDO outlives every child (the FDO on it removes them first).
    match unsafe { super::dma::intercept(adapter, bus.interception, fdo.physical.0, bus.platform) }
    {
        Ok(ours) => ours,
        Err(why) => {
            plog!(
                bus.platform,
                Warning,
                "xenbus|PDO: DMA adapter {:p} given out unchanged, not intercepted: {:?}",
                adapter,
                why
            );
            adapter
        }
    }
}

/// `SetBusData` or `GetBusData` (`pick`) of the platform device's bus interface, with the
/// caller's arguments; 0 bytes once it is gone.
///
/// # Safety
/// As the routines': `ctx` the interface's own context, `buffer` the caller's.
unsafe fn bus_data(
    ctx: *mut c_void,
    pick: fn(&BUS_INTERFACE_STANDARD) -> Option<GET_SET_DEVICE_DATA>,
    (space, buffer, offset, length): (u32, *mut c_void, u32, u32),
) -> u32 {
    // SAFETY: the interface's own context.
    let Some(lower) = (unsafe { context(ctx) }).and_then(PdoBus::lower) else {
        return 0;
    };
    let Some(routine) = pick(&lower) else {
        return 0;
    };
    // SAFETY: the platform device's routine with its context; the caller's buffer.
    unsafe { routine(lower.Context, space, buffer, offset, length) }
}

unsafe extern "system" fn bus_set_data(
    ctx: *mut c_void,
    space: u32,
    buffer: *mut c_void,
    offset: u32,
    length: u32,
) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { bus_data(ctx, |bus| bus.SetBusData, (space, buffer, offset, length)) }
}

unsafe extern "system" fn bus_get_data(
    ctx: *mut c_void,
    space: u32,
    buffer: *mut c_void,
    offset: u32,
    length: u32,
) -> u32 {
    // SAFETY: forwarded from the caller.
    unsafe { bus_data(ctx, |bus| bus.GetBusData, (space, buffer, offset, length)) }
}
