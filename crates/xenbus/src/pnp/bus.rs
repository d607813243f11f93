// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A child PDO's `BUS_INTERFACE_STANDARD` (upstream `bus.c`): what it decides.
//!
//! Each PDO hands out its own interface (its own context and reference count). Configuration
//! space access and address translation go to the platform device's bus interface below the
//! FDO, so children see the Xen platform PCI device. `GetDmaAdapter` first sets the caller's
//! `DEVICE_DESCRIPTION.InterfaceType` to `PCIBus` (upstream hard-codes it against map-register
//! races seen on Windows Server 2008; the caller's description is changed in place, as
//! upstream changes it), then asks the platform device's bus for the adapter.
//!
//! `InterceptDmaAdapter` (xenbus's `Parameters`, DWORD, default 0) decides whether the adapter
//! is intercepted: [`crate::pnp::dma`].

use core::sync::atomic::{AtomicU32, Ordering};

/// `PCIBus`: the interface type every child's DMA adapter is asked for.
pub const DMA_INTERFACE_TYPE: i32 = 5;

/// A dereference without a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unbalanced;

/// The interface's reference count (upstream: a counter only, not the context's lifetime).
#[derive(Debug, Default)]
pub struct BusReferences(AtomicU32);

impl BusReferences {
    /// No reference.
    #[must_use]
    pub const fn new() -> Self {
        Self(AtomicU32::new(0))
    }

    /// `InterfaceReference`.
    pub fn reference(&self) {
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_add(1));
    }

    /// `InterfaceDereference`.
    ///
    /// # Errors
    /// [`Unbalanced`] when no reference is held (the count stays 0).
    pub fn dereference(&self) -> Result<(), Unbalanced> {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .map(|_| ())
            .map_err(|_| Unbalanced)
    }

    /// References held.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dma_interface_type_is_pci_bus() {
        assert_eq!(DMA_INTERFACE_TYPE, 5, "PCIBus in INTERFACE_TYPE");
    }

    #[test]
    fn references_count_and_an_extra_dereference_is_refused() {
        let r = BusReferences::new();
        assert_eq!(r.dereference(), Err(Unbalanced));
        assert_eq!(r.count(), 0);
        r.reference();
        r.reference();
        assert_eq!(r.count(), 2);
        assert_eq!(r.dereference(), Ok(()));
        assert_eq!(r.dereference(), Ok(()));
        assert_eq!(r.dereference(), Err(Unbalanced));
        assert_eq!(r.count(), 0);
    }
}
