/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * xen.h - the C interface of xen.sys.
 *
 * xen.sys is the one driver of the package that talks to Xen. xenbus.sys, xenfilt.sys and PV
 * drivers link against these functions by name (import library xen.lib, DLL name xen.sys). The
 * names, parameter types and return types are those the original C driver package exports, so
 * a driver built against its header links against ours unchanged.
 *
 * Conventions:
 *  - Every function returning NTSTATUS maps a Xen failure (-errno) to an NTSTATUS once:
 *    EINVAL -> STATUS_INVALID_PARAMETER, EPERM/EACCES -> STATUS_ACCESS_DENIED,
 *    ENOENT -> STATUS_OBJECT_NAME_NOT_FOUND, ENOSYS -> STATUS_NOT_IMPLEMENTED,
 *    EAGAIN -> STATUS_RETRY, and so on; anything unlisted is STATUS_UNSUCCESSFUL.
 *  - A NULL output pointer is refused with STATUS_INVALID_PARAMETER before any hypercall.
 *  - Operations that name a domain field act on DOMID_SELF unless a domain is a parameter.
 *  - Every argument Xen reads or writes must be resident, non-paged memory.
 *
 * Outside the Windows kernel (host test builds) the WDK types are defined here with the sizes
 * they have on 64-bit Windows; crates/xen-host/include/xen_host.h adds the XenHost* functions
 * that let a test program stand in for Windows and for the hypervisor.
 */

#ifndef XENBUS_RS_XEN_H
#define XENBUS_RS_XEN_H

#include <stdarg.h>
#include <stdint.h>

#if defined(_NTDDK_) || defined(_WDMDDK_) || defined(_NTIFS_)
#define XEN_HAVE_WDK_TYPES 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef XEN_HAVE_WDK_TYPES
/* The WDK types this header uses, sized as on 64-bit Windows (LLP64). */
typedef void VOID;
typedef void *PVOID;
typedef void *HANDLE;
typedef char CHAR;
typedef char *PSTR;
typedef const char *PCSTR;
typedef uint8_t UCHAR;
typedef uint8_t BOOLEAN;
typedef uint16_t USHORT;
typedef uint32_t ULONG;
typedef ULONG *PULONG;
typedef int32_t LONG;
typedef uint64_t ULONGLONG;
typedef ULONGLONG *PULONGLONG;
typedef uintptr_t ULONG_PTR;
typedef ULONG_PTR *PULONG_PTR;
typedef ULONG_PTR PFN_NUMBER;
typedef PFN_NUMBER *PPFN_NUMBER;
typedef int32_t NTSTATUS;

typedef union _LARGE_INTEGER {
    struct {
        ULONG LowPart;
        LONG HighPart;
    } u;
    int64_t QuadPart;
} LARGE_INTEGER, *PLARGE_INTEGER;

typedef LARGE_INTEGER PHYSICAL_ADDRESS;

typedef struct _ANSI_STRING {
    USHORT Length;        /* bytes in use, without a terminator */
    USHORT MaximumLength; /* bytes allocated */
    PSTR Buffer;
} ANSI_STRING, *PANSI_STRING;

#define DPFLTR_ERROR_LEVEL 0
#define DPFLTR_WARNING_LEVEL 1
#define DPFLTR_TRACE_LEVEL 2
#define DPFLTR_INFO_LEVEL 3
#endif /* XEN_HAVE_WDK_TYPES */

#ifndef XEN_API
#if defined(_MSC_VER)
#define XEN_API __declspec(dllimport)
#else
#define XEN_API
#endif
#endif

/* Xen public types the interface names; include Xen's public headers for their layout. */
struct gnttab_copy;
struct vcpu_info;
#ifndef __XEN_PUBLIC_XEN_H__
typedef struct vcpu_info vcpu_info_t;
#endif
#ifndef XEN_EXTRAVERSION_LEN
#define XEN_EXTRAVERSION_LEN 16
#endif

/* ---- Load --------------------------------------------------------------------------------- */

/*
 * Importers call this first; it makes the loader bring xen.sys in. Returns
 * STATUS_INCOMPATIBLE_DRIVER_BLOCKED (0xC0000424), without touching Xen, unless all four numbers
 * equal xen.sys's own version. The first successful call logs Xen's version.
 */
XEN_API NTSTATUS XenTouch(PCSTR Name, ULONG MajorVersion, ULONG MinorVersion,
                          ULONG MicroVersion, ULONG BuildNumber);

/* ---- HVM (hypercall hvm_op) --------------------------------------------------------------- */

XEN_API NTSTATUS HvmSetParam(ULONG Parameter, ULONGLONG Value);
XEN_API NTSTATUS HvmGetParam(ULONG Parameter, PULONGLONG Value);
/* A shadow-paging hint; failures are returned but not logged. */
XEN_API NTSTATUS HvmPagetableDying(PHYSICAL_ADDRESS Address);
XEN_API NTSTATUS HvmSetEvtchnUpcallVector(unsigned int vcpu_id, UCHAR Vector);

/* ---- Memory (hypercall memory_op) --------------------------------------------------------- */

#define PAGE_ORDER_4K 0
#define PAGE_ORDER_2M 9

XEN_API NTSTATUS MemoryAddToPhysmap(PFN_NUMBER Pfn, ULONG Space, ULONG_PTR Offset);
XEN_API NTSTATUS MemoryRemoveFromPhysmap(PFN_NUMBER Pfn);
/* *Result receives the number of extents done; fewer than Count is still a success. */
XEN_API NTSTATUS MemoryDecreaseReservation(ULONG Order, ULONG Count, PPFN_NUMBER PfnArray,
                                           PULONG Result);
XEN_API NTSTATUS MemoryPopulatePhysmap(ULONG Order, ULONG Count, PPFN_NUMBER PfnArray,
                                       PULONG Result);

/* ---- Event channels (hypercall event_channel_op) ------------------------------------------ */

XEN_API NTSTATUS EventChannelSend(ULONG Port);
XEN_API NTSTATUS EventChannelAllocateUnbound(USHORT Domain, ULONG *Port);
XEN_API NTSTATUS EventChannelBindInterDomain(USHORT RemoteDomain, ULONG RemotePort,
                                             ULONG *LocalPort);
XEN_API NTSTATUS EventChannelBindVirq(ULONG Virq, unsigned int vcpu_id, ULONG *LocalPort);
/* STATUS_INVALID_PARAMETER unless LocalPort is an interdomain channel. */
XEN_API NTSTATUS EventChannelQueryInterDomain(ULONG LocalPort, USHORT *RemoteDomain,
                                              ULONG *RemotePort);
XEN_API NTSTATUS EventChannelClose(ULONG LocalPort);
XEN_API NTSTATUS EventChannelExpandArray(PFN_NUMBER Pfn);
XEN_API NTSTATUS EventChannelInitControl(PFN_NUMBER Pfn, unsigned int vcpu_id);
XEN_API NTSTATUS EventChannelReset(VOID);
XEN_API NTSTATUS EventChannelBindVirtualCpu(ULONG LocalPort, unsigned int vcpu_id);
XEN_API NTSTATUS EventChannelUnmask(ULONG LocalPort);

/* ---- Grant tables (hypercall grant_table_op) ---------------------------------------------- */

XEN_API NTSTATUS GrantTableSetVersion(uint32_t Version);
XEN_API NTSTATUS GrantTableGetVersion(uint32_t *Version);
/* Only the hypercall's result decides the status; check each op[i].status yourself. */
XEN_API NTSTATUS GrantTableCopy(struct gnttab_copy op[], ULONG Count);
/* A failed entry status maps GNTST_bad_handle -> STATUS_INVALID_HANDLE,
 * GNTST_permission_denied -> STATUS_ACCESS_DENIED, GNTST_eagain -> STATUS_RETRY, others ->
 * STATUS_UNSUCCESSFUL. */
XEN_API NTSTATUS GrantTableMapForeignPage(USHORT Domain, ULONG GrantRef,
                                          PHYSICAL_ADDRESS Address, BOOLEAN ReadOnly,
                                          ULONG *Handle);
XEN_API NTSTATUS GrantTableUnmapForeignPage(ULONG Handle, PHYSICAL_ADDRESS Address);
/* Either output may be NULL. */
XEN_API NTSTATUS GrantTableQuerySize(uint32_t *Current, uint32_t *Maximum);

/* ---- Scheduler (hypercall sched_op) ------------------------------------------------------- */

XEN_API NTSTATUS SchedShutdownCode(ULONG Reason);
/* A suspend (reason 2) that Xen cancels returns STATUS_CANCELLED. */
XEN_API NTSTATUS SchedShutdown(ULONG Reason);
XEN_API VOID SchedYield(VOID);
/* *Id 0 creates a watchdog and stores its id; Seconds 0 with an id destroys it. */
XEN_API NTSTATUS SchedWatchdog(PULONG Id, ULONG Seconds);

/* ---- Version (hypercall xen_version) ------------------------------------------------------ */

XEN_API NTSTATUS XenVersion(PULONG Major, PULONG Minor);
/* Writes XEN_EXTRAVERSION_LEN bytes. */
XEN_API NTSTATUS XenVersionExtra(PSTR Extra);

/* ---- Modules ------------------------------------------------------------------------------ */

/* *Name points at xen.sys's stored lower-case name (not a copy), or is NULL if unknown. */
XEN_API VOID ModuleLookup(ULONG_PTR Address, PSTR *Name, PULONG_PTR Offset);

/* ---- Emulated-device unplug --------------------------------------------------------------- */

/* Note: XENBUS_UNPLUG_DEVICE_TYPE numbers these differently (NICS = 1, DISKS = 2). */
typedef enum _UNPLUG_TYPE {
    UNPLUG_DISKS = 0,
    UNPLUG_NICS,
    UNPLUG_TYPE_COUNT
} UNPLUG_TYPE, *PUNPLUG_TYPE;

/* The QEMU pre-amble and this boot's unplug mask writes. */
XEN_API VOID UnplugDevices(VOID);
/* XEN\Unplug\<DISKS|NICS> += 1 (a missing value counts as 0). */
XEN_API NTSTATUS UnplugIncrementValue(UNPLUG_TYPE Type);
/* -= 1; STATUS_INVALID_PARAMETER at 0, STATUS_OBJECT_NAME_NOT_FOUND if missing. */
XEN_API NTSTATUS UnplugDecrementValue(UNPLUG_TYPE Type);
/* Whether Type is unplugged this boot; unknown types are not. */
XEN_API BOOLEAN UnplugGetRequest(UNPLUG_TYPE Type);

/* ---- Log ---------------------------------------------------------------------------------- */

typedef enum _LOG_LEVEL {
    LOG_LEVEL_NONE = 0,
    LOG_LEVEL_TRACE = 1 << DPFLTR_TRACE_LEVEL,
    LOG_LEVEL_INFO = 1 << DPFLTR_INFO_LEVEL,
    LOG_LEVEL_WARNING = 1 << DPFLTR_WARNING_LEVEL,
    LOG_LEVEL_ERROR = 1 << DPFLTR_ERROR_LEVEL,
    LOG_LEVEL_CRITICAL = (int)0x80000000
} LOG_LEVEL, *PLOG_LEVEL;

/*
 * xen.sys's own small printf: %c %s %Z %d %u %o %x %X %p, 'w' for wide c/s/Z, "ll" for 64 bits,
 * '-' and a width (leading 0 pads numbers with zeros). Strings pad on the opposite side from C
 * printf. Lines are cut at 256 bytes. Count limits the format items processed (0: no limit).
 */
XEN_API VOID LogCchVPrintf(LOG_LEVEL Level, ULONG Count, PCSTR Format, va_list Arguments);
XEN_API VOID LogVPrintf(LOG_LEVEL Level, PCSTR Format, va_list Arguments);
XEN_API VOID LogCchPrintf(LOG_LEVEL Level, ULONG Count, PCSTR Format, ...);
XEN_API VOID LogPrintf(LOG_LEVEL Level, PCSTR Format, ...);
/* Re-registers the DbgPrint capture (after resume from hibernation). */
XEN_API VOID LogResume(VOID);
/* ORs the level names (TRACE, INFO, WARNING, ERROR, CRITICAL, any case) of a REG_MULTI_SZ. */
XEN_API NTSTATUS LogReadLogLevel(HANDLE Key, PSTR Name, PLOG_LEVEL LogLevel);

typedef struct _LOG_DISPOSITION LOG_DISPOSITION, *PLOG_DISPOSITION;

/*
 * Up to 8 sinks. Function receives each line whose level shares a bit with Mask, as a
 * NUL-terminated buffer and its length, at any IRQL with the log lock held: it must not log.
 * Mask LOG_LEVEL_NONE adds nothing and succeeds with *Disposition NULL.
 */
XEN_API NTSTATUS LogAddDisposition(LOG_LEVEL Mask, VOID (*Function)(PVOID, PSTR, ULONG),
                                   PVOID Argument, PLOG_DISPOSITION *Disposition);
/* NULL, or a disposition already removed, is ignored. */
XEN_API VOID LogRemoveDisposition(PLOG_DISPOSITION Disposition);

/* ---- System ------------------------------------------------------------------------------- */

XEN_API NTSTATUS SystemProcessorVcpuId(ULONG Cpu, unsigned int *vcpu_id);
XEN_API NTSTATUS SystemProcessorVcpuInfo(ULONG Cpu, vcpu_info_t **Vcpu);
XEN_API NTSTATUS SystemProcessorRegisterVcpuInfo(ULONG Cpu, BOOLEAN Force);
XEN_API PHYSICAL_ADDRESS SystemMaximumPhysicalAddress(VOID);
XEN_API BOOLEAN SystemRealTimeIsUniversal(VOID);
/* Seconds 0 is STATUS_INVALID_PARAMETER; the first call creates the watchdog, later ones pat it. */
XEN_API NTSTATUS SystemSetWatchdog(ULONG Seconds);
XEN_API VOID SystemStopWatchdog(VOID);

/* ---- VCPU (hypercall vcpu_op) ------------------------------------------------------------- */

/* Period in 100 ns units; NULL stops the periodic timer. */
XEN_API NTSTATUS VcpuSetPeriodicTimer(unsigned int vcpu_id, PLARGE_INTEGER Period);
/* Must run on the vCPU itself. */
XEN_API NTSTATUS VcpuRegisterVcpuInfo(unsigned int vcpu_id, PFN_NUMBER Pfn, ULONG Offset);

/* ---- Class filters ------------------------------------------------------------------------ */

XEN_API VOID FiltersInstall(VOID);
XEN_API VOID FiltersUninstall(VOID);

/* ---- Configuration ------------------------------------------------------------------------ */

XEN_API NTSTATUS ConfigGetActive(PCSTR Key, PSTR *Value);
XEN_API NTSTATUS ConfigSetActive(PSTR DeviceID, PSTR InstanceID, PSTR LocationInformation);
XEN_API NTSTATUS ConfigUpdateActive(PSTR DeviceID, PSTR InstanceID, PSTR LocationInformation);
XEN_API NTSTATUS ConfigClearActive(VOID);
XEN_API VOID ConfigFreeActive(PSTR Value);
XEN_API NTSTATUS ConfigRequestReboot(HANDLE ParametersKey, PSTR Module);
/*
 * The first space-separated token of SystemStartOptions that begins with Key (case-sensitive,
 * Key includes its '='), as a 2-entry array: the whole token (NUL-terminated), then an entry
 * with a NULL Buffer. STATUS_OBJECT_NAME_NOT_FOUND if no token matches; STATUS_BUFFER_OVERFLOW
 * for a token of 64 KiB or more. Free with ConfigFreeSzValue.
 */
XEN_API NTSTATUS ConfigQuerySystemStartOption(PSTR Key, PANSI_STRING *Option);
XEN_API VOID ConfigFreeSzValue(PANSI_STRING Array);

#ifdef __cplusplus
}
#endif

#endif /* XENBUS_RS_XEN_H */
