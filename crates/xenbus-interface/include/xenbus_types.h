/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * Windows kernel types the XENBUS interface headers use. A driver build includes <wdm.h> (or
 * <ntddk.h>) first and gets them from the WDK; anywhere else (host tests, tools) this header
 * supplies layout-identical stand-ins for the x64 ABI.
 */

#ifndef _XENBUS_TYPES_H
#define _XENBUS_TYPES_H

#if !defined(_WDMDDK_) && !defined(_NTDDK_)

#include <stdint.h>
#include <stddef.h>

typedef int32_t NTSTATUS;
typedef uint8_t BOOLEAN, *PBOOLEAN;
typedef uint8_t UCHAR;
typedef uint16_t USHORT;
typedef uint32_t ULONG, *PULONG;
typedef int64_t LONGLONG, *PLONGLONG;
typedef uint64_t ULONGLONG;
typedef uint64_t ULONG_PTR;
typedef ULONG_PTR PFN_NUMBER, *PPFN_NUMBER;
typedef void VOID, *PVOID;
typedef char CHAR, *PSTR;
typedef const char *PCSTR;

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        int32_t HighPart;
    } u;
    LONGLONG QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER, PHYSICAL_ADDRESS, *PPHYSICAL_ADDRESS;

typedef struct _KEVENT KEVENT, *PKEVENT;
typedef struct _KINTERRUPT KINTERRUPT, *PKINTERRUPT;
typedef BOOLEAN (*PKSERVICE_ROUTINE)(PKINTERRUPT Interrupt, PVOID ServiceContext);

typedef VOID (*PINTERFACE_REFERENCE)(PVOID Context);
typedef VOID (*PINTERFACE_DEREFERENCE)(PVOID Context);

typedef struct _INTERFACE {
    USHORT Size;
    USHORT Version;
    PVOID Context;
    PINTERFACE_REFERENCE InterfaceReference;
    PINTERFACE_DEREFERENCE InterfaceDereference;
} INTERFACE, *PINTERFACE;

typedef struct _GUID {
    ULONG Data1;
    USHORT Data2;
    USHORT Data3;
    UCHAR Data4[8];
} GUID;

#define DEFINE_GUID(_Name, _l, _w1, _w2, _b1, _b2, _b3, _b4, _b5, _b6, _b7, _b8) \
    static const GUID _Name __attribute__((unused)) =                                \
        { _l, _w1, _w2, { _b1, _b2, _b3, _b4, _b5, _b6, _b7, _b8 } }

#endif /* !_WDMDDK_ && !_NTDDK_ */

#endif /* _XENBUS_TYPES_H */
