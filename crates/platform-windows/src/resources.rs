// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FDO's interrupt resources as `IoConnectInterruptEx` wants them.
//!
//! As upstream's `FdoConnectInterrupt`: which descriptors are interrupts, their mode, line,
//! vector, IRQL, group and affinity, and the fully specified connection parameters. Plain data,
//! so the host tests prove the decoding; connecting is the Windows half's
//! (`WindowsInterrupts::connect`).

use core::ptr;

use ntddk::{
    CM_PARTIAL_RESOURCE_DESCRIPTOR, CM_RESOURCE_INTERRUPT_LATCHED, CM_RESOURCE_INTERRUPT_MESSAGE,
    CONNECT_FULLY_SPECIFIED, CONNECT_FULLY_SPECIFIED_GROUP, CmResourceShareShared,
    CmResourceTypeInterrupt, DEVICE_OBJECT, IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS,
    IO_CONNECT_INTERRUPT_PARAMETERS, IO_CONNECT_INTERRUPT_PARAMETERS_u, KAFFINITY, KINTERRUPT,
    KINTERRUPT_MODE, KIRQL, KSERVICE_ROUTINE, Latched, LevelSensitive, PVOID,
};
use platform_port::InterruptMode;

/// One interrupt of the FDO's translated resources, with what the raw list adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptResource {
    /// Latched (edge, the per-CPU upcall messages) or level-sensitive (the `INTx` line).
    pub mode: InterruptMode,
    /// Whether the vector may be shared (`CmResourceShareShared`).
    pub shared: bool,
    /// Whether it is message-signalled (`CM_RESOURCE_INTERRUPT_MESSAGE`).
    pub message: bool,
    /// The line (the raw descriptor's vector: the GSI) of a line interrupt; 0 for a message.
    pub line: u32,
    /// The translated vector.
    pub vector: u32,
    /// The translated level: the DIRQL, which is also the synchronize IRQL.
    pub irql: KIRQL,
    /// The processor group.
    pub group: u16,
    /// The processors it may be delivered to, in `group`.
    pub affinity: KAFFINITY,
}

/// The kernel's interrupt mode for the port's.
#[must_use]
pub const fn kernel_mode(mode: InterruptMode) -> KINTERRUPT_MODE {
    match mode {
        InterruptMode::Latched => Latched,
        InterruptMode::LevelSensitive => LevelSensitive,
    }
}

/// The interrupt a translated descriptor (and its raw twin) describes, or `None` when it is not
/// an interrupt (upstream connects each `CmResourceTypeInterrupt` descriptor).
#[must_use]
pub fn interrupt_resource(
    raw: &CM_PARTIAL_RESOURCE_DESCRIPTOR,
    translated: &CM_PARTIAL_RESOURCE_DESCRIPTOR,
) -> Option<InterruptResource> {
    if translated.Type != CmResourceTypeInterrupt {
        return None;
    }
    let flags = translated.Flags;
    let message = flags & CM_RESOURCE_INTERRUPT_MESSAGE != 0;
    // Reading a union member of plain integers is always defined; the flags say which one the
    // kernel filled.
    let (level, group, vector, affinity) = if message {
        // SAFETY: every member of the union is plain integers, valid for any bits.
        let message = unsafe { translated.u.MessageInterrupt };
        // SAFETY: as above.
        let t = unsafe { message.Translated };
        (t.Level, t.Group, t.Vector, t.Affinity)
    } else {
        // SAFETY: as above.
        let t = unsafe { translated.u.Interrupt };
        (t.Level, t.Group, t.Vector, t.Affinity)
    };
    let line = if message {
        0
    } else {
        // SAFETY: as above.
        unsafe { raw.u.Interrupt }.Vector
    };
    Some(InterruptResource {
        mode: if flags & CM_RESOURCE_INTERRUPT_LATCHED != 0 {
            InterruptMode::Latched
        } else {
            InterruptMode::LevelSensitive
        },
        shared: translated.ShareDisposition == CmResourceShareShared,
        message,
        line,
        vector,
        // Upstream casts the USHORT level to a KIRQL; a DIRQL is at most HIGH_LEVEL (15).
        irql: KIRQL::try_from(level).unwrap_or(KIRQL::MAX),
        group,
        affinity,
    })
}

/// `IoConnectInterruptEx`'s fully specified parameters for `resource`.
///
/// As upstream's `FdoConnectInterrupt`: the synchronize IRQL is the interrupt's own level, the
/// version `CONNECT_FULLY_SPECIFIED_GROUP` only for a group other than 0. The kernel writes the
/// interrupt object to `object`; `routine` runs with `context`.
#[must_use]
pub fn connect_parameters(
    pdo: *mut DEVICE_OBJECT,
    resource: &InterruptResource,
    object: *mut *mut KINTERRUPT,
    routine: KSERVICE_ROUTINE,
    context: PVOID,
) -> IO_CONNECT_INTERRUPT_PARAMETERS {
    let fully = IO_CONNECT_INTERRUPT_FULLY_SPECIFIED_PARAMETERS {
        PhysicalDeviceObject: pdo,
        InterruptObject: object,
        ServiceRoutine: Some(routine),
        ServiceContext: context,
        SpinLock: ptr::null_mut(),
        SynchronizeIrql: resource.irql,
        FloatingSave: 0,
        ShareVector: u8::from(resource.shared),
        Vector: resource.vector,
        Irql: resource.irql,
        InterruptMode: kernel_mode(resource.mode),
        ProcessorEnableMask: resource.affinity,
        Group: resource.group,
    };
    IO_CONNECT_INTERRUPT_PARAMETERS {
        Version: if resource.group == 0 {
            CONNECT_FULLY_SPECIFIED
        } else {
            CONNECT_FULLY_SPECIFIED_GROUP
        },
        u: IO_CONNECT_INTERRUPT_PARAMETERS_u {
            FullySpecified: fully,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ntddk::{
        BOOLEAN, CM_PARTIAL_RESOURCE_DESCRIPTOR_u, CM_PARTIAL_RESOURCE_INTERRUPT,
        CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT, CmResourceShareDeviceExclusive, CmResourceTypePort,
    };

    fn line(level: u16, vector: u32, affinity: KAFFINITY) -> CM_PARTIAL_RESOURCE_INTERRUPT {
        CM_PARTIAL_RESOURCE_INTERRUPT {
            Level: level,
            Group: 0,
            Vector: vector,
            Affinity: affinity,
        }
    }

    fn descriptor(
        flags: u16,
        share: u8,
        u: CM_PARTIAL_RESOURCE_DESCRIPTOR_u,
    ) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
        CM_PARTIAL_RESOURCE_DESCRIPTOR {
            Type: CmResourceTypeInterrupt,
            ShareDisposition: share,
            Flags: flags,
            u,
        }
    }

    unsafe extern "system" fn isr(_: *mut KINTERRUPT, _: PVOID) -> BOOLEAN {
        0
    }

    #[test]
    fn a_shared_level_sensitive_line_keeps_its_raw_line_and_translated_vector() {
        let raw = descriptor(
            0,
            CmResourceShareShared,
            CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
                Interrupt: line(28, 28, usize::MAX),
            },
        );
        let translated = descriptor(
            0,
            CmResourceShareShared,
            CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
                Interrupt: line(6, 0x61, 0b1111),
            },
        );
        let r = interrupt_resource(&raw, &translated).unwrap();
        assert_eq!(
            r,
            InterruptResource {
                mode: InterruptMode::LevelSensitive,
                shared: true,
                message: false,
                line: 28,
                vector: 0x61,
                irql: 6,
                group: 0,
                affinity: 0b1111,
            }
        );
        let mut object = ptr::null_mut();
        let p = connect_parameters(ptr::null_mut(), &r, &raw mut object, isr, ptr::null_mut());
        assert_eq!(p.Version, CONNECT_FULLY_SPECIFIED);
        // SAFETY: the member just written.
        let f = unsafe { p.u.FullySpecified };
        assert_eq!(f.Vector, 0x61);
        assert_eq!((f.Irql, f.SynchronizeIrql), (6, 6));
        assert_eq!(f.ShareVector, 1);
        assert_eq!(f.InterruptMode, LevelSensitive);
        assert_eq!(f.ProcessorEnableMask, 0b1111);
        assert_eq!(f.InterruptObject, &raw mut object);
        assert!(f.SpinLock.is_null());
    }

    #[test]
    fn a_latched_message_uses_the_translated_message_fields_and_no_line() {
        let message = CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
            MessageInterrupt: CM_PARTIAL_RESOURCE_MESSAGE_INTERRUPT {
                Translated: CM_PARTIAL_RESOURCE_INTERRUPT {
                    Level: 8,
                    Group: 1,
                    Vector: 0xb2,
                    Affinity: 0b100,
                },
            },
        };
        let flags = CM_RESOURCE_INTERRUPT_LATCHED | CM_RESOURCE_INTERRUPT_MESSAGE;
        let d = descriptor(flags, CmResourceShareDeviceExclusive, message);
        let r = interrupt_resource(&d, &d).unwrap();
        assert_eq!(r.mode, InterruptMode::Latched);
        assert!(r.message && !r.shared);
        assert_eq!(
            (r.line, r.vector, r.irql, r.group, r.affinity),
            (0, 0xb2, 8, 1, 0b100)
        );
        let p = connect_parameters(ptr::null_mut(), &r, ptr::null_mut(), isr, ptr::null_mut());
        assert_eq!(p.Version, CONNECT_FULLY_SPECIFIED_GROUP);
        // SAFETY: the member just written.
        let f = unsafe { p.u.FullySpecified };
        assert_eq!((f.Group, f.InterruptMode, f.ShareVector), (1, Latched, 0));
    }

    #[test]
    fn other_resources_are_not_interrupts() {
        let mut d = descriptor(
            0,
            0,
            CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
                Interrupt: line(0, 0, 0),
            },
        );
        d.Type = CmResourceTypePort;
        assert_eq!(interrupt_resource(&d, &d), None);
    }
}
