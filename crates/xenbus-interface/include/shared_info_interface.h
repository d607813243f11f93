/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_SHARED_INFO: the shared-info page: per-CPU upcall flags, 2-level event bits and the wall clock.
 * Every version MIN..MAX is served; XENBUS_SHARED_INFO_INTERFACE names the newest.
 */

#ifndef _XENBUS_SHARED_INFO_INTERFACE_H
#define _XENBUS_SHARED_INFO_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef BOOLEAN (*XENBUS_SHARED_INFO_EVENT)(PVOID Argument, ULONG Port);

typedef NTSTATUS
(*XENBUS_SHARED_INFO_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_SHARED_INFO_RELEASE)(
    PINTERFACE Interface
    );

typedef BOOLEAN
(*XENBUS_SHARED_INFO_UPCALL_SUPPORTED)(
    PINTERFACE Interface,
    ULONG Index
    );

typedef BOOLEAN
(*XENBUS_SHARED_INFO_UPCALL_PENDING)(
    PINTERFACE Interface,
    ULONG Index
    );

typedef BOOLEAN
(*XENBUS_SHARED_INFO_EVTCHN_POLL)(
    PINTERFACE Interface,
    ULONG Index,
    XENBUS_SHARED_INFO_EVENT Event,
    PVOID Argument
    );

typedef VOID
(*XENBUS_SHARED_INFO_EVTCHN_ACK)(
    PINTERFACE Interface,
    ULONG Port
    );

typedef VOID
(*XENBUS_SHARED_INFO_EVTCHN_MASK)(
    PINTERFACE Interface,
    ULONG Port
    );

typedef BOOLEAN
(*XENBUS_SHARED_INFO_EVTCHN_UNMASK)(
    PINTERFACE Interface,
    ULONG Port
    );

typedef LARGE_INTEGER
(*XENBUS_SHARED_INFO_GET_TIME_V2)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_SHARED_INFO_GET_TIME)(
    PINTERFACE Interface,
    PLARGE_INTEGER Time,
    PBOOLEAN Local
    );

DEFINE_GUID(GUID_XENBUS_SHARED_INFO_INTERFACE,
            0x7e73c34f, 0x1640, 0x4649, 0xa8, 0xf3, 0x26, 0x3b, 0xc9, 0x30, 0xa0, 0x04);

struct _XENBUS_SHARED_INFO_INTERFACE_V2 {
    INTERFACE Interface;
    XENBUS_SHARED_INFO_ACQUIRE SharedInfoAcquire;
    XENBUS_SHARED_INFO_RELEASE SharedInfoRelease;
    XENBUS_SHARED_INFO_UPCALL_PENDING SharedInfoUpcallPending;
    XENBUS_SHARED_INFO_EVTCHN_POLL SharedInfoEvtchnPoll;
    XENBUS_SHARED_INFO_EVTCHN_ACK SharedInfoEvtchnAck;
    XENBUS_SHARED_INFO_EVTCHN_MASK SharedInfoEvtchnMask;
    XENBUS_SHARED_INFO_EVTCHN_UNMASK SharedInfoEvtchnUnmask;
    XENBUS_SHARED_INFO_GET_TIME_V2 SharedInfoGetTimeVersion2;
};

struct _XENBUS_SHARED_INFO_INTERFACE_V3 {
    INTERFACE Interface;
    XENBUS_SHARED_INFO_ACQUIRE SharedInfoAcquire;
    XENBUS_SHARED_INFO_RELEASE SharedInfoRelease;
    XENBUS_SHARED_INFO_UPCALL_PENDING SharedInfoUpcallPending;
    XENBUS_SHARED_INFO_EVTCHN_POLL SharedInfoEvtchnPoll;
    XENBUS_SHARED_INFO_EVTCHN_ACK SharedInfoEvtchnAck;
    XENBUS_SHARED_INFO_EVTCHN_MASK SharedInfoEvtchnMask;
    XENBUS_SHARED_INFO_EVTCHN_UNMASK SharedInfoEvtchnUnmask;
    XENBUS_SHARED_INFO_GET_TIME SharedInfoGetTime;
};

struct _XENBUS_SHARED_INFO_INTERFACE_V4 {
    INTERFACE Interface;
    XENBUS_SHARED_INFO_ACQUIRE SharedInfoAcquire;
    XENBUS_SHARED_INFO_RELEASE SharedInfoRelease;
    XENBUS_SHARED_INFO_UPCALL_SUPPORTED SharedInfoUpcallSupported;
    XENBUS_SHARED_INFO_UPCALL_PENDING SharedInfoUpcallPending;
    XENBUS_SHARED_INFO_EVTCHN_POLL SharedInfoEvtchnPoll;
    XENBUS_SHARED_INFO_EVTCHN_ACK SharedInfoEvtchnAck;
    XENBUS_SHARED_INFO_EVTCHN_MASK SharedInfoEvtchnMask;
    XENBUS_SHARED_INFO_EVTCHN_UNMASK SharedInfoEvtchnUnmask;
    XENBUS_SHARED_INFO_GET_TIME SharedInfoGetTime;
};

typedef struct _XENBUS_SHARED_INFO_INTERFACE_V4 XENBUS_SHARED_INFO_INTERFACE, *PXENBUS_SHARED_INFO_INTERFACE;

/* Calls a method: XENBUS_SHARED_INFO(Method, Interface, ...) -> Interface->SharedInfoMethod(...). */
#define XENBUS_SHARED_INFO(_Method, _Interface, ...) \
    (_Interface)->SharedInfo ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_SHARED_INFO_INTERFACE_VERSION_MIN 2
#define XENBUS_SHARED_INFO_INTERFACE_VERSION_MAX 4

#endif /* _XENBUS_SHARED_INFO_INTERFACE_H */
