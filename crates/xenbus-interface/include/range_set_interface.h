/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_RANGE_SET: sets of non-overlapping integer ranges.
 * Every version MIN..MAX is served; XENBUS_RANGE_SET_INTERFACE names the newest.
 */

#ifndef _XENBUS_RANGE_SET_INTERFACE_H
#define _XENBUS_RANGE_SET_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef struct _XENBUS_RANGE_SET XENBUS_RANGE_SET, *PXENBUS_RANGE_SET;

typedef NTSTATUS
(*XENBUS_RANGE_SET_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_RANGE_SET_RELEASE)(
    PINTERFACE Interface
    );

typedef NTSTATUS
(*XENBUS_RANGE_SET_CREATE)(
    PINTERFACE Interface,
    PCSTR Name,
    PXENBUS_RANGE_SET *RangeSet
    );

typedef NTSTATUS
(*XENBUS_RANGE_SET_PUT)(
    PINTERFACE Interface,
    PXENBUS_RANGE_SET RangeSet,
    LONGLONG Start,
    ULONGLONG Count
    );

typedef NTSTATUS
(*XENBUS_RANGE_SET_POP)(
    PINTERFACE Interface,
    PXENBUS_RANGE_SET RangeSet,
    ULONGLONG Count,
    PLONGLONG Start
    );

typedef NTSTATUS
(*XENBUS_RANGE_SET_GET)(
    PINTERFACE Interface,
    PXENBUS_RANGE_SET RangeSet,
    LONGLONG Start,
    ULONGLONG Count
    );

typedef VOID
(*XENBUS_RANGE_SET_DESTROY)(
    PINTERFACE Interface,
    PXENBUS_RANGE_SET RangeSet
    );

DEFINE_GUID(GUID_XENBUS_RANGE_SET_INTERFACE,
            0xee7e78a2, 0x6847, 0x48c5, 0xb1, 0x23, 0xbb, 0x01, 0x2f, 0x0e, 0xab, 0xf4);

struct _XENBUS_RANGE_SET_INTERFACE_V1 {
    INTERFACE Interface;
    XENBUS_RANGE_SET_ACQUIRE RangeSetAcquire;
    XENBUS_RANGE_SET_RELEASE RangeSetRelease;
    XENBUS_RANGE_SET_CREATE RangeSetCreate;
    XENBUS_RANGE_SET_PUT RangeSetPut;
    XENBUS_RANGE_SET_POP RangeSetPop;
    XENBUS_RANGE_SET_GET RangeSetGet;
    XENBUS_RANGE_SET_DESTROY RangeSetDestroy;
};

typedef struct _XENBUS_RANGE_SET_INTERFACE_V1 XENBUS_RANGE_SET_INTERFACE, *PXENBUS_RANGE_SET_INTERFACE;

/* Calls a method: XENBUS_RANGE_SET(Method, Interface, ...) -> Interface->RangeSetMethod(...). */
#define XENBUS_RANGE_SET(_Method, _Interface, ...) \
    (_Interface)->RangeSet ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_RANGE_SET_INTERFACE_VERSION_MIN 1
#define XENBUS_RANGE_SET_INTERFACE_VERSION_MAX 1

#endif /* _XENBUS_RANGE_SET_INTERFACE_H */
