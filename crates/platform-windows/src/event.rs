// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! [`Event`] over a `KEVENT` in non-paged pool (`KeInitializeEvent`, `KeSetEvent`,
//! `KeClearEvent`, `KeReadStateEvent`, `KeWaitForSingleObject`).

use alloc::boxed::Box;
use core::cell::UnsafeCell;
use core::ptr;
use core::time::Duration;

use ntddk::{
    DISPATCHER_HEADER, Executive, KEVENT, KernelMode, LIST_ENTRY, NotificationEvent,
    STATUS_SUCCESS, SynchronizationEvent,
};
use platform_port::{Event, EventKind, IrqlLevel};

use crate::convert::{is_poll, relative_time};
use crate::kernel::require_at_most;

/// A `KEVENT` that never moves: boxed in non-paged pool, freed when dropped (nobody can be
/// waiting then: a waiter borrows the event).
pub struct WindowsEvent {
    event: Box<UnsafeCell<KEVENT>>,
}

#[expect(
    clippy::non_send_fields_in_send_ty,
    reason = "the kernel objects in the cells are shared with the kernel, which synchronizes them"
)]
// SAFETY: a KEVENT is a dispatcher object the kernel synchronizes; every access goes through the
// `Ke*Event` routines, which may be called from any thread.
unsafe impl Send for WindowsEvent {}
// SAFETY: as for `Send`.
unsafe impl Sync for WindowsEvent {}

impl core::fmt::Debug for WindowsEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WindowsEvent").finish_non_exhaustive()
    }
}

/// An all-zero `KEVENT` for `KeInitializeEvent` to fill in.
pub const fn blank_event() -> KEVENT {
    KEVENT {
        Header: DISPATCHER_HEADER {
            Lock: 0,
            SignalState: 0,
            WaitListHead: LIST_ENTRY {
                Flink: ptr::null_mut(),
                Blink: ptr::null_mut(),
            },
        },
    }
}

impl WindowsEvent {
    /// A new, clear event. IRQL: `<= DISPATCH_LEVEL` (the pool allocation's).
    #[must_use]
    pub fn new(kind: EventKind) -> Self {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"KeInitializeEvent on pool above DISPATCH_LEVEL",
        );
        let event = Box::new(UnsafeCell::new(blank_event()));
        let kernel_kind = match kind {
            EventKind::Notification => NotificationEvent,
            EventKind::Synchronization => SynchronizationEvent,
        };
        // SAFETY: any IRQL; non-paged storage that stays put for the event's life.
        unsafe { ntddk::routines::KeInitializeEvent(event.get(), kernel_kind, 0) };
        Self { event }
    }

    /// The `KEVENT` for the kernel's routines.
    #[must_use]
    pub fn raw(&self) -> *mut KEVENT {
        self.event.get()
    }
}

impl Event for WindowsEvent {
    fn set(&self) {
        require_at_most(IrqlLevel::DISPATCH, c"KeSetEvent above DISPATCH_LEVEL");
        // SAFETY: <= DISPATCH_LEVEL with Wait FALSE; an initialised event.
        let _previous = unsafe { ntddk::routines::KeSetEvent(self.raw(), 0, 0) };
    }

    fn reset(&self) {
        require_at_most(IrqlLevel::DISPATCH, c"KeClearEvent above DISPATCH_LEVEL");
        // SAFETY: <= DISPATCH_LEVEL; an initialised event.
        unsafe { ntddk::routines::KeClearEvent(self.raw()) };
    }

    fn is_set(&self) -> bool {
        require_at_most(
            IrqlLevel::DISPATCH,
            c"KeReadStateEvent above DISPATCH_LEVEL",
        );
        // SAFETY: <= DISPATCH_LEVEL; an initialised event.
        unsafe { ntddk::routines::KeReadStateEvent(self.raw()) != 0 }
    }

    fn wait(&self, timeout: Option<Duration>) -> bool {
        if is_poll(timeout) {
            require_at_most(
                IrqlLevel::DISPATCH,
                c"KeWaitForSingleObject (zero timeout) above DISPATCH_LEVEL",
            );
        } else {
            require_at_most(IrqlLevel::APC, c"KeWaitForSingleObject above APC_LEVEL");
        }
        let mut due = timeout.map(relative_time);
        let due_ptr = due.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        // SAFETY: the IRQL checked above; an initialised event; `due_ptr` is NULL (forever) or
        // a relative time that outlives the call.
        let status = unsafe {
            ntddk::routines::KeWaitForSingleObject(
                self.raw().cast(),
                Executive,
                KernelMode,
                0,
                due_ptr,
            )
        };
        status == STATUS_SUCCESS
    }
}
