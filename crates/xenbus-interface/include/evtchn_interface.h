/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * XENBUS_EVTCHN: event channels; EvtchnOpen takes per-type variable arguments (see below).
 * Every version MIN..MAX is served; XENBUS_EVTCHN_INTERFACE names the newest.
 */

#ifndef _XENBUS_EVTCHN_INTERFACE_H
#define _XENBUS_EVTCHN_INTERFACE_H

#include "xenbus_types.h"

#ifndef _WINDLL

typedef enum _XENBUS_EVTCHN_TYPE {
    XENBUS_EVTCHN_TYPE_INVALID = 0,
    XENBUS_EVTCHN_TYPE_FIXED,        /* ... ULONG LocalPort, BOOLEAN Mask */
    XENBUS_EVTCHN_TYPE_UNBOUND,      /* ... USHORT RemoteDomain, BOOLEAN Mask */
    XENBUS_EVTCHN_TYPE_INTER_DOMAIN, /* ... USHORT RemoteDomain, ULONG RemotePort, BOOLEAN Mask */
    XENBUS_EVTCHN_TYPE_VIRQ          /* ... ULONG Index (and from v9: USHORT Group, UCHAR Number) */
} XENBUS_EVTCHN_TYPE, *PXENBUS_EVTCHN_TYPE;

typedef struct _XENBUS_EVTCHN_CHANNEL XENBUS_EVTCHN_CHANNEL, *PXENBUS_EVTCHN_CHANNEL;

typedef NTSTATUS
(*XENBUS_EVTCHN_ACQUIRE)(
    PINTERFACE Interface
    );

typedef VOID
(*XENBUS_EVTCHN_RELEASE)(
    PINTERFACE Interface
    );

typedef PXENBUS_EVTCHN_CHANNEL
(*XENBUS_EVTCHN_OPEN)(
    PINTERFACE Interface,
    XENBUS_EVTCHN_TYPE Type,
    PKSERVICE_ROUTINE Function,
    PVOID Argument,
    ...
    );

typedef NTSTATUS
(*XENBUS_EVTCHN_BIND)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel,
    USHORT Group,
    UCHAR Number
    );

typedef VOID
(*XENBUS_EVTCHN_UNMASK_V4)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel,
    BOOLEAN InCallback
    );

typedef BOOLEAN
(*XENBUS_EVTCHN_UNMASK)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel,
    BOOLEAN InCallback,
    BOOLEAN Force
    );

typedef VOID
(*XENBUS_EVTCHN_SEND_V1)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel
    );

typedef VOID
(*XENBUS_EVTCHN_SEND)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel
    );

typedef VOID
(*XENBUS_EVTCHN_TRIGGER)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel
    );

typedef ULONG
(*XENBUS_EVTCHN_GET_COUNT)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel
    );

typedef NTSTATUS
(*XENBUS_EVTCHN_WAIT_V5)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel,
    PLARGE_INTEGER Timeout
    );

typedef NTSTATUS
(*XENBUS_EVTCHN_WAIT)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel,
    ULONG Count,
    PLARGE_INTEGER Timeout
    );

typedef ULONG
(*XENBUS_EVTCHN_GET_PORT)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel
    );

typedef VOID
(*XENBUS_EVTCHN_CLOSE)(
    PINTERFACE Interface,
    PXENBUS_EVTCHN_CHANNEL Channel
    );

DEFINE_GUID(GUID_XENBUS_EVTCHN_INTERFACE,
            0xbe2440ac, 0x1098, 0x4150, 0xaf, 0x4d, 0x45, 0x2f, 0xad, 0xce, 0xf9, 0x23);

struct _XENBUS_EVTCHN_INTERFACE_V5 {
    INTERFACE Interface;
    XENBUS_EVTCHN_ACQUIRE EvtchnAcquire;
    XENBUS_EVTCHN_RELEASE EvtchnRelease;
    XENBUS_EVTCHN_OPEN EvtchnOpen;
    XENBUS_EVTCHN_BIND EvtchnBind;
    XENBUS_EVTCHN_UNMASK_V4 EvtchnUnmaskVersion4;
    XENBUS_EVTCHN_SEND_V1 EvtchnSendVersion1;
    XENBUS_EVTCHN_TRIGGER EvtchnTrigger;
    XENBUS_EVTCHN_WAIT_V5 EvtchnWaitVersion5;
    XENBUS_EVTCHN_GET_PORT EvtchnGetPort;
    XENBUS_EVTCHN_CLOSE EvtchnClose;
};

struct _XENBUS_EVTCHN_INTERFACE_V6 {
    INTERFACE Interface;
    XENBUS_EVTCHN_ACQUIRE EvtchnAcquire;
    XENBUS_EVTCHN_RELEASE EvtchnRelease;
    XENBUS_EVTCHN_OPEN EvtchnOpen;
    XENBUS_EVTCHN_BIND EvtchnBind;
    XENBUS_EVTCHN_UNMASK_V4 EvtchnUnmaskVersion4;
    XENBUS_EVTCHN_SEND EvtchnSend;
    XENBUS_EVTCHN_TRIGGER EvtchnTrigger;
    XENBUS_EVTCHN_WAIT_V5 EvtchnWaitVersion5;
    XENBUS_EVTCHN_GET_PORT EvtchnGetPort;
    XENBUS_EVTCHN_CLOSE EvtchnClose;
};

struct _XENBUS_EVTCHN_INTERFACE_V7 {
    INTERFACE Interface;
    XENBUS_EVTCHN_ACQUIRE EvtchnAcquire;
    XENBUS_EVTCHN_RELEASE EvtchnRelease;
    XENBUS_EVTCHN_OPEN EvtchnOpen;
    XENBUS_EVTCHN_BIND EvtchnBind;
    XENBUS_EVTCHN_UNMASK_V4 EvtchnUnmaskVersion4;
    XENBUS_EVTCHN_SEND EvtchnSend;
    XENBUS_EVTCHN_TRIGGER EvtchnTrigger;
    XENBUS_EVTCHN_GET_COUNT EvtchnGetCount;
    XENBUS_EVTCHN_WAIT EvtchnWait;
    XENBUS_EVTCHN_GET_PORT EvtchnGetPort;
    XENBUS_EVTCHN_CLOSE EvtchnClose;
};

struct _XENBUS_EVTCHN_INTERFACE_V8 {
    INTERFACE Interface;
    XENBUS_EVTCHN_ACQUIRE EvtchnAcquire;
    XENBUS_EVTCHN_RELEASE EvtchnRelease;
    XENBUS_EVTCHN_OPEN EvtchnOpen;
    XENBUS_EVTCHN_BIND EvtchnBind;
    XENBUS_EVTCHN_UNMASK EvtchnUnmask;
    XENBUS_EVTCHN_SEND EvtchnSend;
    XENBUS_EVTCHN_TRIGGER EvtchnTrigger;
    XENBUS_EVTCHN_GET_COUNT EvtchnGetCount;
    XENBUS_EVTCHN_WAIT EvtchnWait;
    XENBUS_EVTCHN_GET_PORT EvtchnGetPort;
    XENBUS_EVTCHN_CLOSE EvtchnClose;
};

struct _XENBUS_EVTCHN_INTERFACE_V9 {
    INTERFACE Interface;
    XENBUS_EVTCHN_ACQUIRE EvtchnAcquire;
    XENBUS_EVTCHN_RELEASE EvtchnRelease;
    XENBUS_EVTCHN_OPEN EvtchnOpen;
    XENBUS_EVTCHN_BIND EvtchnBind;
    XENBUS_EVTCHN_UNMASK EvtchnUnmask;
    XENBUS_EVTCHN_SEND EvtchnSend;
    XENBUS_EVTCHN_TRIGGER EvtchnTrigger;
    XENBUS_EVTCHN_GET_COUNT EvtchnGetCount;
    XENBUS_EVTCHN_WAIT EvtchnWait;
    XENBUS_EVTCHN_GET_PORT EvtchnGetPort;
    XENBUS_EVTCHN_CLOSE EvtchnClose;
};

typedef struct _XENBUS_EVTCHN_INTERFACE_V9 XENBUS_EVTCHN_INTERFACE, *PXENBUS_EVTCHN_INTERFACE;

/* Calls a method: XENBUS_EVTCHN(Method, Interface, ...) -> Interface->EvtchnMethod(...). */
#define XENBUS_EVTCHN(_Method, _Interface, ...) \
    (_Interface)->Evtchn ## _Method((PINTERFACE)(_Interface), ##__VA_ARGS__)

#endif /* _WINDLL */

#define XENBUS_EVTCHN_INTERFACE_VERSION_MIN 5
#define XENBUS_EVTCHN_INTERFACE_VERSION_MAX 9

#endif /* _XENBUS_EVTCHN_INTERFACE_H */
