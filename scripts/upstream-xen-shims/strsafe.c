/* The one ntstrsafe.h routine upstream's xen.sys calls, RtlStringCbPrintfA, written for this
 * build with the WDK's documented behaviour (the result always NUL-terminated; the output cut
 * with STATUS_BUFFER_OVERFLOW when it does not fit). mingw-w64's ntstrsafe.h defines its
 * routines `extern __inline`, which in C99 mode puts a copy of every one (and their
 * _vsnwprintf import) in each object; the upstream objects are built with
 * -D__STRSAFE__NO_INLINE (declarations only) and call this one. */
#include <ntddk.h>
#include <stdarg.h>

int __cdecl _vsnprintf(char *Buffer, size_t Count, const char *Format, va_list Arguments);

NTSTATUS RtlStringCbPrintfA(char *Dest, size_t DestBytes, const char *Format, ...)
{
    va_list Arguments;
    size_t Max;
    int Written;
    NTSTATUS status = STATUS_SUCCESS;

    if (DestBytes == 0 || DestBytes > 2147483647)
        return STATUS_INVALID_PARAMETER;

    Max = DestBytes - 1;
    va_start(Arguments, Format);
    Written = _vsnprintf(Dest, Max, Format, Arguments);
    va_end(Arguments);

    if (Written < 0 || (size_t)Written > Max) {
        Dest[Max] = '\0';
        status = STATUS_BUFFER_OVERFLOW;
    } else if ((size_t)Written == Max) {
        Dest[Max] = '\0';
    }
    return status;
}
