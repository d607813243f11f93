// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xenfilt.sys: the filter that tracks emulated disks and NICs, unplugs them when PV drivers take
//! over, and picks the active Xen platform device.
//!
//! Layering: the portable core of this crate is `#![no_std]` + `alloc` and is tested on Linux;
//! the Windows entry points live in the `cfg(windows)` module `glue`, which holds no decisions
//! of its own.
//!
//! # The portable core (sans-IO)
//!
//! Modules are named after upstream's files (`src/xenfilt/*.c`):
//!
//! * [`driver`]: what xenfilt attaches to ([`driver::add_device`]), the precedence of a new
//!   child ([`driver::precedence`]), the global filter state and the moment of the boot-time
//!   unplug, and the routing of IRPs ([`driver::Driver::dispatch`]).
//! * [`fdo`]: the bus filter on a PCI root bus or IDE channel, above all its `BusRelations`
//!   interception ([`driver::Driver::bus_relations`]).
//! * [`pdo`]: the child filter on each child PDO: active-device selection
//!   ([`pdo::device_information`]) and the identity it reports.
//! * [`emulated`]: the emulated devices and disks and the `XENFILT_EMULATED` v1-v3 answers.
//! * [`pnp`]: the typed requests ([`pnp::Request`]) and answers ([`pnp::Step`],
//!   [`pnp::Completion`], [`pnp::Effect`]).
//! * [`id`], [`registry`]: every string a bus driver returns and every registry value read,
//!   validated with a typed error before any decision uses it.
//!
//! Nothing here performs I/O: the glue sends the IRPs, reads the registry (through
//! [`registry::Parameters`]) and applies the answers.
//!
//! # Upstream quirks kept
//!
//! * A bus counts as enumerated only after a **non-empty** child list, so a filtered bus with
//!   no child (an empty IDE channel) keeps every bus's children hidden and the unplug from
//!   happening; and an empty list is not enumerated at all, so the children tracked before
//!   it stay reported.
//! * A child whose filter cannot be created (an IDE instance ID that is not `C.T.0`, the neutral
//!   active device without `ActiveInstanceID`, a failed device ID query) is dropped from its
//!   bus's relations: never exposed to PnP, never tracked, never counted as present.
//! * An empty stored device ID, instance ID or location fails the query with
//!   `STATUS_OBJECT_NAME_NOT_FOUND` although the lower driver answered.
//! * Device and instance IDs are kept to 127 bytes in the EMULATED list; `IsDiskPresent` is
//!   true for every index as soon as an emulated `NVMe` controller exists; v1's
//!   `IsDiskPresentVersion1` uses the target as the index; IDE instance IDs are read with
//!   `strtoul`'s leniency (`"0.0."` is disk 0).
//! * Precedence: the first compatible ID with a DWORD decides, even a 0; with a positive
//!   maximum every other new child of the bus, platform device or not, is force-deactivated.
//! * A type value is matched over its own length, so a prefix of `PCI`/`IDE` matches.
//!
//! # Where we differ (each proven by a test)
//!
//! * Bus-driver strings and registry values must be well formed ([`id`], [`registry`]); a
//!   malformed one is treated as the failed query or missing value upstream would have had,
//!   never read past its end.
//! * An empty type value attaches nothing (upstream: PCI).
//! * A PDO listed twice, or listed again while its filter waits for removal, gets one filter.
//! * A lower `BusRelations` success without a list is an empty list.
//!
//! # How the glue applies the answers (`glue`, over the kernel bindings)
//!
//! * `AddDevice`: send `IRP_MN_QUERY_ID` for the hardware and compatible IDs to the PDO
//!   (parse with [`id::IdList::from_utf16`], reading at most [`id::MAX_ID_LIST_LEN`] + 1
//!   units); [`driver::add_device`]; for a type, `IoCreateDevice` + `IoAttachDeviceToDeviceStack`,
//!   query the device and instance IDs and call [`driver::Driver::add_fdo`] (its error is
//!   `AddDevice`'s status, after detaching and deleting). Copy `DeviceType`,
//!   `Characteristics` and `Flags` from the lower device, clear `DO_DEVICE_INITIALIZING`.
//! * Every IRP: the device extension names the [`driver::DeviceRef`]; acquire the remove lock
//!   (failure: complete with its status), call [`driver::Driver::dispatch`] under the driver
//!   lock, apply [`pnp::Step::effects`] in order, then [`pnp::Dispatch`]:
//!   `Complete` (`IoCompleteRequest`), `PassDown`/`PassDownWithStatus` (set
//!   `IoStatus.Status` first; `Information` = 0 when [`pnp::Effect::FillEmulatedInterface`]
//!   was applied; `IoSkipCurrentIrpStackLocation` + `IoCallDriver`), `ForwardAndWait`
//!   (completion routine signalling an event, `STATUS_MORE_PROCESSING_REQUIRED`), or
//!   `PassDownWatched` (completion routine calling [`driver::Driver::power_up_completed`] and
//!   marking the IRP pending if needed). Release the remove lock unless
//!   [`pnp::Effect::ReleaseRemoveLockAndWait`] was applied.
//! * After `ForwardAndWait`: [`driver::Driver::completed`] with `IoStatus.Status`; apply its
//!   effects; for [`pnp::Information::Replace`] free the lower buffer (`ExFreePool`) and
//!   return a paged-pool copy; complete with its status. `DestroyPdo` of an ejected child
//!   comes after `IoCompleteRequest`.
//! * `BusRelations` after `ForwardAndWait`: read the lower `DEVICE_RELATIONS`;
//!   [`driver::Driver::new_children`]; for each new PDO create and attach a filter device,
//!   then query its device ID, instance ID, compatible IDs and location **through the filter's
//!   lower device** into a [`pdo::ChildProbe`]; read the registry values
//!   [`driver::Driver::bus_relations_parameters`] names (at `PASSIVE_LEVEL`, into a
//!   [`registry::Snapshot`]); [`driver::Driver::bus_relations`] with that snapshot, under the
//!   driver lock. Then:
//!   detach and delete the filters of [`fdo::BusRelations::rejected`] and
//!   [`fdo::BusRelations::destroyed`]; call xen.sys's `UnplugDevices()` when
//!   [`fdo::BusRelations::unplug`]; dereference every PDO of the lower list and free it;
//!   build the reply from [`fdo::RelationsReply`] (referencing each reported PDO), or an empty
//!   list followed by `IoInvalidateDeviceRelations(bus PDO, BusRelations)`.
//! * `XENFILT_EMULATED`: the tables of [`xenbus_interface::emulated`], `Context` pointing at
//!   the driver's [`emulated::Emulated`] behind a `DISPATCH_LEVEL` spin lock; each method
//!   reads its C strings (bounded) and answers from [`emulated::Emulated`].
//! * `*InitSafeBootMode != 0` is [`driver::Driver::new`]'s `safe_mode`.

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

// Host builds produce a cdylib too; linking one needs std's panic handler and allocator. The
// portable code itself only ever names `core` and `alloc`.
#[cfg(not(windows))]
extern crate std;

extern crate alloc;

pub mod driver;
pub mod emulated;
pub mod fdo;
pub mod id;
pub mod pdo;
pub mod pnp;
pub mod registry;

#[cfg(windows)]
mod glue;
