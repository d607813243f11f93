/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_UNPLUG: requests to unplug emulated devices at the next boot.
 * Every version MIN..MAX is served; XENBUS_UNPLUG_INTERFACE names the newest.
 */

#ifndef _XENBUS_UNPLUG_INTERFACE_H
#define _XENBUS_UNPLUG_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef enum _XENBUS_UNPLUG_DEVICE_TYPE {
    XENBUS_UNPLUG_DEVICE_TYPE_INVALID = 0,
    XENBUS_UNPLUG_DEVICE_TYPE_NICS,
    XENBUS_UNPLUG_DEVICE_TYPE_DISKS,
} XENBUS_UNPLUG_DEVICE_TYPE, *PXENBUS_UNPLUG_DEVICE_TYPE;

typedef NTSTATUS
(*XENBUS_UNPLUG_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_UNPLUG_RELEASE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_UNPLUG_REQUEST)(
    PINTERFACE Interface,
    XENBUS_UNPLUG_DEVICE_TYPE Type,
    BOOLEAN Make
    );

typedef BOOLEAN
(*XENBUS_UNPLUG_IS_REQUESTED)(
    PINTERFACE Interface,
    XENBUS_UNPLUG_DEVICE_TYPE Type
    );

typedef BOOLEAN
(*XENBUS_UNPLUG_BOOT_EMULATED)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_UNPLUG_REBOOT)(
    PINTERFACE Interface,
    PSTR Module
    );

DEFINE_GUID(GUID_XENBUS_UNPLUG_INTERFACE,
            0x73db6517, 0x3d06, 0x4937, 0x98, 0x9f, 0x19, 0x9b, 0x75, 0x01, 0xe2, 0x29);

struct _XENBUS_UNPLUG_INTERFACE_V1 {
    INTERFACE Interface;
    XENBUS_UNPLUG_ACQUIRE UnplugAcquire;
    XENBUS_UNPLUG_RELEASE UnplugRelease;
    XENBUS_UNPLUG_REQUEST UnplugRequest;
};

struct _XENBUS_UNPLUG_INTERFACE_V2 {
    INTERFACE Interface;
    XENBUS_UNPLUG_ACQUIRE UnplugAcquire;
    XENBUS_UNPLUG_RELEASE UnplugRelease;
    XENBUS_UNPLUG_REQUEST UnplugRequest;
    XENBUS_UNPLUG_IS_REQUESTED UnplugIsRequested;
};

struct _XENBUS_UNPLUG_INTERFACE_V3 {
    INTERFACE Interface;
    XENBUS_UNPLUG_ACQUIRE UnplugAcquire;
    XENBUS_UNPLUG_RELEASE UnplugRelease;
    XENBUS_UNPLUG_REQUEST UnplugRequest;
    XENBUS_UNPLUG_IS_REQUESTED UnplugIsRequested;
    XENBUS_UNPLUG_BOOT_EMULATED UnplugBootEmulated;
    XENBUS_UNPLUG_REBOOT UnplugReboot;
};

typedef struct _XENBUS_UNPLUG_INTERFACE_V3 XENBUS_UNPLUG_INTERFACE, *PXENBUS_UNPLUG_INTERFACE;

/* Calls a method: XENBUS_UNPLUG(Method, Interface, ...) -> Interface->UnplugMethod(...). */
#define XENBUS_UNPLUG(_Method, _Interface, ...) \
    (_Interface)->Unplug ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_UNPLUG_INTERFACE_VERSION_MIN 1
#define XENBUS_UNPLUG_INTERFACE_VERSION_MAX 3

#endif /* _XENBUS_UNPLUG_INTERFACE_H */
