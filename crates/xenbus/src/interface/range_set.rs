// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XENBUS_RANGE_SET` v1 over [`crate::range_set::RangeSet`].
//!
//! The context owns what upstream keeps around a set: the list of live sets (a handle table),
//! one lock per set, and the reference count whose first Acquire and last Release run the
//! composition's hooks (upstream registers and removes its debug callback there).
//!
//! Decisions: a Destroy of a set that still holds items destroys it (upstream `ASSERT`s it is
//! empty; the items are plain numbers, so nothing leaks). The last Release with sets still
//! alive leaves them usable until their Destroy (upstream bug-checks "OUTSTANDING RANGE SETS");
//! [`RangeSetContext::outstanding`] reports them.

use alloc::sync::Arc;
use core::ffi::c_void;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER, STATUS_NOT_SUPPORTED};
use platform_port::IrqlLock;
use xenbus_interface::range_set::{PxenbusRangeSet, XenbusRangeSetInterfaceV1};
use xenbus_interface::{LongLong, Pcstr, Pinterface, UlongLong};

use super::util::{self, Tagged};
use super::{Handles, Hooks, References, SharedIrql, context, fill, header, status_of};
use crate::range_set::{MAX_NAME_LEN, RangeSet, RangeSetError};

/// A set and its lock (upstream: one `KSPIN_LOCK` per set, taken at `DISPATCH_LEVEL`).
type SharedSet = Arc<IrqlLock<SharedIrql, RangeSet>>;

/// The `XENBUS_RANGE_SET` context.
#[repr(C)]
pub struct RangeSetContext {
    tag: u64,
    pub(crate) refs: References,
    hooks: Hooks,
    /// Serialises the first Acquire and the last Release with their hooks.
    transitions: IrqlLock<SharedIrql, ()>,
    irql: SharedIrql,
    sets: Handles<SharedSet>,
}

// SAFETY: `repr(C)` with the tag first, always `TAG`.
unsafe impl Tagged for RangeSetContext {
    const TAG: u64 = util::tag(*b"XBRANGES");
}

impl RangeSetContext {
    /// A context whose first Acquire runs `hooks.first` and last Release `hooks.last`, both at
    /// `DISPATCH_LEVEL` under the context's spin lock (as upstream's `RangeSetAcquire` and
    /// `RangeSetRelease` run theirs), so a hook must not wait. Its locks raise through `irql`.
    #[must_use]
    pub fn new(irql: &SharedIrql, hooks: Hooks) -> Self {
        Self {
            tag: <Self as Tagged>::TAG,
            refs: References::new(),
            hooks,
            transitions: IrqlLock::dispatch(Arc::clone(irql), ()),
            irql: Arc::clone(irql),
            sets: Handles::new(Arc::clone(irql)),
        }
    }

    /// `RangeSetAcquire`: the first reference runs the set-up hook.
    fn acquire(&self) -> Result<(), NtStatus> {
        let _serialised = self.transitions.lock();
        match self.refs.count() {
            u32::MAX => return Err(ntstatus::STATUS_INSUFFICIENT_RESOURCES),
            0 => self.hooks.first()?,
            _ => {}
        }
        // Cannot saturate: checked above, and the count only changes under `transitions`.
        let _ = self.refs.increment();
        Ok(())
    }

    /// `RangeSetRelease`: the last reference runs the teardown hook; a Release without a
    /// reference does nothing.
    fn release(&self) {
        let _serialised = self.transitions.lock();
        if self.refs.decrement() && self.refs.count() == 0 {
            self.hooks.last();
        }
    }

    /// Sets created and not destroyed.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.sets.len()
    }

    /// `RangeSetGetInterface`.
    ///
    /// # Safety
    /// `buffer` must be NULL or writable for `size` bytes.
    pub(crate) unsafe fn get_interface(
        &self,
        version: u16,
        buffer: *mut c_void,
        size: u16,
    ) -> NtStatus {
        let context = core::ptr::from_ref(self).cast_mut().cast::<c_void>();
        match version {
            // SAFETY: forwarded buffer contract.
            1 => unsafe { fill(table_v1(context), buffer, size) },
            _ => STATUS_NOT_SUPPORTED,
        }
    }

    fn set(&self, handle: PxenbusRangeSet) -> Result<SharedSet, NtStatus> {
        self.sets.get(handle).ok_or(STATUS_INVALID_PARAMETER)
    }
}

unsafe extern "C" fn range_set_acquire(interface: Pinterface) -> NtStatus {
    let context = context!(RangeSetContext, interface, STATUS_INVALID_PARAMETER);
    status_of(context.acquire())
}

unsafe extern "C" fn range_set_release(interface: Pinterface) {
    let context = context!(RangeSetContext, interface);
    context.release();
}

unsafe extern "C" fn range_set_create(
    interface: Pinterface,
    name: Pcstr,
    range_set: *mut PxenbusRangeSet,
) -> NtStatus {
    let context = context!(RangeSetContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        if range_set.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        // SAFETY: the caller's NUL-terminated name; a longer one is read only up to the limit
        // plus one byte, which is what RangeSet::new needs to refuse it.
        let name = match unsafe { util::required_str(name, MAX_NAME_LEN) } {
            Ok(name) => name,
            Err(_) if !name.is_null() => return Err(RangeSetError::NameTooLong.status()),
            Err(status) => return Err(status),
        };
        let set = RangeSet::new(name).map_err(RangeSetError::status)?;
        let handle = context
            .sets
            .insert(Arc::new(IrqlLock::dispatch(Arc::clone(&context.irql), set)))
            .ok_or(ntstatus::STATUS_INSUFFICIENT_RESOURCES)?;
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(range_set, handle) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn range_set_put(
    interface: Pinterface,
    range_set: PxenbusRangeSet,
    start: LongLong,
    count: UlongLong,
) -> NtStatus {
    let context = context!(RangeSetContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let set = context.set(range_set)?;
        let mut set = set.lock();
        set.put(start, count).map_err(RangeSetError::status)
    };
    status_of(run())
}

unsafe extern "C" fn range_set_pop(
    interface: Pinterface,
    range_set: PxenbusRangeSet,
    count: UlongLong,
    start: *mut LongLong,
) -> NtStatus {
    let context = context!(RangeSetContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        if start.is_null() {
            return Err(STATUS_INVALID_PARAMETER);
        }
        let set = context.set(range_set)?;
        let mut set = set.lock();
        let first = set.pop(count).map_err(RangeSetError::status)?;
        // SAFETY: checked non-NULL; the caller's out-parameter.
        unsafe { util::write_out(start, first) };
        Ok(())
    };
    status_of(run())
}

unsafe extern "C" fn range_set_get(
    interface: Pinterface,
    range_set: PxenbusRangeSet,
    start: LongLong,
    count: UlongLong,
) -> NtStatus {
    let context = context!(RangeSetContext, interface, STATUS_INVALID_PARAMETER);
    let run = || -> Result<(), NtStatus> {
        let set = context.set(range_set)?;
        let mut set = set.lock();
        set.get(start, count).map_err(RangeSetError::status)
    };
    status_of(run())
}

unsafe extern "C" fn range_set_destroy(interface: Pinterface, range_set: PxenbusRangeSet) {
    let context = context!(RangeSetContext, interface);
    drop(context.sets.remove(range_set));
}

/// `XENBUS_RANGE_SET_INTERFACE_V1` for `context`.
const fn table_v1(context: *mut c_void) -> XenbusRangeSetInterfaceV1 {
    XenbusRangeSetInterfaceV1 {
        interface: header::<XenbusRangeSetInterfaceV1>(context),
        range_set_acquire,
        range_set_release,
        range_set_create,
        range_set_put,
        range_set_pop,
        range_set_get,
        range_set_destroy,
    }
}
