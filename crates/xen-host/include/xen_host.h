/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * xen_host.h - host seam of xen.sys's exports (tests only; not part of xen.sys).
 *
 * A C program includes this header (which includes xen.h), links libxen_host.so, and stands in
 * for Windows (an XEN_HOST_PLATFORM of callbacks) and for the hypervisor (a hypercall handler)
 * while it calls the real xen.sys exports declared in xen.h.
 */

#ifndef XENBUS_RS_XEN_HOST_H
#define XENBUS_RS_XEN_HOST_H

#include "xen.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XEN_HOST_REG_SZ 1
#define XEN_HOST_REG_MULTI_SZ 7
#define XEN_HOST_KEY_UNPLUG 0
#define XEN_HOST_KEY_FORCE_UNPLUG 1
/* Keys of the *KeyValue callbacks. */
#define XEN_HOST_KEY_CLASS_SYSTEM 2       /* Control\Class\{4d36e97d-e325-11ce-bfc1-08002be10318} */
#define XEN_HOST_KEY_CLASS_HDC 3          /* Control\Class\{4d36e96a-e325-11ce-bfc1-08002be10318} */
#define XEN_HOST_KEY_XENFILT_PARAMETERS 4 /* Services\XENFILT\Parameters */

/* What a test provides in place of Windows. NULL members behave as "absent". */
typedef struct _XEN_HOST_PLATFORM {
    PVOID Context;
    UCHAR (*InByte)(PVOID Context, USHORT Port);
    USHORT (*InWord)(PVOID Context, USHORT Port);
    VOID (*OutByte)(PVOID Context, USHORT Port, UCHAR Value);
    VOID (*OutWord)(PVOID Context, USHORT Port, USHORT Value);
    VOID (*OutLong)(PVOID Context, USHORT Port, ULONG Value);
    /* SystemStartOptions, or NULL if the value is missing. */
    PCSTR (*StartOptions)(PVOID Context);
    /* DWORD values of XEN\Unplug (key 0) and XEN\ForceUnplug (key 1). */
    NTSTATUS (*ReadDword)(PVOID Context, ULONG Key, PCSTR Name, ULONG *Value);
    NTSTATUS (*WriteDword)(PVOID Context, ULONG Key, PCSTR Name, ULONG Value);
    NTSTATUS (*DeleteValue)(PVOID Context, ULONG Key, PCSTR Name);
    /* The subkey names of Enum\XENBUS, or NULL if the key is missing. */
    const PCSTR *(*XenbusSubkeys)(PVOID Context, ULONG *Count);
    /* A value under Key (NULL: xen.sys's own Parameters key): its type and data. */
    NTSTATUS (*ReadValue)(PVOID Context, HANDLE Key, PCSTR Name, ULONG *Type,
                          const UCHAR **Data, ULONG *Length);
    /*
     * Values under the class keys and XENFILT\Parameters (Key: XEN_HOST_KEY_CLASS_* or
     * XEN_HOST_KEY_XENFILT_PARAMETERS), behind Filters* and Config*. NULL: not supported.
     */
    NTSTATUS (*QueryKeyValue)(PVOID Context, ULONG Key, PCSTR Name, ULONG *Type,
                              const UCHAR **Data, ULONG *Length);
    NTSTATUS (*SetKeyValue)(PVOID Context, ULONG Key, PCSTR Name, ULONG Type, const UCHAR *Data,
                            ULONG Length);
    NTSTATUS (*DeleteKeyValue)(PVOID Context, ULONG Key, PCSTR Name);
    /* Whether HKLM\SYSTEM\CurrentControlSet\Enum\<Path> exists (the legacy-device veto). */
    BOOLEAN (*EnumKeyExists)(PVOID Context, PCSTR Path);
    /*
     * ConfigRequestReboot's request: create \Registry\Machine\<Path> (non-volatile), then
     * <Module> under it (volatile), with DWORD Reboot = 1. RequestKey is read with ReadValue.
     */
    NTSTATUS (*CreateRebootRequest)(PVOID Context, PCSTR Path, PCSTR Module);
} XEN_HOST_PLATFORM, *PXEN_HOST_PLATFORM;

/* Receives every hypercall: its number and the five argument registers; returns RAX. */
typedef intptr_t (*XEN_HOST_HYPERCALL)(PVOID Context, ULONG Op, const ULONG_PTR Args[5]);

/*
 * Installs Platform and runs xen.sys's load steps (log sinks, DbgPrint option, unplug). The
 * state only Windows has (vCPU ids, vcpu_info, the module list) answers STATUS_NOT_SUPPORTED.
 */
VOID XenHostInitialize(const XEN_HOST_PLATFORM *Platform);
VOID XenHostTeardown(VOID);
/* Routes hypercalls to Handler (NULL: none; the exports then fail STATUS_NOT_SUPPORTED). */
VOID XenHostInstallHypervisor(XEN_HOST_HYPERCALL Handler, PVOID Context);
/* What the kernel's DbgPrint callback would deliver; returns whether it was captured. */
BOOLEAN XenHostDbgPrint(PCSTR Text, ULONG Level);
/* The version XenTouch expects. */
VOID XenHostDriverVersion(PULONG Major, PULONG Minor, PULONG Micro, PULONG Build);

#ifdef __cplusplus
}
#endif

#endif /* XENBUS_RS_XEN_HOST_H */
