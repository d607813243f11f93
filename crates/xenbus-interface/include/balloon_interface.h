/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_BALLOON: the balloon (internal to xenbus; never offered to child drivers).
 * Every version MIN..MAX is served; XENBUS_BALLOON_INTERFACE names the newest.
 */

#ifndef _XENBUS_BALLOON_INTERFACE_H
#define _XENBUS_BALLOON_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef NTSTATUS
(*XENBUS_BALLOON_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_BALLOON_RELEASE)(
    PINTERFACE Interface
    );

typedef NTSTATUS
(*XENBUS_BALLOON_ADJUST)(
    PINTERFACE Interface,
    ULONGLONG Size
    );

typedef ULONGLONG
(*XENBUS_BALLOON_GET_SIZE)(
    PINTERFACE Interface
    );

DEFINE_GUID(GUID_XENBUS_BALLOON_INTERFACE,
            0xd92aa810, 0xbecb, 0x4bd5, 0xa3, 0xda, 0xbd, 0x03, 0xc1, 0x35, 0xa2, 0x97);

struct _XENBUS_BALLOON_INTERFACE_V1 {
    INTERFACE Interface;
    XENBUS_BALLOON_ACQUIRE BalloonAcquire;
    XENBUS_BALLOON_RELEASE BalloonRelease;
    XENBUS_BALLOON_ADJUST BalloonAdjust;
    XENBUS_BALLOON_GET_SIZE BalloonGetSize;
};

typedef struct _XENBUS_BALLOON_INTERFACE_V1 XENBUS_BALLOON_INTERFACE, *PXENBUS_BALLOON_INTERFACE;

/* Calls a method: XENBUS_BALLOON(Method, Interface, ...) -> Interface->BalloonMethod(...). */
#define XENBUS_BALLOON(_Method, _Interface, ...) \
    (_Interface)->Balloon ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_BALLOON_INTERFACE_VERSION_MIN 1
#define XENBUS_BALLOON_INTERFACE_VERSION_MAX 1

#endif /* _XENBUS_BALLOON_INTERFACE_H */
