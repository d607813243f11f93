/* Pre-included (-include) into every upstream source: MSVC/WDK spellings mingw-w64 lacks or
 * defines differently. Written for this build; no upstream code. */
#include <ntddk.h>
#undef FORCEINLINE
#define FORCEINLINE __inline__ __attribute__((__always_inline__))
#undef UNREFERENCED_PARAMETER
#define UNREFERENCED_PARAMETER(_P) ((void)(_P))

/* Missing from mingw-w64's wdm.h (Windows 10 1803 and later). */
typedef enum _DRIVER_REGKEY_TYPE {
    DriverRegKeyParameters,
    DriverRegKeyPersistentState,
    DriverRegKeySharedPersistentState
} DRIVER_REGKEY_TYPE, *PDRIVER_REGKEY_TYPE;

/* Upstream's dbg_print.h pastes __FUNCTION__ into a string literal, which only MSVC allows
 * (gcc's __FUNCTION__ is a variable). Take upstream's header, then print the same prefix
 * ("xen|Function: ") through a "%s" instead. Formats are literals in every caller. */
#include "dbg_print.h"
#undef Error
#undef Warning
#undef Info
#undef Trace
#define Error(_Fmt, ...) __Error(__MODULE__ "|", "%s: " _Fmt, __FUNCTION__, ##__VA_ARGS__)
#define Warning(_Fmt, ...) __Warning(__MODULE__ "|", "%s: " _Fmt, __FUNCTION__, ##__VA_ARGS__)
#define Info(_Fmt, ...) __Info(__MODULE__ "|", "%s: " _Fmt, __FUNCTION__, ##__VA_ARGS__)
#if DBG
#define Trace(_Fmt, ...) __Trace(__MODULE__ "|", "%s: " _Fmt, __FUNCTION__, ##__VA_ARGS__)
#else
#define Trace(...) (VOID)(__VA_ARGS__)
#endif

/* assert.h's BUG() pastes its text into Error's format: BUG(__FUNCTION__) in system.c. */
#include "assert.h"
#undef BUG
#define BUG(_TEXT)                                                                          \
    do {                                                                                    \
        PCSTR _Text = (_TEXT);                                                              \
        Error("BUG: %s\n", _Text);                                                          \
        __Bug(ASSERTION_FAILURE, (ULONG_PTR)_Text, (ULONG_PTR)__FILE__, (ULONG_PTR)__LINE__, 0); \
    } while (FALSE)

/* Missing from mingw-w64's wdm.h. */
typedef struct _KEY_NAME_INFORMATION {
    ULONG NameLength;
    WCHAR Name[1];
} KEY_NAME_INFORMATION, *PKEY_NAME_INFORMATION;

/* Structured exception handling (__try/__except) is MSVC's; gcc has none. Only bug_check.c
 * uses it, around its dump of the bug-check's records: build the guarded block alone (an
 * exception while dumping then is not caught). */
#define __try if (1)
#define __except(_Filter) else if (0)

/* The WDK's POOL_NX_OPTIN=1 (upstream's project setting): NonPagedPool means the driver's
 * default non-paged pool type, which ExInitializeDriverRuntime(DrvRtPoolNxOptIn) makes
 * NonPagedPoolNx (and MDL mappings no-execute) on Windows 8 and later, as wdm.h's inline does.
 * mingw-w64's wdm.h has none of it. */
#define DrvRtPoolNxOptIn 0x00000001
__attribute__((selectany)) POOL_TYPE ExDefaultNonPagedPoolType = NonPagedPool;
__attribute__((selectany)) ULONG ExDefaultMdlProtection = 0;
/* mingw-w64 maps the name to wdmlib's copy (for Windows 7 targets); upstream targets Windows 10,
 * where it is the kernel's export. */
#undef RtlIsNtDdiVersionAvailable
NTSYSAPI BOOLEAN NTAPI RtlIsNtDdiVersionAvailable(ULONG Version);
static __inline VOID ExInitializeDriverRuntime(ULONG RuntimeFlags)
{
    if ((RuntimeFlags & DrvRtPoolNxOptIn) != 0 && RtlIsNtDdiVersionAvailable(0x06020000)) {
        ExDefaultMdlProtection = 0x40000000; /* MdlMappingNoExecute */
        ExDefaultNonPagedPoolType = NonPagedPoolNx;
    }
}
#define NonPagedPool ExDefaultNonPagedPoolType

/* mingw-w64's macro does not parenthesise its argument (&Record->State). */
#undef KeInitializeCallbackRecord
#define KeInitializeCallbackRecord(_Record) ((_Record)->State = BufferEmpty)

/* Bug codes of the WDK's bugcodes.h that mingw-w64's lacks (bug_check.c's table). */
#ifndef SYSTEM_SERVICE_EXCEPTION
#define SYSTEM_SERVICE_EXCEPTION 0x0000003BL
#endif
#ifndef SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M
#define SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M 0x1000007EL
#endif
#ifndef KERNEL_MODE_EXCEPTION_NOT_HANDLED_M
#define KERNEL_MODE_EXCEPTION_NOT_HANDLED_M 0x1000008EL
#endif
#ifndef DRIVER_POWER_STATE_FAILURE
#define DRIVER_POWER_STATE_FAILURE 0x0000009FL
#endif

/* log.c reads a %c argument with va_arg(Arguments, CHAR) (and WCHAR). In the Microsoft x64
 * convention every variadic argument has its own 8-byte slot and MSVC reads the narrow type
 * from it; gcc treats va_arg of a type narrower than int as undefined and compiles it to a
 * trap. Read such a type as the int it was promoted to, then narrow it. Only scalar types go
 * through va_arg in these sources. */
#include <stdarg.h>
#undef va_arg
#define va_arg(_Ap, _Type)                                                                  \
    ((_Type)__builtin_choose_expr(sizeof(_Type) < sizeof(int), __builtin_va_arg(_Ap, int),  \
                                  __builtin_va_arg(_Ap, _Type)))
