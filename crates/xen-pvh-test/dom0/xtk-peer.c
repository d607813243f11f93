// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors
//
// xtk-peer: the dom0 side of the domU's inter-domain checks in scripts/xen-full-test.
//
// Runs in the Linux dom0 (static binary in the initramfs) once the domU wrote data/peer/go. It
// talks to the domU only through the real kernel interfaces a backend uses: /dev/xen/evtchn
// (bind to the domU's unbound port, notify, receive), /dev/xen/gntdev (map the domU's grant),
// /dev/xen/gntalloc (grant a dom0 page to the domU) and xenstore (through xenstore-read and
// xenstore-write). Every check prints one line
//
//   XFT-PEER-PASS: <name> (<detail>)   or   XFT-PEER-FAIL: <name> (<detail>)
//
// which the script counts. The exchange, with the domU's home as $d:
//
//   domU: grants a page (pattern A) as data/peer/gref, opens an unbound port for dom0 as
//         data/peer/port, writes data/peer/go
//   peer: binds the port, maps the grant, checks pattern A, writes pattern B into the page's
//         upper half, grants a dom0 page (pattern C) as data/peer/dom0-gref, notifies (event 1)
//   domU: checks pattern B, fails to revoke its mapped grant, maps the dom0 grant, checks C and
//         writes pattern D into its upper half, notifies (event 1)
//   peer: checks D, unmaps the domU's grant, writes data/peer/unmapped, notifies (event 2)
//   domU: revokes its grant, notifies (event 2)
//   peer: checks the console log of the domU (xenconsoled) for data/peer/console's text
//
// Every node and check name carries the round's prefix ("peer": the domU uses the `xen` crate's
// wrappers; "xenbus": the xenbus subsystems). With "console" as the third argument the round
// also checks the console log.
//
// Usage: xtk-peer <domid> <prefix> [console]

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
// The uapi headers name two Xen types without defining them.
typedef uint16_t domid_t;
typedef uint32_t grant_ref_t;
#include <xen/evtchn.h>
#include <xen/gntalloc.h>
#include <xen/gntdev.h>

#define PAGE 4096
#define HALF 2048

static int passed, failed;
static unsigned domid;
static const char *prefix;

static int check(const char *name, int ok, const char *fmt, ...)
{
    char detail[256];
    // Names are written "peer.<what>"; the round's prefix replaces "peer".
    const char *what = strchr(name, '.');
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    printf("XFT-PEER-%s: %s%s (%s)\n", ok ? "PASS" : "FAIL", prefix, what ? what : name, detail);
    fflush(stdout);
    if (ok)
        passed++;
    else
        failed++;
    return ok;
}

// The byte patterns of the exchange; the domU computes the same ones.
static uint8_t pattern(char which, unsigned i)
{
    switch (which) {
    case 'A': return (uint8_t)(i * 7 % 251);
    case 'B': return (uint8_t)(i * 11 % 253 + 1);
    case 'C': return (uint8_t)(i * 13 % 241 + 2);
    default: return (uint8_t)(i * 17 % 239 + 3);
    }
}

// First index in [from, to) of page `p` that does not hold `which`, or -1.
static int first_difference(const volatile uint8_t *p, char which, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++)
        if (p[i] != pattern(which, i))
            return (int)i;
    return -1;
}

// Reads $d/<node> with xenstore-read, polling up to `tenths` tenths of a second.
static int store_read(const char *node, char *out, size_t len, int tenths)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "xenstore-read /local/domain/%u/data/%s/%s 2>/dev/null", domid,
             prefix, node);
    for (int n = 0; n < tenths; n++) {
        FILE *f = popen(cmd, "r");
        if (f) {
            int got = fgets(out, (int)len, f) != NULL;
            int rc = pclose(f);
            if (got && rc == 0) {
                out[strcspn(out, "\n")] = 0;
                return 1;
            }
        }
        usleep(100000);
    }
    return 0;
}

static int store_write(const char *node, const char *value)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "xenstore-write /local/domain/%u/data/%s/%s '%s'", domid, prefix,
             node, value);
    return system(cmd) == 0;
}

// Waits up to `ms` for an event on `port` of the evtchn device, then unmasks it again.
static int wait_event(int fd, unsigned port, int ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (spent >= ms)
            return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)(ms - spent)) <= 0)
            continue;
        unsigned fired;
        if (read(fd, &fired, sizeof fired) != sizeof fired)
            continue;
        // Writing the port back unmasks it (the driver masks a port when it reports it).
        if (write(fd, &fired, sizeof fired) != sizeof fired)
            return 0;
        if (fired == port)
            return 1;
    }
}

int main(int argc, char **argv)
{
    char text[128];
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "console") != 0)) {
        fprintf(stderr, "usage: xtk-peer <domid> <prefix> [console]\n");
        return 2;
    }
    domid = (unsigned)strtoul(argv[1], NULL, 10);
    prefix = argv[2];
    int console = argc == 4;
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!check("peer.domu_published_go", store_read("go", text, sizeof text, 300),
               "data/%s/go", prefix))
        goto out;
    char port_text[32], gref_text[32];
    int have = store_read("port", port_text, sizeof port_text, 1) &&
               store_read("gref", gref_text, sizeof gref_text, 1);
    if (!check("peer.read_port_and_gref", have, "port %s, gref %s", have ? port_text : "?",
               have ? gref_text : "?"))
        goto out;
    unsigned remote_port = (unsigned)strtoul(port_text, NULL, 10);
    unsigned gref = (unsigned)strtoul(gref_text, NULL, 10);

    // The event channel: bind to the domU's unbound port.
    int evfd = open("/dev/xen/evtchn", O_RDWR);
    struct ioctl_evtchn_bind_interdomain bind = { .remote_domain = domid,
                                                  .remote_port = remote_port };
    int local = evfd < 0 ? -1 : ioctl(evfd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
    if (!check("peer.evtchn_bind_interdomain", local >= 0, "domU port %u -> dom0 port %d (%s)",
               remote_port, local, local < 0 ? strerror(errno) : "ok"))
        goto out;

    // Xen conservatively marks a freshly bound port pending on the binding side (events sent
    // to the unbound port would otherwise be lost): take that one before the exchange starts.
    wait_event(evfd, (unsigned)local, 100);

    // The domU's grant, mapped writable through gntdev.
    int gdfd = open("/dev/xen/gntdev", O_RDWR);
    struct ioctl_gntdev_map_grant_ref map = { .count = 1 };
    map.refs[0].domid = domid;
    map.refs[0].ref = gref;
    int rc = gdfd < 0 ? -1 : ioctl(gdfd, IOCTL_GNTDEV_MAP_GRANT_REF, &map);
    volatile uint8_t *domu_page = MAP_FAILED;
    if (rc == 0)
        domu_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, gdfd, (off_t)map.index);
    if (!check("peer.gntdev_maps_domu_grant", domu_page != MAP_FAILED, "gref %u: %s", gref,
               domu_page != MAP_FAILED ? "mapped" : strerror(errno)))
        goto out;
    int diff = first_difference(domu_page, 'A', 0, PAGE);
    check("peer.domu_grant_holds_its_pattern", diff < 0, "first difference at %d", diff);
    for (unsigned i = HALF; i < PAGE; i++)
        domu_page[i] = pattern('B', i);

    // A dom0 page granted to the domU.
    int gafd = open("/dev/xen/gntalloc", O_RDWR);
    struct ioctl_gntalloc_alloc_gref alloc = { .domid = (uint16_t)domid,
                                               .flags = GNTALLOC_FLAG_WRITABLE,
                                               .count = 1 };
    rc = gafd < 0 ? -1 : ioctl(gafd, IOCTL_GNTALLOC_ALLOC_GREF, &alloc);
    volatile uint8_t *dom0_page = MAP_FAILED;
    if (rc == 0)
        dom0_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, gafd, (off_t)alloc.index);
    if (!check("peer.gntalloc_grants_dom0_page", dom0_page != MAP_FAILED, "gref %u: %s",
               alloc.gref_ids[0], dom0_page != MAP_FAILED ? "granted" : strerror(errno)))
        goto out;
    for (unsigned i = 0; i < PAGE; i++)
        dom0_page[i] = i < HALF ? pattern('C', i) : 0;
    snprintf(text, sizeof text, "%u", alloc.gref_ids[0]);
    check("peer.published_dom0_gref", store_write("dom0-gref", text), "%s", text);

    struct ioctl_evtchn_notify notify = { .port = (unsigned)local };
    rc = ioctl(evfd, IOCTL_EVTCHN_NOTIFY, &notify);
    check("peer.notify_domu", rc == 0, "dom0 port %d", local);

    int got = wait_event(evfd, (unsigned)local, 20000);
    if (!check("peer.event_from_domu", got, "after the domU mapped our page"))
        goto out;
    diff = first_difference(dom0_page, 'D', HALF, PAGE);
    check("peer.domu_wrote_dom0_page", diff < 0, "first difference at %d", diff);
    diff = first_difference(dom0_page, 'C', 0, HALF);
    check("peer.dom0_page_lower_half_intact", diff < 0, "first difference at %d", diff);

    // Unmap the domU's grant: only now may the domU revoke it.
    int unmapped = munmap((void *)domu_page, PAGE) == 0;
    struct ioctl_gntdev_unmap_grant_ref unmap = { .index = map.index, .count = 1 };
    unmapped = unmapped && ioctl(gdfd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap) == 0;
    check("peer.gntdev_unmaps_domu_grant", unmapped, "%s", unmapped ? "ok" : strerror(errno));
    store_write("unmapped", "1");
    rc = ioctl(evfd, IOCTL_EVTCHN_NOTIFY, &notify);
    check("peer.notify_domu_again", rc == 0, "dom0 port %d", local);
    got = wait_event(evfd, (unsigned)local, 20000);
    check("peer.second_event_from_domu", got, "after the domU revoked its grant");

    // The dom0 page: the domU unmapped it, so the grant can go.
    int freed = munmap((void *)dom0_page, PAGE) == 0;
    struct ioctl_gntalloc_dealloc_gref dealloc = { .index = alloc.index, .count = 1 };
    freed = freed && ioctl(gafd, IOCTL_GNTALLOC_DEALLOC_GREF, &dealloc) == 0;
    check("peer.gntalloc_releases_dom0_page", freed, "%s", freed ? "ok" : strerror(errno));

    // The console: xenconsoled logs what the domU wrote to its console ring.
    char marker[128];
    if (!console) {
        // This round has no console check.
    } else if (store_read("console", marker, sizeof marker, 1)) {
        char cmd[256];
        int found = 0;
        snprintf(cmd, sizeof cmd, "grep -qF '%s' /var/log/xen/console/guest-*.log", marker);
        for (int n = 0; n < 30 && !found; n++) {
            found = system(cmd) == 0;
            if (!found)
                usleep(100000);
        }
        check("peer.console_backend_logged_domu_text", found, "'%s'", marker);
    } else {
        check("peer.console_backend_logged_domu_text", 0, "no data/%s/console", prefix);
    }

out:
    printf("XFT-PEER-RESULT: %s: %d passed, %d failed\n", prefix, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
