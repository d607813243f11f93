/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_DEBUG: debug callbacks run on VIRQ_DEBUG and at bug check; DebugPrintf is variadic.
 * Every version MIN..MAX is served; XENBUS_DEBUG_INTERFACE names the newest.
 */

#ifndef _XENBUS_DEBUG_INTERFACE_H
#define _XENBUS_DEBUG_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef struct _XENBUS_DEBUG_CALLBACK XENBUS_DEBUG_CALLBACK, *PXENBUS_DEBUG_CALLBACK;

typedef VOID (*XENBUS_DEBUG_FUNCTION)(PVOID Argument, BOOLEAN Crashing);

typedef NTSTATUS
(*XENBUS_DEBUG_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_DEBUG_RELEASE)(
    PINTERFACE Interface
    );

typedef NTSTATUS
(*XENBUS_DEBUG_REGISTER)(
    PINTERFACE Interface,
    PSTR Prefix,
    XENBUS_DEBUG_FUNCTION Function,
    PVOID Argument,
    PXENBUS_DEBUG_CALLBACK *Callback
    );

typedef VOID
(*XENBUS_DEBUG_PRINTF)(
    PINTERFACE Interface,
    PCSTR Format,
    ...
    );

typedef VOID
(*XENBUS_DEBUG_TRIGGER)(
    PINTERFACE Interface,
    PXENBUS_DEBUG_CALLBACK Callback
    );

typedef VOID
(*XENBUS_DEBUG_DEREGISTER)(
    PINTERFACE Interface,
    PXENBUS_DEBUG_CALLBACK Callback
    );

DEFINE_GUID(GUID_XENBUS_DEBUG_INTERFACE,
            0x0df600ae, 0x6b20, 0x4227, 0xbf, 0x94, 0x03, 0xda, 0x9a, 0x26, 0xa1, 0x14);

struct _XENBUS_DEBUG_INTERFACE_V1 {
    INTERFACE Interface;
    XENBUS_DEBUG_ACQUIRE DebugAcquire;
    XENBUS_DEBUG_RELEASE DebugRelease;
    XENBUS_DEBUG_REGISTER DebugRegister;
    XENBUS_DEBUG_PRINTF DebugPrintf;
    XENBUS_DEBUG_TRIGGER DebugTrigger;
    XENBUS_DEBUG_DEREGISTER DebugDeregister;
};

typedef struct _XENBUS_DEBUG_INTERFACE_V1 XENBUS_DEBUG_INTERFACE, *PXENBUS_DEBUG_INTERFACE;

/* Calls a method: XENBUS_DEBUG(Method, Interface, ...) -> Interface->DebugMethod(...). */
#define XENBUS_DEBUG(_Method, _Interface, ...) \
    (_Interface)->Debug ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_DEBUG_INTERFACE_VERSION_MIN 1
#define XENBUS_DEBUG_INTERFACE_VERSION_MAX 1

#endif /* _XENBUS_DEBUG_INTERFACE_H */
