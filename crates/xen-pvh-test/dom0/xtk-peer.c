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
// With "throughput" as the third argument it is instead the backend side of the domU's
// throughput round (crates/xen-pvh-test/src/suite/throughput.rs, whose header has the control
// page's layout):
//
//   domU: grants its control page as data/<prefix>/gref, opens an unbound port as
//         data/<prefix>/port, writes data/<prefix>/go
//   peer: binds the port, maps the control page (kept mapped), sets its ready word, notifies
//   then, per event from the domU, by the control page's command:
//     grants: maps the batch's references with one gntdev request, checks each page's stamp
//             (batch number, index), unmaps them, writes its answer words, notifies
//     ping:   notifies
//     stop:   unmaps the control page, notifies, ends
//
// and prints its own side: `XFT-PEER-THROUGHPUT: <prefix>: ...` (dom0's clock).
//
// Usage: xtk-peer <domid> <prefix> [console|throughput]
// (XTK_PEER_WAIT in the environment: the seconds to wait for the domU's go, default 30.)

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

static int throughput(void);

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
    if (argc < 3 || argc > 4 ||
        (argc == 4 && strcmp(argv[3], "console") != 0 && strcmp(argv[3], "throughput") != 0)) {
        fprintf(stderr, "usage: xtk-peer <domid> <prefix> [console|throughput]\n");
        return 2;
    }
    domid = (unsigned)strtoul(argv[1], NULL, 10);
    prefix = argv[2];
    int console = argc == 4 && strcmp(argv[3], "console") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !console)
        return throughput();

    // How long the domU may take to publish its go (XTK_PEER_WAIT seconds, default 30: a peer
    // started with its domain waits for the boot).
    const char *wait = getenv("XTK_PEER_WAIT");
    int tenths = wait != NULL ? atoi(wait) * 10 : 300;
    if (tenths <= 0)
        tenths = 300;
    if (!check("peer.domu_published_go", store_read("go", text, sizeof text, tenths),
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

// ---- the throughput round ----

// The control page (32-bit words): see crates/xen-pvh-test/src/suite/throughput.rs.
#define T_MAGIC 0x58544b54u // "XTKT"
#define T_CMD_GRANTS 1u
#define T_CMD_PING 2u
#define T_CMD_STOP 3u
enum { W_MAGIC, W_CMD, W_SEQ, W_COUNT, W_DONE, W_MAPPED, W_BAD, W_READY, W_REFS = 16 };
#define MAX_REFS (PAGE / 4 - W_REFS)

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint32_t load(volatile uint32_t *control, int index)
{
    return __atomic_load_n(&control[index], __ATOMIC_ACQUIRE);
}

static void store(volatile uint32_t *control, int index, uint32_t value)
{
    __atomic_store_n(&control[index], value, __ATOMIC_RELEASE);
}

// dom0's side of the grant phase.
struct grant_totals {
    unsigned long batches, grants, bad, failed;
    uint64_t map_ns, unmap_ns;
    char first_problem[128];
};

// One batch: every reference of the control page mapped with one gntdev request (one
// GNTTABOP_map_grant_ref batch when mmap()ed), each page's stamp read, all unmapped. Writes the
// answer words. The count and references are the domU's: validated before use.
static void grant_batch(int gdfd, volatile uint32_t *control, struct grant_totals *t)
{
    uint32_t seq = load(control, W_SEQ), count = load(control, W_COUNT);
    uint32_t mapped = 0, bad = 0;
    const char *problem = NULL;
    if (count == 0 || count > MAX_REFS) {
        problem = "batch size out of range";
        goto answer;
    }
    size_t size = sizeof(struct ioctl_gntdev_map_grant_ref) +
                  (count - 1) * sizeof(struct ioctl_gntdev_grant_ref);
    struct ioctl_gntdev_map_grant_ref *map = calloc(1, size);
    if (!map) {
        problem = "out of memory";
        goto answer;
    }
    map->count = count;
    for (uint32_t i = 0; i < count; i++) {
        map->refs[i].domid = domid;
        map->refs[i].ref = load(control, W_REFS + (int)i);
    }
    uint64_t t0 = now_ns();
    volatile uint32_t *pages = MAP_FAILED;
    if (ioctl(gdfd, IOCTL_GNTDEV_MAP_GRANT_REF, map) == 0)
        pages = mmap(NULL, (size_t)count * PAGE, PROT_READ, MAP_SHARED, gdfd, (off_t)map->index);
    if (pages == MAP_FAILED) {
        problem = "gntdev map failed";
    } else {
        for (uint32_t i = 0; i < count; i++) {
            volatile uint32_t *page = pages + (size_t)i * (PAGE / 4);
            if (page[0] != seq || page[1] != i)
                bad++;
        }
        mapped = count;
    }
    uint64_t t1 = now_ns();
    int unmapped = pages == MAP_FAILED || munmap((void *)pages, (size_t)count * PAGE) == 0;
    struct ioctl_gntdev_unmap_grant_ref unmap = { .index = map->index, .count = count };
    unmapped = ioctl(gdfd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap) == 0 && unmapped;
    uint64_t t2 = now_ns();
    free(map);
    if (!unmapped && !problem)
        problem = "gntdev unmap failed";
    if (mapped) {
        t->map_ns += t1 - t0;
        t->unmap_ns += t2 - t1;
        t->grants += mapped;
    }
answer:
    t->batches++;
    t->bad += bad;
    if (problem || bad) {
        t->failed++;
        if (!t->first_problem[0])
            snprintf(t->first_problem, sizeof t->first_problem, "batch %u: %s, %u wrong stamps",
                     seq, problem ? problem : "mapped", bad);
    }
    store(control, W_MAPPED, mapped);
    store(control, W_BAD, bad);
    store(control, W_DONE, seq);
}

static int throughput(void)
{
    char text[32], port_text[32], gref_text[32];
    struct grant_totals totals = { 0 };
    unsigned long pings = 0, events = 0;
    uint64_t answer_ns = 0, answer_max = 0;
    int stopped = 0;
    if (!check("peer.domu_published_go", store_read("go", text, sizeof text, 300), "data/%s/go",
               prefix))
        goto out;
    int have = store_read("port", port_text, sizeof port_text, 1) &&
               store_read("gref", gref_text, sizeof gref_text, 1);
    if (!check("peer.read_port_and_control_gref", have, "port %s, gref %s",
               have ? port_text : "?", have ? gref_text : "?"))
        goto out;
    int evfd = open("/dev/xen/evtchn", O_RDWR);
    struct ioctl_evtchn_bind_interdomain bind = {
        .remote_domain = domid, .remote_port = (unsigned)strtoul(port_text, NULL, 10)
    };
    int local = evfd < 0 ? -1 : ioctl(evfd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
    if (!check("peer.evtchn_bind_interdomain", local >= 0, "domU port %u -> dom0 port %d (%s)",
               bind.remote_port, local, local < 0 ? strerror(errno) : "ok"))
        goto out;
    // The pending state Xen sets on the binding side (see main).
    wait_event(evfd, (unsigned)local, 100);
    int gdfd = open("/dev/xen/gntdev", O_RDWR);
    struct ioctl_gntdev_map_grant_ref map = { .count = 1 };
    map.refs[0].domid = domid;
    map.refs[0].ref = (uint32_t)strtoul(gref_text, NULL, 10);
    int rc = gdfd < 0 ? -1 : ioctl(gdfd, IOCTL_GNTDEV_MAP_GRANT_REF, &map);
    volatile uint32_t *control = MAP_FAILED;
    if (rc == 0)
        control = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, gdfd, (off_t)map.index);
    if (!check("peer.gntdev_maps_control_page", control != MAP_FAILED, "gref %u: %s",
               map.refs[0].ref, control != MAP_FAILED ? "mapped" : strerror(errno)))
        goto out;
    if (!check("peer.control_page_magic", load(control, W_MAGIC) == T_MAGIC, "%#x",
               load(control, W_MAGIC)))
        goto out;
    store(control, W_READY, 1);
    struct ioctl_evtchn_notify notify = { .port = (unsigned)local };
    if (!check("peer.notify_ready", ioctl(evfd, IOCTL_EVTCHN_NOTIFY, &notify) == 0,
               "dom0 port %d", local))
        goto out;
    uint64_t start = now_ns();
    while (!stopped) {
        if (!wait_event(evfd, (unsigned)local, 20000))
            break;
        events++;
        uint64_t woken = now_ns();
        uint32_t command = load(control, W_CMD);
        switch (command) {
        case T_CMD_GRANTS:
            grant_batch(gdfd, control, &totals);
            break;
        case T_CMD_PING:
            pings++;
            break;
        case T_CMD_STOP:
            stopped = 1;
            break;
        default:
            break;
        }
        if (stopped) {
            int unmapped = munmap((void *)control, PAGE) == 0;
            struct ioctl_gntdev_unmap_grant_ref unmap = { .index = map.index, .count = 1 };
            unmapped = ioctl(gdfd, IOCTL_GNTDEV_UNMAP_GRANT_REF, &unmap) == 0 && unmapped;
            check("peer.gntdev_unmaps_control_page", unmapped, "%s",
                  unmapped ? "ok" : strerror(errno));
        }
        if (ioctl(evfd, IOCTL_EVTCHN_NOTIFY, &notify) != 0)
            break;
        if (command == T_CMD_PING) {
            // dom0's own part of a round trip: from the event read to the notify's return.
            uint64_t spent_here = now_ns() - woken;
            answer_ns += spent_here;
            if (spent_here > answer_max)
                answer_max = spent_here;
        }
    }
    uint64_t spent = now_ns() - start;
    check("peer.stop_from_domu", stopped, "after %lu events", events);
    check("peer.grant_batches_mapped_and_checked", totals.failed == 0, "%lu batches, %lu grants: %s",
          totals.batches, totals.grants, totals.first_problem[0] ? totals.first_problem : "ok");
    check("peer.pings_answered", pings > 0, "%lu pings", pings);
    unsigned long grants = totals.grants ? totals.grants : 1;
    printf("XFT-PEER-THROUGHPUT: %s: batches=%lu grants=%lu map_ns=%llu unmap_ns=%llu "
           "pings=%lu answer_ns=%llu answer_max_ns=%llu events=%lu s=%llu.%03llu\n",
           prefix, totals.batches, totals.grants,
           (unsigned long long)(totals.map_ns / grants),
           (unsigned long long)(totals.unmap_ns / grants), pings,
           (unsigned long long)(answer_ns / (pings ? pings : 1)),
           (unsigned long long)answer_max, events,
           (unsigned long long)(spent / 1000000000u),
           (unsigned long long)(spent / 1000000u % 1000u));
out:
    printf("XFT-PEER-RESULT: %s: %d passed, %d failed\n", prefix, passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
