/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_CONSOLE: the PV console ring.
 * Every version MIN..MAX is served; XENBUS_CONSOLE_INTERFACE names the newest.
 */

#ifndef _XENBUS_CONSOLE_INTERFACE_H
#define _XENBUS_CONSOLE_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef struct _XENBUS_CONSOLE_WAKEUP XENBUS_CONSOLE_WAKEUP, *PXENBUS_CONSOLE_WAKEUP;

typedef NTSTATUS
(*XENBUS_CONSOLE_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_CONSOLE_RELEASE)(
    PINTERFACE Interface
    );

typedef BOOLEAN
(*XENBUS_CONSOLE_CAN_READ)(
    PINTERFACE Interface
    );

typedef ULONG
(*XENBUS_CONSOLE_READ)(
    PINTERFACE Interface,
    PSTR Data,
    ULONG Length
    );

typedef BOOLEAN
(*XENBUS_CONSOLE_CAN_WRITE)(
    PINTERFACE Interface
    );

typedef ULONG
(*XENBUS_CONSOLE_WRITE)(
    PINTERFACE Interface,
    PSTR Data,
    ULONG Length
    );

typedef NTSTATUS
(*XENBUS_CONSOLE_WAKEUP_ADD)(
    PINTERFACE Interface,
    PKEVENT Event,
    PXENBUS_CONSOLE_WAKEUP *Wakeup
    );

typedef VOID
(*XENBUS_CONSOLE_WAKEUP_REMOVE)(
    PINTERFACE Interface,
    PXENBUS_CONSOLE_WAKEUP Wakeup
    );

DEFINE_GUID(GUID_XENBUS_CONSOLE_INTERFACE,
            0x04c4f738, 0x034a, 0x4268, 0xbd, 0x20, 0xa9, 0x2a, 0xc9, 0x0d, 0x4f, 0x82);

struct _XENBUS_CONSOLE_INTERFACE_V1 {
    INTERFACE Interface;
    XENBUS_CONSOLE_ACQUIRE ConsoleAcquire;
    XENBUS_CONSOLE_RELEASE ConsoleRelease;
    XENBUS_CONSOLE_CAN_READ ConsoleCanRead;
    XENBUS_CONSOLE_READ ConsoleRead;
    XENBUS_CONSOLE_CAN_WRITE ConsoleCanWrite;
    XENBUS_CONSOLE_WRITE ConsoleWrite;
    XENBUS_CONSOLE_WAKEUP_ADD ConsoleWakeupAdd;
    XENBUS_CONSOLE_WAKEUP_REMOVE ConsoleWakeupRemove;
};

typedef struct _XENBUS_CONSOLE_INTERFACE_V1 XENBUS_CONSOLE_INTERFACE, *PXENBUS_CONSOLE_INTERFACE;

/* Calls a method: XENBUS_CONSOLE(Method, Interface, ...) -> Interface->ConsoleMethod(...). */
#define XENBUS_CONSOLE(_Method, _Interface, ...) \
    (_Interface)->Console ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_CONSOLE_INTERFACE_VERSION_MIN 1
#define XENBUS_CONSOLE_INTERFACE_VERSION_MAX 1

#endif /* _XENBUS_CONSOLE_INTERFACE_H */
