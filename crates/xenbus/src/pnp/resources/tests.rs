// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The resource lists are built here from the kernel bindings' structures (not from the
//! module's offsets), so a wrong offset in the module shows up as a wrong field.

use alloc::vec;
use alloc::vec::Vec;
use core::mem::{offset_of, size_of, size_of_val};

use super::*;
use ntddk::types::{CM_PARTIAL_RESOURCE_DESCRIPTOR_u, IO_RESOURCE_DESCRIPTOR_u};

fn as_bytes<T: Copy>(value: &T) -> Vec<u8> {
    let mut out = vec![0_u8; size_of::<T>()];
    // SAFETY: `out` has exactly `size_of::<T>()` bytes and `T` is plain `repr(C)` data.
    unsafe {
        core::ptr::copy_nonoverlapping(
            core::ptr::from_ref(value).cast::<u8>(),
            out.as_mut_ptr(),
            out.len(),
        );
    };
    out
}

fn read<T: Copy>(bytes: &[u8], at: usize) -> T {
    let slice = &bytes[at..at + size_of::<T>()];
    // SAFETY: the slice holds `size_of::<T>()` bytes; `T` is plain data valid for any bits here.
    unsafe { core::ptr::read_unaligned(slice.as_ptr().cast::<T>()) }
}

fn io_descriptor(kind: u8, flags: u16, u: IO_RESOURCE_DESCRIPTOR_u) -> IO_RESOURCE_DESCRIPTOR {
    IO_RESOURCE_DESCRIPTOR {
        Option: 0,
        Type: kind,
        ShareDisposition: k::CmResourceShareDeviceExclusive,
        Spare1: 0,
        Flags: flags,
        Spare2: 0,
        u,
    }
}

fn line_interrupt() -> IO_RESOURCE_DESCRIPTOR {
    io_descriptor(
        k::CmResourceTypeInterrupt,
        k::CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE,
        IO_RESOURCE_DESCRIPTOR_u {
            Interrupt: IO_RESOURCE_INTERRUPT {
                MinimumVector: 28,
                MaximumVector: 28,
                AffinityPolicy: k::IrqPolicyMachineDefault,
                Group: 0,
                PriorityPolicy: k::IrqPriorityUndefined,
                TargetedProcessors: 0xF,
            },
        },
    )
}

fn bar() -> IO_RESOURCE_DESCRIPTOR {
    io_descriptor(
        k::CmResourceTypeMemory,
        k::CM_RESOURCE_MEMORY_PREFETCHABLE,
        IO_RESOURCE_DESCRIPTOR_u {
            Memory: IO_RESOURCE_RANGE {
                Length: 0x0100_0000,
                Alignment: 0x0100_0000,
                MinimumAddress: 0,
                MaximumAddress: 0xFFFF_FFFF,
            },
        },
    )
}

/// A requirements list with `descriptors` in its (only) list, `alternatives` claimed.
fn requirements(descriptors: &[IO_RESOURCE_DESCRIPTOR], alternatives: u32) -> Vec<u8> {
    let first =
        offset_of!(IO_RESOURCE_REQUIREMENTS_LIST, List) + offset_of!(IO_RESOURCE_LIST, Descriptors);
    let size = first + size_of_val(descriptors);
    let mut header = IO_RESOURCE_REQUIREMENTS_LIST {
        ListSize: u32::try_from(size).unwrap(),
        InterfaceType: k::PCIBus,
        BusNumber: 0,
        SlotNumber: 3,
        Reserved: [0; 3],
        AlternativeLists: alternatives,
        List: [IO_RESOURCE_LIST {
            Version: 1,
            Revision: 1,
            Count: u32::try_from(descriptors.len()).unwrap(),
            Descriptors: [bar()],
        }],
    };
    header.List[0].Descriptors[0] = descriptors.first().copied().unwrap_or_else(bar);
    let mut out = as_bytes(&header);
    out.truncate(first);
    for descriptor in descriptors {
        out.extend(as_bytes(descriptor));
    }
    out
}

fn io_at(list: &[u8], index: usize) -> IO_RESOURCE_DESCRIPTOR {
    read(
        list,
        FIRST_IO_DESCRIPTOR + index * size_of::<IO_RESOURCE_DESCRIPTOR>(),
    )
}

#[test]
fn filtering_pins_the_line_to_cpu0_and_adds_one_message_interrupt_per_processor() {
    let lower = requirements(&[bar(), line_interrupt()], 1);
    let processors = [
        ProcessorNumber {
            group: 0,
            number: 0,
        },
        ProcessorNumber {
            group: 0,
            number: 1,
        },
        ProcessorNumber {
            group: 1,
            number: 5,
        },
    ];
    let list = filter_requirements(&lower, &processors).unwrap();
    let header: IO_RESOURCE_REQUIREMENTS_LIST = read(&list, 0);
    assert_eq!({ header.ListSize } as usize, list.len());
    assert_eq!(
        list.len(),
        lower.len() + 3 * size_of::<IO_RESOURCE_DESCRIPTOR>()
    );
    assert_eq!({ header.List[0].Count }, 5);
    assert_eq!({ header.SlotNumber }, 3);
    // The BAR is untouched.
    assert_eq!(as_bytes(&io_at(&list, 0)), as_bytes(&bar()));
    // The line: policy included, specified processors, group 0, CPU 0.
    let line = io_at(&list, 1);
    assert_eq!(
        line.Flags,
        k::CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE | k::CM_RESOURCE_INTERRUPT_POLICY_INCLUDED
    );
    // SAFETY: the descriptor is an interrupt.
    let interrupt = unsafe { line.u.Interrupt };
    assert_eq!(interrupt.AffinityPolicy, k::IrqPolicySpecifiedProcessors);
    assert_eq!((interrupt.Group, interrupt.TargetedProcessors), (0, 1));
    assert_eq!((interrupt.MinimumVector, interrupt.MaximumVector), (28, 28));
    for (index, processor) in processors.iter().enumerate() {
        let message = io_at(&list, 2 + index);
        assert_eq!(message.Type, k::CmResourceTypeInterrupt);
        assert_eq!(message.Option, 0, "required");
        assert_eq!(message.ShareDisposition, k::CmResourceShareDeviceExclusive);
        assert_eq!(
            message.Flags,
            k::CM_RESOURCE_INTERRUPT_LATCHED
                | k::CM_RESOURCE_INTERRUPT_MESSAGE
                | k::CM_RESOURCE_INTERRUPT_POLICY_INCLUDED
        );
        // SAFETY: the descriptor is an interrupt.
        let interrupt = unsafe { message.u.Interrupt };
        assert_eq!(
            interrupt.MinimumVector,
            k::CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN
        );
        assert_eq!(
            interrupt.MaximumVector,
            k::CM_RESOURCE_INTERRUPT_MESSAGE_TOKEN
        );
        assert_eq!(interrupt.AffinityPolicy, k::IrqPolicySpecifiedProcessors);
        assert_eq!(interrupt.PriorityPolicy, k::IrqPriorityUndefined);
        assert_eq!(interrupt.Group, processor.group);
        assert_eq!(interrupt.TargetedProcessors, 1 << processor.number);
    }
}

#[test]
fn filtering_refuses_lists_that_do_not_add_up() {
    let good = requirements(&[bar(), line_interrupt()], 1);
    let one = [ProcessorNumber {
        group: 0,
        number: 0,
    }];
    assert_eq!(
        filter_requirements(&requirements(&[bar()], 2), &one),
        Err(ResourceError::NotOneAlternative)
    );
    // ListSize beyond the buffer.
    assert_eq!(
        filter_requirements(&good[..good.len() - 1], &one),
        Err(ResourceError::Malformed)
    );
    // Count beyond ListSize.
    let mut lying = good.clone();
    lying[REQ_HEADER + IO_LIST_COUNT] = 3;
    assert_eq!(
        filter_requirements(&lying, &one),
        Err(ResourceError::Malformed)
    );
    // ListSize smaller than the headers.
    let mut tiny = good.clone();
    tiny[..4].copy_from_slice(&8_u32.to_le_bytes());
    assert_eq!(
        filter_requirements(&tiny, &one),
        Err(ResourceError::Malformed)
    );
    assert_eq!(
        filter_requirements(&[], &one),
        Err(ResourceError::Malformed)
    );
    // A processor number past the mask.
    assert_eq!(
        filter_requirements(
            &good,
            &[ProcessorNumber {
                group: 0,
                number: 64
            }]
        ),
        Err(ResourceError::NoProcessor)
    );
}

#[test]
fn a_pdo_asks_for_one_page_and_one_level_interrupt_on_the_internal_bus() {
    let list = pdo_requirements();
    let header: IO_RESOURCE_REQUIREMENTS_LIST = read(&list, 0);
    assert_eq!({ header.ListSize } as usize, list.len());
    assert_eq!({ header.InterfaceType }, k::Internal);
    assert_eq!({ header.AlternativeLists }, 1);
    assert_eq!(
        ({ header.List[0].Version }, { header.List[0].Revision }, {
            header.List[0].Count
        }),
        (1, 1, 2)
    );
    let memory = io_at(&list, 0);
    assert_eq!(memory.Type, k::CmResourceTypeMemory);
    assert_eq!(memory.ShareDisposition, k::CmResourceShareDeviceExclusive);
    assert_eq!(
        memory.Flags,
        k::CM_RESOURCE_MEMORY_READ_WRITE
            | k::CM_RESOURCE_MEMORY_PREFETCHABLE
            | k::CM_RESOURCE_MEMORY_CACHEABLE
    );
    // SAFETY: the descriptor is memory.
    let range = unsafe { memory.u.Memory };
    assert_eq!((range.Length, range.Alignment), (4096, 4096));
    assert_eq!((range.MinimumAddress, range.MaximumAddress), (0, -1));
    let interrupt = io_at(&list, 1);
    assert_eq!(interrupt.Type, k::CmResourceTypeInterrupt);
    assert_eq!(interrupt.Flags, k::CM_RESOURCE_INTERRUPT_LEVEL_SENSITIVE);
    // SAFETY: the descriptor is an interrupt.
    let line = unsafe { interrupt.u.Interrupt };
    assert_eq!((line.MinimumVector, line.MaximumVector), (0, u32::MAX));
    assert_eq!(line.AffinityPolicy, k::IrqPolicyOneCloseProcessor);
    assert_eq!(line.Group, k::ALL_PROCESSOR_GROUPS);
}

fn cm(kind: u8, flags: u16, u: CM_PARTIAL_RESOURCE_DESCRIPTOR_u) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
    CM_PARTIAL_RESOURCE_DESCRIPTOR {
        Type: kind,
        ShareDisposition: k::CmResourceShareDeviceExclusive,
        Flags: flags,
        u,
    }
}

fn cm_interrupt(
    flags: u16,
    vector: u32,
    level: u16,
    group: u16,
    affinity: usize,
) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
    cm(
        k::CmResourceTypeInterrupt,
        flags,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
            Interrupt: CM_PARTIAL_RESOURCE_INTERRUPT {
                Level: level,
                Group: group,
                Vector: vector,
                Affinity: affinity,
            },
        },
    )
}

fn cm_memory(start: i64, length: u32) -> CM_PARTIAL_RESOURCE_DESCRIPTOR {
    cm(
        k::CmResourceTypeMemory,
        0,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
            Memory: CM_PARTIAL_RESOURCE_RANGE {
                Start: start,
                Length: length,
            },
        },
    )
}

/// A `CM_RESOURCE_LIST` with one full descriptor holding `partials` (and `extra` bytes after
/// the last, as device-specific data would have).
fn cm_list(partials: &[CM_PARTIAL_RESOURCE_DESCRIPTOR], extra: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(1_u32.to_le_bytes());
    let full = CM_FULL_RESOURCE_DESCRIPTOR {
        InterfaceType: k::PCIBus,
        BusNumber: 0,
        PartialResourceList: CM_PARTIAL_RESOURCE_LIST {
            Version: 1,
            Revision: 1,
            Count: u32::try_from(partials.len()).unwrap(),
            PartialDescriptors: [cm_memory(0, 0)],
        },
    };
    let mut full = as_bytes(&full);
    full.truncate(CM_FULL_HEADER);
    assert_eq!(out.len(), CM_LIST_HEADER);
    out.extend(full);
    for partial in partials {
        out.extend(as_bytes(partial));
    }
    out.extend_from_slice(extra);
    out
}

const LATCHED_MESSAGE: u16 = k::CM_RESOURCE_INTERRUPT_LATCHED | k::CM_RESOURCE_INTERRUPT_MESSAGE;

fn start_lists() -> (Vec<u8>, Vec<u8>) {
    let raw = cm_list(
        &[
            cm_memory(0xF000_0000, 0x0100_0000),
            cm_interrupt(0, 28, 28, 0, 0xF),
            cm_interrupt(LATCHED_MESSAGE, 0, 0, 0, 1),
            cm_interrupt(LATCHED_MESSAGE, 0, 0, 0, 2),
        ],
        &[],
    );
    let translated = cm_list(
        &[
            cm_memory(0xF000_0000, 0x0100_0000),
            cm_interrupt(0, 0x81, 8, 0, 0x1),
            cm_interrupt(LATCHED_MESSAGE, 0x90, 9, 0, 0x1),
            cm_interrupt(LATCHED_MESSAGE, 0x91, 9, 1, 0x8),
        ],
        &[],
    );
    (raw, translated)
}

#[test]
fn start_reads_every_interrupt_and_the_bar() {
    let (raw, translated) = start_lists();
    let found = start_resources(&raw, &translated).unwrap();
    assert_eq!(found.memory, Some((0xF000_0000, 0x0100_0000)));
    assert_eq!(
        found.interrupts,
        vec![
            InterruptConnection {
                message: false,
                latched: false,
                shared: false,
                vector: 0x81,
                level: 8,
                group: 0,
                affinity: 1,
                processor: 0,
                line: Some(28),
            },
            InterruptConnection {
                message: true,
                latched: true,
                shared: false,
                vector: 0x90,
                level: 9,
                group: 0,
                affinity: 1,
                processor: 0,
                line: None,
            },
            InterruptConnection {
                message: true,
                latched: true,
                shared: false,
                vector: 0x91,
                level: 9,
                group: 1,
                affinity: 8,
                processor: 3,
                line: None,
            },
        ]
    );
}

#[test]
fn start_hides_only_the_message_interrupts_from_the_pci_driver() {
    let (_, mut translated) = start_lists();
    let before = translated.clone();
    assert_eq!(hide_message_interrupts(&mut translated), Ok(2));
    let kinds: Vec<u8> = (0..4)
        .map(|index| translated[CM_LIST_HEADER + CM_FULL_HEADER + index * CM_DESC + CM_TYPE])
        .collect();
    assert_eq!(
        kinds,
        vec![
            k::CmResourceTypeMemory,
            k::CmResourceTypeInterrupt,
            k::CmResourceTypeDevicePrivate,
            k::CmResourceTypeDevicePrivate
        ]
    );
    // Only the type bytes changed.
    let changed = before
        .iter()
        .zip(&translated)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 2);
}

#[test]
fn device_specific_data_is_stepped_over() {
    let specific = cm(
        k::CmResourceTypeDeviceSpecific,
        0,
        CM_PARTIAL_RESOURCE_DESCRIPTOR_u {
            DeviceSpecificData: ntddk::types::CM_PARTIAL_RESOURCE_DEVICE_SPECIFIC_DATA {
                DataSize: 12,
                Reserved1: 0,
                Reserved2: 0,
            },
        },
    );
    let mut two_lists = cm_list(&[specific], &[0xAA; 12]);
    // A second full descriptor after the data, with one message interrupt.
    two_lists[..4].copy_from_slice(&2_u32.to_le_bytes());
    let second = cm_list(&[cm_interrupt(LATCHED_MESSAGE, 0x92, 9, 0, 4)], &[]);
    two_lists.extend_from_slice(&second[CM_LIST_HEADER..]);
    assert_eq!(hide_message_interrupts(&mut two_lists), Ok(1));
    // The data bytes are untouched.
    let data_at = CM_LIST_HEADER + CM_FULL_HEADER + CM_DESC;
    assert_eq!(&two_lists[data_at..data_at + 12], &[0xAA; 12]);
    // Data running past the buffer is refused.
    let mut short = cm_list(&[specific], &[0xAA; 11]);
    assert_eq!(
        hide_message_interrupts(&mut short),
        Err(ResourceError::Malformed)
    );
}

#[test]
fn start_refuses_lists_that_disagree_or_lie() {
    let (raw, translated) = start_lists();
    let shorter = cm_list(&[cm_memory(0, 0)], &[]);
    assert_eq!(
        start_resources(&shorter, &translated),
        Err(ResourceError::Mismatch)
    );
    let mut lying = translated.clone();
    lying[CM_LIST_HEADER + CM_FULL_COUNT] = 9;
    assert_eq!(start_resources(&raw, &lying), Err(ResourceError::Malformed));
    let before = lying.clone();
    assert_eq!(
        hide_message_interrupts(&mut lying),
        Err(ResourceError::Malformed)
    );
    assert_eq!(lying, before, "nothing changed on a refused list");
    let nowhere = cm_list(&[cm_interrupt(0, 0x81, 8, 0, 0)], &[]);
    assert_eq!(
        start_resources(&nowhere, &nowhere),
        Err(ResourceError::NoProcessor)
    );
    let mut huge = translated;
    huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(start_resources(&raw, &huge), Err(ResourceError::Malformed));
}

#[test]
fn mutated_lists_never_panic_and_never_grow_a_refused_answer() {
    let (raw, translated) = start_lists();
    let requirements = requirements(&[bar(), line_interrupt()], 1);
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut a = translated.clone();
        let mut b = requirements.clone();
        for _ in 0..=(next() % 4) {
            let index = usize::try_from(next() % a.len() as u64).unwrap();
            a[index] = u8::try_from(next() & 0xFF).unwrap();
            let index = usize::try_from(next() % b.len() as u64).unwrap();
            b[index] = u8::try_from(next() & 0xFF).unwrap();
        }
        let cut = usize::try_from(next() % (a.len() as u64 + 1)).unwrap();
        let _ = start_resources(&raw, &a[..cut]);
        let _ = start_resources(&a, &a);
        let mut c = a.clone();
        if hide_message_interrupts(&mut c).is_err() {
            assert_eq!(c, a);
        }
        if let Ok(list) = filter_requirements(
            &b,
            &[ProcessorNumber {
                group: 0,
                number: 1,
            }],
        ) {
            let size = u32::from_le_bytes(list[..4].try_into().unwrap());
            assert_eq!(size as usize, list.len());
        }
    }
}
