// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The active FDO's side of the toolstack protocol in xenstore.
//!
//! As its threads and its power transitions run it: which child classes `device/` asks for (the scan thread), what
//! `control/shutdown` asks for (the suspend thread), the `control/feature-*` flags that tell
//! the toolstack what the guest can do, and the `drivers/<N>` entry that names the driver.
//!
//! Each function makes the store requests and returns a typed answer; the glue's threads wait
//! on the watch events and hold the FDO's mutex only around [`super::fdo::Fdo::enumerate`].

use alloc::string::String;
use alloc::vec::Vec;

use super::distribution::{self, Lookup, Version};
use crate::pdo_identity::{self, Bus};
use crate::store::{Store, StoreError, Transport};
use platform_port::Irql;

/// The registry's say in the scan (`Parameters`: `SyntheticClasses`, `SupportedClasses`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSettings {
    /// Classes enumerated whatever xenstore lists.
    pub synthetic: Vec<String>,
    /// The allow-list; `None` (the value is missing) means no child at all.
    pub supported: Option<Vec<String>>,
}

/// The classes the scan thread's pass finds.
///
/// `device/`'s children (upper-cased) and the
/// synthetic classes, kept if supported (see [`pdo_identity::select_classes`]). A `device/`
/// that cannot be read contributes nothing, as in the C package.
pub fn scan_classes<P: Irql + Clone, T: Transport>(
    store: &Store<P, T>,
    bus: &Bus,
    settings: &ScanSettings,
) -> Vec<String> {
    let listed: Option<Vec<String>> = store.directory(None, None, b"device").ok().map(|buffer| {
        let names = buffer
            .entries()
            .map(|entry| String::from_utf8_lossy(entry).into_owned())
            .collect();
        store.free(buffer);
        names
    });
    let store_names: Option<Vec<&str>> = listed
        .as_ref()
        .map(|names| names.iter().map(String::as_str).collect());
    let synthetic: Vec<&str> = settings.synthetic.iter().map(String::as_str).collect();
    let supported: Option<Vec<&str>> = settings
        .supported
        .as_ref()
        .map(|list| list.iter().map(String::as_str).collect());
    pdo_identity::select_classes(
        bus,
        store_names.as_deref(),
        &synthetic,
        supported.as_deref(),
    )
}

/// What the suspend thread's pass did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuspendPass {
    /// The FDO is not in D0: nothing read.
    NotInD0,
    /// `control/shutdown` is missing or holds something other than `suspend` (the value, lossy
    /// UTF-8; `poweroff`, `reboot` and `halt` are for other drivers).
    NotSuspend(Option<String>),
    /// A balloon operation holds the suspend lock; the balloon thread wakes this thread when
    /// it is done.
    BalloonBusy,
    /// The request was acknowledged (`control/shutdown` set to the empty string) and the
    /// domain suspended and resumed.
    Suspended,
    /// Acknowledging failed, so the toolstack would wait for ever: the suspend was not
    /// attempted.
    AcknowledgeFailed(StoreError),
}

/// One pass of the suspend thread, after its watch on `control/shutdown` fired.
///
/// `try_lock_balloon` tries the mutex the balloon thread holds across an operation (the
/// guard is held across the suspend); `suspend` runs `SUSPEND Trigger`; `wake_balloon` wakes
/// the balloon thread afterwards, since a target change may have been missed.
pub fn suspend_pass<P: Irql + Clone, T: Transport, G>(
    store: &Store<P, T>,
    in_d0: bool,
    try_lock_balloon: impl FnOnce() -> Option<G>,
    suspend: impl FnOnce(),
    wake_balloon: impl FnOnce(),
) -> SuspendPass {
    if !in_d0 {
        return SuspendPass::NotInD0;
    }
    match store.read(None, None, b"control/shutdown") {
        Ok(buffer) => {
            let is_suspend = buffer.as_bytes() == b"suspend";
            let text =
                (!is_suspend).then(|| String::from_utf8_lossy(buffer.as_bytes()).into_owned());
            store.free(buffer);
            if let Some(text) = text {
                return SuspendPass::NotSuspend(Some(text));
            }
        }
        Err(_) => return SuspendPass::NotSuspend(None),
    }
    let Some(guard) = try_lock_balloon() else {
        return SuspendPass::BalloonBusy;
    };
    if let Err(error) = store.write(None, None, b"control/shutdown", b"") {
        drop(guard);
        return SuspendPass::AcknowledgeFailed(error);
    }
    suspend();
    drop(guard);
    wake_balloon();
    SuspendPass::Suspended
}

/// Tells the toolstack the guest may be suspended (and ballooned).
///
/// The FDO writes, in D0, `control/feature-suspend`, and `control/feature-balloon` when the balloon is on.
/// Failures are ignored, as in the C package; the count of keys written is returned.
pub fn announce_features<P: Irql + Clone, T: Transport>(
    store: &Store<P, T>,
    balloon: bool,
) -> usize {
    let mut written = usize::from(
        store
            .write(None, None, b"control/feature-suspend", b"1")
            .is_ok(),
    );
    if balloon
        && store
            .write(None, None, b"control/feature-balloon", b"1")
            .is_ok()
    {
        written = written.saturating_add(1);
    }
    written
}

/// Removes what [`announce_features`] wrote (leaving D0).
pub fn withdraw_features<P: Irql + Clone, T: Transport>(store: &Store<P, T>, balloon: bool) {
    if balloon {
        let _ = store.remove(None, None, b"control/feature-balloon");
    }
    let _ = store.remove(None, None, b"control/feature-suspend");
}

/// Writes our `drivers/<N>` entry at the first free index and returns the index.
///
/// # Errors
/// A read failing other than with "not found", every index taken, or the write failing.
pub fn set_distribution<P: Irql + Clone, T: Transport>(
    store: &Store<P, T>,
    vendor: &str,
    version: Version,
    debug: bool,
) -> Result<u32, StoreError> {
    let mut failure = None;
    let index = distribution::free_index(|index| {
        let key = alloc::format!("drivers/{index}");
        match store.read(None, None, key.as_bytes()) {
            Ok(buffer) => {
                store.free(buffer);
                Lookup::Exists
            }
            Err(error) => {
                failure = Some(error);
                Lookup::Failed(error.ntstatus())
            }
        }
    })
    .map_err(|_| failure.unwrap_or(StoreError::InsufficientResources))?;
    let key = alloc::format!("drivers/{index}");
    let value = distribution::entry(vendor, version, debug);
    store.write(None, None, key.as_bytes(), value.as_bytes())?;
    Ok(index)
}

/// Removes every `drivers/*` entry that is ours (see [`distribution::is_ours`]); returns how
/// many.
pub fn clear_distribution<P: Irql + Clone, T: Transport>(
    store: &Store<P, T>,
    vendor: &str,
) -> usize {
    let Ok(listing) = store.directory(None, None, b"drivers") else {
        return 0;
    };
    let names: Vec<Vec<u8>> = listing.entries().map(<[u8]>::to_vec).collect();
    store.free(listing);
    let mut removed = 0_usize;
    for name in names {
        let mut key = b"drivers/".to_vec();
        key.extend_from_slice(&name);
        let Ok(value) = store.read(None, None, &key) else {
            continue;
        };
        let ours = distribution::is_ours(&String::from_utf8_lossy(value.as_bytes()), vendor);
        store.free(value);
        if ours && store.remove(None, None, &key).is_ok() {
            removed = removed.saturating_add(1);
        }
    }
    removed
}
