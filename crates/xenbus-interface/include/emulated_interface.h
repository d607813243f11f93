/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENFILT_EMULATED: emulated devices known to xenfilt (served by xenfilt; a xenbus PDO forwards the query).
 * Every version MIN..MAX is served; XENFILT_EMULATED_INTERFACE names the newest.
 */

#ifndef _XENFILT_EMULATED_INTERFACE_H
#define _XENFILT_EMULATED_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef enum _XENBUS_EMULATED_ACTIVATION_STATUS {
    XENBUS_EMULATED_ACTIVATE_NEUTRAL = 0,
    XENBUS_EMULATED_FORCE_ACTIVATED = 1,
    XENBUS_EMULATED_FORCE_DEACTIVATED = 2,
} XENBUS_EMULATED_ACTIVATION_STATUS, *PXENBUS_EMULATED_ACTIVATION_STATUS;

typedef NTSTATUS
(*XENFILT_EMULATED_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENFILT_EMULATED_RELEASE)(
    PINTERFACE Interface
    );

typedef BOOLEAN
(*XENFILT_EMULATED_IS_DEVICE_PRESENT_V1)(
    PINTERFACE Interface,
    PSTR DeviceID,
    PSTR InstanceID
    );

typedef BOOLEAN
(*XENFILT_EMULATED_IS_DEVICE_PRESENT)(
    PINTERFACE Interface,
    PSTR DeviceID,
    PSTR InstanceID,
    PXENBUS_EMULATED_ACTIVATION_STATUS IsForceActivated
    );

typedef BOOLEAN
(*XENFILT_EMULATED_IS_DISK_PRESENT_V1)(
    PINTERFACE Interface,
    ULONG Controller,
    ULONG Target,
    ULONG Lun
    );

typedef BOOLEAN
(*XENFILT_EMULATED_IS_DISK_PRESENT)(
    PINTERFACE Interface,
    ULONG Index
    );

DEFINE_GUID(GUID_XENFILT_EMULATED_INTERFACE,
            0x959027a1, 0xfcce, 0x4e78, 0xbc, 0xf4, 0x63, 0x73, 0x84, 0xf4, 0x99, 0xc5);

struct _XENFILT_EMULATED_INTERFACE_V1 {
    INTERFACE Interface;
    XENFILT_EMULATED_ACQUIRE EmulatedAcquire;
    XENFILT_EMULATED_RELEASE EmulatedRelease;
    XENFILT_EMULATED_IS_DEVICE_PRESENT_V1 EmulatedIsDevicePresentVersion1;
    XENFILT_EMULATED_IS_DISK_PRESENT_V1 EmulatedIsDiskPresentVersion1;
};

struct _XENFILT_EMULATED_INTERFACE_V2 {
    INTERFACE Interface;
    XENFILT_EMULATED_ACQUIRE EmulatedAcquire;
    XENFILT_EMULATED_RELEASE EmulatedRelease;
    XENFILT_EMULATED_IS_DEVICE_PRESENT_V1 EmulatedIsDevicePresentVersion1;
    XENFILT_EMULATED_IS_DISK_PRESENT EmulatedIsDiskPresent;
};

struct _XENFILT_EMULATED_INTERFACE_V3 {
    INTERFACE Interface;
    XENFILT_EMULATED_ACQUIRE EmulatedAcquire;
    XENFILT_EMULATED_RELEASE EmulatedRelease;
    XENFILT_EMULATED_IS_DEVICE_PRESENT EmulatedIsDevicePresent;
    XENFILT_EMULATED_IS_DISK_PRESENT EmulatedIsDiskPresent;
};

typedef struct _XENFILT_EMULATED_INTERFACE_V3 XENFILT_EMULATED_INTERFACE, *PXENFILT_EMULATED_INTERFACE;

/* Calls a method: XENFILT_EMULATED(Method, Interface, ...) -> Interface->EmulatedMethod(...). */
#define XENFILT_EMULATED(_Method, _Interface, ...) \
    (_Interface)->Emulated ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENFILT_EMULATED_INTERFACE_VERSION_MIN 1
#define XENFILT_EMULATED_INTERFACE_VERSION_MAX 3

#endif /* _XENFILT_EMULATED_INTERFACE_H */
