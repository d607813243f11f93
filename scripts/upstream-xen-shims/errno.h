/* Shim: mingw-w64's <errno.h> (reached through ntddk.h's intrinsics) defines EPERM, EINVAL...
 * as macros, which breaks Xen's <xen/errno.h> enum. A kernel driver has no errno: empty. */
#ifndef _INC_ERRNO
#define _INC_ERRNO
#endif
