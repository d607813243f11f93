/* SPDX-License-Identifier: BSD-2-Clause */
/* Copyright (c) 2026 The XenBus-rs Authors */

/*
 * xsshim: an LD_PRELOAD library that lets Debian's unmodified xenstored (C) and
 * oxenstored (OCaml) 4.17 run on plain Linux, without Xen.
 *
 * It stands in for the few libxenctrl, libxengnttab and libxenevtchn entry points the two
 * daemons import, and for the files /proc/xen/xsd_port and /proc/xen/xsd_kva. Everything a test
 * needs to play a guest lives in $XSSHIM_DIR:
 *
 *   evtchn       a FIFO the daemon polls; a test "sends an event" by writing a 4-byte port
 *   virq.port    the daemon-side port bound to VIRQ_DOM_EXC (decimal)
 *   domN.port    the daemon-side port of domain N's interdomain channel (decimal)
 *   domN.ring    domain N's xenstore ring page (4 KiB, shared); dom0.ring is xsd_kva
 *
 * A domain exists when it is dom0, is listed in $XSSHIM_DOMAINS ("1,2,5-9"), or has a ring file.
 * Removing domN.ring and kicking the virq port makes the daemon see domain N gone.
 * Notifications from the daemon to a guest are dropped: guests poll their ring.
 *
 * Layouts come from the installed libxen-dev headers, so the compiler checks every prototype.
 */

#define _GNU_SOURCE
#define XC_WANT_COMPAT_MAP_FOREIGN_API 1

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define SHIM_PAGE 4096
#define SHIM_MAX_DOMS 256

/* ------------------------------------------------------------------ helpers */

static const char *shim_dir(void)
{
    const char *d = getenv("XSSHIM_DIR");
    return (d != NULL && d[0] != '\0') ? d : NULL;
}

static int shim_path(char *buf, size_t len, const char *fmt, unsigned int n)
{
    const char *d = shim_dir();
    char leaf[64];
    int r;

    if (d == NULL)
        return -1;
    snprintf(leaf, sizeof(leaf), fmt, n);
    r = snprintf(buf, len, "%s/%s", d, leaf);
    return (r < 0 || (size_t)r >= len) ? -1 : 0;
}

/* Writes a decimal value to DIR/leaf through a rename, so readers never see half a file. */
static void shim_publish(const char *fmt, unsigned int n, unsigned int value)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    char text[32];
    int fd, len;

    if (shim_path(path, sizeof(path), fmt, n) != 0)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    len = snprintf(text, sizeof(text), "%u", value);
    if (write(fd, text, (size_t)len) != len) {
        close(fd);
        unlink(tmp);
        return;
    }
    close(fd);
    rename(tmp, path);
}

static int (*real_open_fn(void))(const char *, int, ...)
{
    static int (*fn)(const char *, int, ...);
    if (fn == NULL)
        fn = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    return fn;
}

/* Opens (creating and sizing if needed) the ring file of a domain, or an anonymous page. */
static int ring_fd(unsigned int domid)
{
    char path[PATH_MAX];
    int fd;

    if (shim_path(path, sizeof(path), "dom%u.ring", domid) != 0)
        fd = memfd_create("xsshim-ring", MFD_CLOEXEC);
    else
        fd = real_open_fn()(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, SHIM_PAGE) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *map_ring(unsigned int domid)
{
    int fd = ring_fd(domid);
    void *p;

    if (fd < 0)
        return NULL;
    p = mmap(NULL, SHIM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------ domain list */

static int cmp_uint(const void *a, const void *b)
{
    unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;
    return (x > y) - (x < y);
}

/* Fills `out` with the sorted, unique ids of every existing domain; returns the count. */
static unsigned int existing_domains(unsigned int *out, unsigned int max)
{
    unsigned int n = 0, i, w;
    const char *list = getenv("XSSHIM_DOMAINS");
    const char *d = shim_dir();

    if (max == 0)
        return 0;
    out[n++] = 0;

    if (list != NULL) {
        const char *p = list;
        while (*p != '\0' && n < max) {
            char *end;
            unsigned long lo = strtoul(p, &end, 10), hi = lo;
            if (end == p)
                break;
            if (*end == '-') {
                p = end + 1;
                hi = strtoul(p, &end, 10);
            }
            for (unsigned long v = lo; v <= hi && v < DOMID_FIRST_RESERVED && n < max; v++)
                out[n++] = (unsigned int)v;
            p = (*end == ',') ? end + 1 : end;
        }
    }

    if (d != NULL) {
        DIR *dir = opendir(d);
        struct dirent *e;
        while (dir != NULL && (e = readdir(dir)) != NULL && n < max) {
            unsigned int id;
            char tail[8];
            if (sscanf(e->d_name, "dom%u.%7s", &id, tail) == 2 && strcmp(tail, "ring") == 0 &&
                id < DOMID_FIRST_RESERVED)
                out[n++] = id;
        }
        if (dir != NULL)
            closedir(dir);
    }

    qsort(out, n, sizeof(*out), cmp_uint);
    for (i = 0, w = 0; i < n; i++)
        if (w == 0 || out[w - 1] != out[i])
            out[w++] = out[i];
    return w;
}

/* -------------------------------------------------------------- libxenctrl */

static int dummy_xc;
static xc_error last_error;

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    (void)logger;
    (void)dombuild_logger;
    (void)open_flags;
    return (xc_interface *)&dummy_xc;
}

int xc_interface_close(xc_interface *xch)
{
    (void)xch;
    return 0;
}

const xc_error *xc_get_last_error(xc_interface *handle)
{
    (void)handle;
    return &last_error;
}

int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                      xc_dominfo_t *info)
{
    unsigned int ids[SHIM_MAX_DOMS], n = existing_domains(ids, SHIM_MAX_DOMS), got = 0;

    (void)xch;
    for (unsigned int i = 0; i < n && got < max_doms; i++) {
        if (ids[i] < first_domid)
            continue;
        memset(&info[got], 0, sizeof(info[got]));
        info[got].domid = ids[i];
        info[got].running = 1;
        info[got].max_vcpu_id = 0;
        got++;
    }
    return (int)got;
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domain, unsigned int max_domains,
                          xc_domaininfo_t *info)
{
    unsigned int ids[SHIM_MAX_DOMS], n = existing_domains(ids, SHIM_MAX_DOMS), got = 0;

    (void)xch;
    for (unsigned int i = 0; i < n && got < max_domains; i++) {
        if (ids[i] < first_domain)
            continue;
        memset(&info[got], 0, sizeof(info[got]));
        info[got].domain = (domid_t)ids[i];
        info[got].flags = XEN_DOMINF_running;
        got++;
    }
    return (int)got;
}

void *xc_map_foreign_range(xc_interface *xch, uint32_t dom, int size, int prot,
                           unsigned long mfn)
{
    (void)xch;
    (void)size;
    (void)prot;
    (void)mfn;
    return map_ring(dom);
}

/* ------------------------------------------------------------ libxengnttab */

static int dummy_gnttab;

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    (void)logger;
    (void)open_flags;
    return (xengnttab_handle *)&dummy_gnttab;
}

int xengnttab_close(xengnttab_handle *xgt)
{
    (void)xgt;
    return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
    (void)xgt;
    (void)nr_grants;
    return 0;
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
    (void)xgt;
    (void)ref;
    (void)prot;
    return map_ring(domid);
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
    (void)xgt;
    return munmap(start_address, (size_t)count * SHIM_PAGE);
}

/* ------------------------------------------------------------ libxenevtchn */

struct xenevtchn_handle {
    int fd;
};

static unsigned int next_port = 1;

static int evtchn_source_fd(void)
{
    char path[PATH_MAX];
    int fds[2];

    if (shim_path(path, sizeof(path), "evtchn", 0) == 0) {
        if (mkfifo(path, 0600) != 0 && errno != EEXIST)
            return -1;
        /* O_RDWR: opening never blocks and the FIFO never reports end-of-file. */
        return real_open_fn()(path, O_RDWR | O_CLOEXEC);
    }
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    return fds[0];
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned open_flags)
{
    xenevtchn_handle *h = calloc(1, sizeof(*h));

    (void)logger;
    (void)open_flags;
    if (h == NULL)
        return NULL;
    h->fd = evtchn_source_fd();
    if (h->fd < 0) {
        free(h);
        return NULL;
    }
    return h;
}

xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned open_flags)
{
    xenevtchn_handle *h = calloc(1, sizeof(*h));

    (void)logger;
    (void)open_flags;
    if (h != NULL)
        h->fd = fd;
    return h;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
    if (xce == NULL)
        return 0;
    close(xce->fd);
    free(xce);
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
    return xce->fd;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce;
    (void)port;
    return 0;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                                                     evtchn_port_t remote_port)
{
    unsigned int port = next_port++;

    (void)xce;
    (void)remote_port;
    shim_publish("dom%u.port", domid, port);
    return (xenevtchn_port_or_error_t)port;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    unsigned int port = next_port++;

    (void)xce;
    (void)virq;
    shim_publish("virq.port", 0, port);
    return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce;
    (void)port;
    return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    uint32_t port;
    size_t got = 0;

    /* Writers send exactly 4 bytes, which a FIFO delivers atomically; loop anyway. */
    while (got < sizeof(port)) {
        ssize_t r = read(xce->fd, (char *)&port + got, sizeof(port) - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
    (void)xce;
    (void)port;
    return 0;
}

/* ------------------------------------------------------------ files, limits */

static int special_open(const char *path, int *out)
{
    if (strcmp(path, "/proc/xen/xsd_port") == 0) {
        int fd = memfd_create("xsshim-port", MFD_CLOEXEC);
        /* No newline: oxenstored's int_of_string rejects "1\n", as the kernel file has none. */
        if (fd >= 0 && (write(fd, "1", 1) != 1 || lseek(fd, 0, SEEK_SET) != 0)) {
            close(fd);
            fd = -1;
        }
        *out = fd;
        return 1;
    }
    if (strcmp(path, "/proc/xen/xsd_kva") == 0) {
        *out = ring_fd(0);
        return 1;
    }
    return 0;
}

static int forward_open(const char *sym, const char *path, int flags, mode_t mode)
{
    int (*fn)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return fn(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    int fd;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (special_open(path, &fd))
        return fd;
    return forward_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    int fd;

    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    if (special_open(path, &fd))
        return fd;
    return forward_open("open64", path, flags, mode);
}

int setrlimit(__rlimit_resource_t resource, const struct rlimit *rlim)
{
    int (*fn)(__rlimit_resource_t, const struct rlimit *) =
        (int (*)(__rlimit_resource_t, const struct rlimit *))dlsym(RTLD_NEXT, "setrlimit");
    struct rlimit cur, clamped;

    if (fn == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (fn(resource, rlim) == 0)
        return 0;
    if (errno != EPERM || getrlimit(resource, &cur) != 0)
        return -1;
    /* Without CAP_SYS_RESOURCE, settle for the hard limit we already have. */
    clamped.rlim_cur = rlim->rlim_cur < cur.rlim_max ? rlim->rlim_cur : cur.rlim_max;
    clamped.rlim_max = rlim->rlim_max < cur.rlim_max ? rlim->rlim_max : cur.rlim_max;
    return fn(resource, &clamped);
}
