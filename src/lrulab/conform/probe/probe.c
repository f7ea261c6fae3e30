/*
 * lrulab conformance probe: the guest side of `lrulab conform`.
 *
 * Runs as /init in a tiny initramfs (no busybox needed).  It mounts the pseudo
 * file systems, applies the knobs and memcgs listed in /script, then executes
 * the scenario's ops one by one.  Before and after each op it prints a
 * snapshot of the counters to /dev/ttyS1 (the host keeps that serial port in
 * a file), then powers the machine off.
 *
 * One long-lived worker process per memcg owns that memcg's THP mappings; the
 * main process stays in the root cgroup and drives the workers over pipes, so
 * every mapping lives until the scenario unmaps it.
 *
 * Output lines (all start with "@@LRULAB "):
 *   HELLO <uname -r>            probe started
 *   SNAP <idx> <pre|post> k=v…  counters around op <idx>
 *   RES <idx> rc=<n> err=<name> result of op <idx> (rc=0 ok, else errno)
 *   FOLIO <name> <pid> <addr> <bytes>  folio <name> was faulted in by <pid> at <addr>
 *   WAIT <idx>                  (with W) op <idx> is done; waits for one byte on ttyS1
 *   CGID <path> <ino>           (with T) the inode number of memcg <path>'s directory (the
 *                               cgroup id, kernfs_node->id, which trace events record)
 *   TRACE <idx> <line>          (with T) a line of the trace buffer after op <idx>
 *   ERR <idx> <message>         op could not be carried out; the run stops
 *   DONE                        every op ran
 *
 * Script (/script), one command per line, fields separated by single spaces:
 *   K <path> <value>                 write a sysfs/proc knob (setup)
 *   G <cgroup path>                  create a memcg (setup, +memory in parents)
 *   N <number of nodes>              nodes to snapshot
 *   Q                                quiesce khugepaged (after the K lines)
 *   W                                pause after every op (the host reads kernel state)
 *   E <dynamic event definition…>    add a trace event (tracefs dynamic_events, e.g. an fprobe)
 *   T                                after every op print the trace buffer, then clear it
 *   D <dir>                          mount a private sysfs at <dir> for the dentry ops: a
 *                                    superblock of its own (sysfs of a new network
 *                                    namespace), so no other dentry is on its list_lru
 *   O <idx> <op> <args…>             an op; see run_op() (op "cat <file>" copies a file,
 *                                    e.g. the trace buffer, as CAT lines: a debugging aid)
 *
 * Part of lrulab; written for the project (no kernel code).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#define MPOL_BIND_ 2
#define MPOL_MF_MOVE_ (1 << 1)
#define MEMBARRIER_CMD_GLOBAL_ 1
#define MPOL_DEFAULT_ 0

#define HPAGE (2UL << 20)
#define PAGE 4096UL
#define BASE 0x200000000000UL   /* folio slot i lives at BASE + i * 8 MiB */
#define SLOT (8UL << 20)
#define CG "/sys/fs/cgroup"
#define THP "/sys/kernel/mm/transparent_hugepage"

static FILE *out;               /* /dev/ttyS1, the marker channel */
static int out_fd = -1;         /* the same port, read for the host's "go on" byte */
static int nr_nodes = 1;
static int pause_after_op;      /* W: wait for the host after every op */
static int trace_after_op;      /* T: print and clear the trace buffer after every op */
#define TRACEFS "/sys/kernel/tracing"
static char dcache_dir[128];    /* D: the private sysfs mount the dentry ops look names up in */

/* ------------------------------------------------------------------ util */

static void outf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("@@LRULAB ", out);
	vfprintf(out, fmt, ap);
	fputc('\n', out);
	fflush(out);
	va_end(ap);
}

static void poweroff(void)
{
	fflush(out);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void die(int idx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	outf("ERR %d %s", idx, msg);
	fprintf(stderr, "lrulab-probe: op %d: %s\n", idx, msg);
	poweroff();
}

/* write a string to a file; returns 0 or errno */
static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	ssize_t n = write(fd, val, strlen(val));
	int err = n < 0 ? errno : 0;
	close(fd);
	return err;
}

static ssize_t read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n <= 0)
			break;
		got += n;
		if (got >= len - 1)
			break;
	}
	close(fd);
	buf[got] = 0;
	return got;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case ENOMEM: return "ENOMEM";
	case EINTR: return "EINTR";
	case EPERM: return "EPERM";
	case EEXIST: return "EEXIST";
	case EIO: return "EIO";
	default: return "E?";
	}
}

static void cg_path(char *buf, size_t len, const char *memcg, const char *file)
{
	if (!strcmp(memcg, "root") || !strcmp(memcg, "/"))
		snprintf(buf, len, CG "/%s", file);
	else
		snprintf(buf, len, CG "/%s/%s", memcg, file);
}

/* ---------------------------------------------------------------- memcgs */

#define MAXCG 64
static char cgs[MAXCG][128];   /* live memcgs, in creation order */
static int nr_cgs;

static void cg_forget(const char *p)
{
	for (int i = 0; i < nr_cgs; i++)
		if (!strcmp(cgs[i], p)) {
			memmove(cgs[i], cgs[i + 1], (size_t)(nr_cgs - i - 1) * sizeof cgs[0]);
			nr_cgs--;
			return;
		}
}

/* mkdir a memcg; enable +memory in every ancestor's subtree_control */
static int cg_create(const char *p)
{
	char path[256], parent[160];
	int err;
	/* parents: root, then each prefix */
	snprintf(parent, sizeof parent, "%s", p);
	char *slash = strrchr(parent, '/');
	if (slash) {
		*slash = 0;
		cg_path(path, sizeof path, parent, "cgroup.subtree_control");
	} else {
		snprintf(path, sizeof path, CG "/cgroup.subtree_control");
	}
	if ((err = write_file(path, "+memory")) != 0)
		return err;
	snprintf(path, sizeof path, CG "/%s", p);
	if (mkdir(path, 0755) < 0)
		return errno;
	if (nr_cgs < MAXCG)
		snprintf(cgs[nr_cgs++], sizeof cgs[0], "%s", p);
	return 0;
}

/* E: append one definition to dynamic_events (O_APPEND: O_TRUNC would remove them all) */
static int add_event(char **f, int nf)
{
	char def[512] = "";
	for (int i = 0; i < nf; i++) {
		if (i)
			strncat(def, " ", sizeof def - strlen(def) - 1);
		strncat(def, f[i], sizeof def - strlen(def) - 1);
	}
	int fd = open(TRACEFS "/dynamic_events", O_WRONLY | O_APPEND);
	if (fd < 0)
		return errno;
	ssize_t n = write(fd, def, strlen(def));
	int err = n < 0 ? errno : 0;
	close(fd);
	return err;
}

static void clear_trace(void)
{
	int fd = open(TRACEFS "/trace", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
}

/* CGID of root (once) and of every memcg created since the last call */
static void report_cgroup_ids(void)
{
	static int reported = -1;
	char path[256];
	struct stat st;
	if (reported < 0 && stat(CG, &st) == 0)
		outf("CGID root %lu", (unsigned long)st.st_ino);
	for (reported = reported < 0 ? 0 : reported; reported < nr_cgs; reported++) {
		snprintf(path, sizeof path, CG "/%s", cgs[reported]);
		if (stat(path, &st) == 0)
			outf("CGID %s %lu", cgs[reported], (unsigned long)st.st_ino);
	}
}

/* T: the events recorded during op idx, one TRACE line each (comments skipped) */
static void dump_trace(int idx)
{
	static char buf[1 << 20];
	report_cgroup_ids();
	if (read_file(TRACEFS "/trace", buf, sizeof buf) < 0)
		return;
	char *save = NULL;
	for (char *ln = strtok_r(buf, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save))
		if (ln[0] != '#')
			outf("TRACE %d %s", idx, ln);
	clear_trace();
}

/* --------------------------------------------------------------- workers */

struct worker {
	char memcg[128];
	pid_t pid;
	int to, from;            /* command pipe, reply pipe */
	int in_root;             /* moved out of its memcg by rmdir */
};
#define MAXW 32
static struct worker workers[MAXW];
static int nr_workers;

struct folio {
	char name[64];
	struct worker *w;
	unsigned long start, end;  /* still-mapped range */
	unsigned long base;
	int pins;
};
#define MAXF 256
static struct folio folios[MAXF];
static int nr_folios;

static struct folio *folio_by_name(int idx, const char *name)
{
	for (int i = 0; i < nr_folios; i++)
		if (!strcmp(folios[i].name, name))
			return &folios[i];
	die(idx, "unknown folio %s", name);
	return NULL;
}

static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n < len - 1) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = 0;
	return (int)n;
}

static long mbind_(unsigned long addr, unsigned long len, int node, unsigned flags)
{
	unsigned long mask = 1UL << node;
	return syscall(SYS_mbind, addr, len, MPOL_BIND_, &mask, 64UL, flags);
}

static void run_on_node(int node)
{
	/* one CPU per node when there are several (QEMU -numa node,cpus=N); else CPU 0 */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(nr_nodes > 1 ? node : 0, &set);
	sched_setaffinity(0, sizeof set, &set);
}

static long set_mempolicy_(int mode, int node)
{
	unsigned long mask = 1UL << node;
	return syscall(SYS_set_mempolicy, mode, mode == MPOL_DEFAULT_ ? NULL : &mask, 64UL);
}

/*
 * A negative-dentry lookup: stat() of a name that does not exist in the private sysfs.
 * kernfs keeps the negative dentry (kernfs_iop_lookup -> d_splice_alias(NULL, ...), no
 * ->d_delete), so its dput puts it on the superblock's s_dentry_lru (list_lru_add_obj: the
 * memcg of the dentry's objcg -- this task's -- and the node of its slab page).  The lookup
 * runs on the node's CPU with the task's memory bound to the node, so the dentry's slab page
 * is that node's.
 */
static int lookup_negative(const char *name, int node)
{
	char path[256], nm[64];
	struct stat st;
	if (sscanf(name, "%63s", nm) != 1)
		return EINVAL;
	snprintf(path, sizeof path, "%s/%s", dcache_dir, nm);
	run_on_node(node);
	if (set_mempolicy_(MPOL_BIND_, node) < 0)
		return errno;
	int rc = stat(path, &st) == 0 ? EEXIST : (errno == ENOENT ? 0 : errno);
	set_mempolicy_(MPOL_DEFAULT_, 0);
	run_on_node(0);
	return rc;
}

/* per-folio pipes holding the vmsplice'd page references ("get") */
static int pinpipe[MAXF][2];

/* worker side: execute one primitive; reply "0" or an errno number */
static int worker_cmd(char *cmd)
{
	char op;
	unsigned long a = 0, b = 0;
	int node = 0, slot = 0, written = 0;
	if (cmd[0] == 'D') {          /* D <node> <name> */
		char nm[64];
		if (sscanf(cmd, "D %d %63s", &node, nm) != 2)
			return EINVAL;
		return lookup_negative(nm, node);
	}
	if (sscanf(cmd, "%c %lx %lx %d %d %d", &op, &a, &b, &node, &slot, &written) < 1)
		return EINVAL;
	switch (op) {
	case 'F':   /* fault: map [a, a+b), bind to node, write the first <written> pages */
	case 'm':   /* mTHP fault: the same with MADV_HUGEPAGE (hugepages-<size>kB = madvise) */
	case 'C': { /* collapse: same, with small pages first, then MADV_COLLAPSE */
		void *p = mmap((void *)a, b, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			return errno;
		if (mbind_(a, b, node, 0) < 0)
			return errno;
		if (op == 'C' && madvise(p, b, MADV_NOHUGEPAGE) < 0)
			return errno;
		if (op == 'm' && madvise(p, b, MADV_HUGEPAGE) < 0)
			return errno;
		for (unsigned long off = 0; off < b && off / PAGE < (unsigned long)written; off += PAGE)
			((volatile char *)p)[off] = 1;
		if (op == 'C') {
			if (madvise(p, b, MADV_HUGEPAGE) < 0)
				return errno;
			if (madvise(p, b, MADV_COLLAPSE) < 0)
				return errno;
		}
		return 0;
	}
	case 'U':   /* munmap [a, a+b) */
		return munmap((void *)a, b) < 0 ? errno : 0;
	case 'P': { /* pin: vmsplice one page at a into the folio's pipe */
		if (pinpipe[slot][0] == 0 && pipe(pinpipe[slot]) < 0)
			return errno;
		struct iovec iov = { (void *)a, PAGE };
		ssize_t n = vmsplice(pinpipe[slot][1], &iov, 1, 0);
		return n == (ssize_t)PAGE ? 0 : (n < 0 ? errno : EIO);
	}
	case 'R': { /* unpin: drain one page from the pipe (drops the reference) */
		static char buf[PAGE];
		ssize_t n = read(pinpipe[slot][0], buf, PAGE);
		return n == (ssize_t)PAGE ? 0 : (n < 0 ? errno : EIO);
	}
	case 'M':   /* migrate [a, a+b) to node */
		return mbind_(a, b, node, MPOL_MF_MOVE_) < 0 ? errno : 0;
	}
	return EINVAL;
}

static void worker_main(int from_main, int to_main)
{
	char cmd[256], rep[32];
	for (;;) {
		if (read_line(from_main, cmd, sizeof cmd) < 0)
			_exit(0);
		int err = worker_cmd(cmd);
		int n = snprintf(rep, sizeof rep, "%d\n", err);
		if (write(to_main, rep, n) != n)
			_exit(1);
	}
}

static struct worker *worker_for(int idx, const char *memcg)
{
	for (int i = 0; i < nr_workers; i++)
		if (!strcmp(workers[i].memcg, memcg) && !workers[i].in_root)
			return &workers[i];
	if (nr_workers == MAXW)
		die(idx, "too many workers");
	int a[2], b[2];
	if (pipe(a) < 0 || pipe(b) < 0)
		die(idx, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die(idx, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		worker_main(a[0], b[1]);
	}
	close(a[0]);
	close(b[1]);
	struct worker *w = &workers[nr_workers++];
	snprintf(w->memcg, sizeof w->memcg, "%s", memcg);
	w->pid = pid;
	w->to = a[1];
	w->from = b[0];
	char path[256], val[32];
	cg_path(path, sizeof path, memcg, "cgroup.procs");
	snprintf(val, sizeof val, "%d", pid);
	int err = write_file(path, val);
	if (err)
		die(idx, "attach worker to %s: %s", memcg, strerror(err));
	return w;
}

static int worker_do(int idx, struct worker *w, const char *fmt, ...)
{
	char cmd[256], rep[32];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
	va_end(ap);
	cmd[n++] = '\n';
	if (write(w->to, cmd, n) != n || read_line(w->from, rep, sizeof rep) < 0)
		die(idx, "worker for %s died", w->memcg);
	return atoi(rep);
}

/* -------------------------------------------------------------- snapshot */

static void snapshot(int idx, const char *when)
{
	static char buf[65536], line[65536];
	size_t l = 0;
	l += snprintf(line + l, sizeof line - l, "SNAP %d %s", idx, when);
	if (read_file("/proc/vmstat", buf, sizeof buf) > 0) {
		for (char *s = strtok(buf, "\n"); s; s = strtok(NULL, "\n")) {
			if (strncmp(s, "thp_", 4) && strncmp(s, "slabs_scanned ", 14) &&
			    strncmp(s, "nr_anon_transparent_hugepages ", 30) &&
			    strncmp(s, "drop_", 5) && strncmp(s, "nr_anon_pages ", 14) &&
			    strncmp(s, "pgmigrate_", 10) && strncmp(s, "compact_", 8) &&
			    strncmp(s, "numa_pages_migrated ", 20) &&
			    strncmp(s, "numa_hint_faults ", 17))
				continue;
			char *sp = strchr(s, ' ');
			if (!sp)
				continue;
			*sp = 0;
			l += snprintf(line + l, sizeof line - l, " vm:%s=%s", s, sp + 1);
		}
	}
	for (int i = 0; i < nr_cgs; i++) {
		char path[256];
		cg_path(path, sizeof path, cgs[i], "memory.current");
		if (read_file(path, buf, sizeof buf) > 0)
			l += snprintf(line + l, sizeof line - l, " cg:%s:current=%ld", cgs[i],
				      atol(buf));
		cg_path(path, sizeof path, cgs[i], "memory.stat");
		if (read_file(path, buf, sizeof buf) > 0) {
			char *s = strstr(buf, "\nanon_thp ");
			if (s)
				l += snprintf(line + l, sizeof line - l, " cg:%s:anon_thp=%ld",
					      cgs[i], atol(s + 10));
		}
	}
	if (read_file("/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans", buf, 64) > 0)
		l += snprintf(line + l, sizeof line - l, " khugepaged:full_scans=%ld", atol(buf));
	if (read_file("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed", buf, 64) > 0)
		l += snprintf(line + l, sizeof line - l, " khugepaged:pages_collapsed=%ld", atol(buf));
	/* per-order mTHP stats (6.9+): hugepages-<size>kB/stats/<item> */
	DIR *thp = opendir(THP);
	for (struct dirent *d; thp && (d = readdir(thp));) {
		if (strncmp(d->d_name, "hugepages-", 10))
			continue;
		char dir[320];
		snprintf(dir, sizeof dir, THP "/%s/stats", d->d_name);
		DIR *st = opendir(dir);
		for (struct dirent *e; st && (e = readdir(st));) {
			char path[600];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (read_file(path, buf, 64) > 0 && l < sizeof line - 200)
				l += snprintf(line + l, sizeof line - l, " mthp:%s/stats/%s=%ld",
					      d->d_name, e->d_name, atol(buf));
		}
		if (st)
			closedir(st);
	}
	if (thp)
		closedir(thp);
	for (int n = 0; n < nr_nodes; n++) {
		char path[128];
		snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", n);
		if (read_file(path, buf, sizeof buf) > 0) {
			char *s = strstr(buf, "AnonHugePages:");
			if (s)
				l += snprintf(line + l, sizeof line - l, " node:%d:AnonHugePages_kB=%ld",
					      n, atol(s + 14));
		}
	}
	outf("%s", line);
}

/* -------------------------------------------------------------------- ops */

static void wait_offline(void)
{
	/* rmdir kills the css; ->css_offline runs after an RCU grace period, from
	 * a work item.  Wait for a grace period, then give the work item time. */
	syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_, 0, 0);
	syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_, 0, 0);
	struct timespec ts = { 1, 500000000 };
	nanosleep(&ts, NULL);
}

/*
 * Node-local global reclaim: a process in the root cgroup, its memory bound to <node>
 * (set_mempolicy(MPOL_BIND)), touches 1 MiB chunks until the OOM killer kills it.  Filling
 * the node wakes its kswapd and then direct reclaim restricted to the node, both of which
 * run every memcg's shrinkers on that node (shrink_node -> shrink_slab).  The chunks are
 * MADV_NOHUGEPAGE so the hog itself makes no THP (its VMAs merge into 2 MiB-aligned
 * ranges otherwise).  rc 0 when it died of SIGKILL, as expected; the host compares the
 * outcome only (which folios were split, thp_split_page, the queues), not per-op counters:
 * how many kswapd/direct passes run varies from run to run.
 */
static int hog(int idx, int node)
{
	pid_t pid = fork();
	if (pid < 0)
		die(idx, "fork: %s", strerror(errno));
	if (pid == 0) {
		write_file("/proc/self/oom_score_adj", "1000");
		if (set_mempolicy_(MPOL_BIND_, node) < 0)
			_exit(2);
		for (;;) {
			char *p = mmap(NULL, 1UL << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(3);
			madvise(p, 1UL << 20, MADV_NOHUGEPAGE);
			for (unsigned long off = 0; off < (1UL << 20); off += PAGE)
				p[off] = 1;
		}
	}
	int status = 0;
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	/* let kswapd notice the freed memory and go back to sleep before the snapshot */
	struct timespec ts = { 0, 300000000 };
	nanosleep(&ts, NULL);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : EIO;
}

/* returns errno-like rc of the op (recorded, not fatal) */
static int run_op(int idx, char **f, int nf)
{
	const char *op = f[0];
	char path[256];
	if ((!strcmp(op, "fault") || !strcmp(op, "collapse")) && (nf == 6 || nf == 7)) {
		/* fault <memcg> <node> <folio> <slot> <pages to write> [<order>] */
		if (nr_folios == MAXF)
			die(idx, "too many folios");
		struct worker *w = worker_for(idx, f[1]);
		struct folio *fo = &folios[nr_folios];
		int slot = atoi(f[4]);
		snprintf(fo->name, sizeof fo->name, "%s", f[3]);
		fo->w = w;
		int order = nf == 7 ? atoi(f[6]) : 9;
		fo->base = fo->start = BASE + (unsigned long)slot * SLOT;
		fo->end = fo->start + (PAGE << order);
		/* 'm': an mTHP (order < 9): MADV_HUGEPAGE on a folio-sized mapping */
		int rc = worker_do(idx, w, "%c %lx %lx %d %d %d",
				   op[0] == 'f' ? (order == 9 ? 'F' : 'm') : 'C',
				   fo->start, fo->end - fo->start, atoi(f[2]), nr_folios, atoi(f[5]));
		if (rc)
			die(idx, "%s %s: %s", op, f[3], strerror(rc));
		nr_folios++;
		outf("FOLIO %s %d 0x%lx %lu", fo->name, w->pid, fo->base, fo->end - fo->base);
		return 0;
	}
	if (!strcmp(op, "partial") && nf == 2) {
		struct folio *fo = folio_by_name(idx, f[1]);
		unsigned long len = fo->end - fo->start;
		if (len < 2 * PAGE)
			die(idx, "partial_unmap %s: fewer than 2 pages mapped", f[1]);
		unsigned long cut = fo->start + ((len / PAGE) / 2) * PAGE;
		int rc = worker_do(idx, fo->w, "U %lx %lx", cut, fo->end - cut);
		if (rc)
			die(idx, "munmap %s: %s", f[1], strerror(rc));
		fo->end = cut;
		return 0;
	}
	if (!strcmp(op, "unmap") && nf == 2) {
		struct folio *fo = folio_by_name(idx, f[1]);
		if (fo->end > fo->start) {
			int rc = worker_do(idx, fo->w, "U %lx %lx", fo->start, fo->end - fo->start);
			if (rc)
				die(idx, "munmap %s: %s", f[1], strerror(rc));
		}
		fo->end = fo->start;
		return 0;
	}
	if ((!strcmp(op, "get") || !strcmp(op, "put")) && nf == 2) {
		struct folio *fo = folio_by_name(idx, f[1]);
		int slot = (int)(fo - folios);
		if (op[0] == 'g' && fo->end == fo->start)
			die(idx, "get %s: no page of it is mapped any more", f[1]);
		if (op[0] == 'p' && fo->pins == 0)
			die(idx, "put %s: no extra reference held", f[1]);
		int rc = worker_do(idx, fo->w, "%c %lx 0 0 %d", op[0] == 'g' ? 'P' : 'R',
				   fo->start, slot);
		if (rc)
			die(idx, "%s %s: %s", op, f[1], strerror(rc));
		fo->pins += op[0] == 'g' ? 1 : -1;
		return 0;
	}
	if (!strcmp(op, "split") && nf == 2) {
		struct folio *fo = folio_by_name(idx, f[1]);
		char val[128];
		snprintf(val, sizeof val, "%d,0x%lx,0x%lx", fo->w->pid, fo->base,
			 fo->base + HPAGE);   /* the whole slot: any folio size */
		return write_file("/sys/kernel/debug/split_huge_pages", val);
	}
	if (!strcmp(op, "migrate") && nf == 3) {
		struct folio *fo = folio_by_name(idx, f[1]);
		if (fo->end == fo->start)
			die(idx, "migrate %s: nothing mapped", f[1]);
		return worker_do(idx, fo->w, "M %lx %lx %d", fo->start, fo->end - fo->start,
				 atoi(f[2]));
	}
	if (!strcmp(op, "mkdir") && nf == 2) {
		int rc = cg_create(f[1]);
		if (rc)
			die(idx, "mkdir %s: %s", f[1], strerror(rc));
		return 0;
	}
	if (!strcmp(op, "rmdir") && nf == 2) {
		/* move the memcg's worker to the root cgroup; its memory stays charged */
		for (int i = 0; i < nr_workers; i++) {
			struct worker *w = &workers[i];
			if (w->in_root || strcmp(w->memcg, f[1]))
				continue;
			char val[32];
			snprintf(val, sizeof val, "%d", w->pid);
			int rc = write_file(CG "/cgroup.procs", val);
			if (rc)
				die(idx, "move worker out of %s: %s", f[1], strerror(rc));
			w->in_root = 1;
		}
		snprintf(path, sizeof path, CG "/%s", f[1]);
		if (rmdir(path) < 0)
			die(idx, "rmdir %s: %s", f[1], strerror(errno));
		cg_forget(f[1]);
		wait_offline();
		return 0;
	}
	if (!strcmp(op, "dentry") && nf == 4) {
		/* dentry <memcg> <node> <name>: a negative-dentry lookup by the memcg's worker */
		if (!dcache_dir[0])
			die(idx, "dentry op without a D line");
		struct worker *w = worker_for(idx, f[1]);
		/* empty every CPU's slab of the dentry cache (flush_all), so the lookup's CPU
		 * takes its next slab from its own node (remote partials are off: the D line) */
		int rc = write_file("/sys/kernel/slab/dentry/shrink", "1");
		if (rc)
			die(idx, "flush the dentry cache's CPU slabs: %s", strerror(rc));
		rc = worker_do(idx, w, "D %d %s", atoi(f[2]), f[3]);
		if (rc)
			die(idx, "lookup of %s/%s: %s", dcache_dir, f[3], strerror(rc));
		return 0;
	}
	if (!strcmp(op, "hog") && nf == 2)
		return hog(idx, atoi(f[1]));
	if (!strcmp(op, "memreclaim") && nf == 3) {
		cg_path(path, sizeof path, f[1], "memory.reclaim");
		return write_file(path, f[2]);
	}
	if (!strcmp(op, "dropslab") && nf == 1)
		return write_file("/proc/sys/vm/drop_caches", "2");
	if (!strcmp(op, "cat") && nf == 2) {
		/* debugging aid: copy a file (e.g. the trace buffer) to the marker channel */
		static char buf[1 << 20];
		if (read_file(f[1], buf, sizeof buf) < 0)
			return errno;
		for (char *s = strtok(buf, "\n"); s; s = strtok(NULL, "\n"))
			outf("CAT %s", s);
		return 0;
	}
	if (!strcmp(op, "sleep") && nf == 2) {
		struct timespec ts = { atoi(f[1]) / 1000, (atoi(f[1]) % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		return 0;
	}
	die(idx, "probe does not understand op '%s' with %d fields", op, nf);
	return 0;
}

/* ------------------------------------------------------------------- main */

/*
 * khugepaged sleeps scan_sleep_millisecs between passes only while some mm is registered
 * with it; when the first mm registers (empty list -> non-empty) it is woken and scans at
 * once, concurrently with whatever the scenario does next (a MADV_COLLAPSE then counted
 * thp_collapse_alloc twice).  So register this process's mm first and wait until that scan
 * has finished (full_scans moves); khugepaged then sleeps for scan_sleep_millisecs.
 *
 * Registration needs a THP-suitable VMA that already has an anon_vma.  The area is 3 MiB
 * starting 1 MiB past a 2 MiB boundary: the one page written lies outside its only aligned
 * 2 MiB range (so it is a small page), and that aligned range stays empty (nothing for
 * khugepaged to collapse).
 */
static void quiesce_khugepaged(void)
{
	static char buf[64];
	const char *fs = "/sys/kernel/mm/transparent_hugepage/khugepaged/full_scans";
	long before = read_file(fs, buf, sizeof buf) > 0 ? atol(buf) : -1;
	unsigned long len = HPAGE + HPAGE / 2, at = BASE - 2 * SLOT + HPAGE / 2;
	char *p = mmap((void *)at, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		die(-1, "khugepaged registration area: %s", strerror(errno));
	p[0] = 1;
	if (madvise(p, len, MADV_HUGEPAGE) < 0)
		die(-1, "khugepaged registration: MADV_HUGEPAGE: %s", strerror(errno));
	for (int i = 0; i < 500; i++) {        /* up to 10 s */
		struct timespec ts = { 0, 20000000 };
		if (read_file(fs, buf, sizeof buf) > 0 && atol(buf) > before)
			return;
		nanosleep(&ts, NULL);
	}
	die(-1, "khugepaged did not finish its first scan within 10 s");
}

static void setup_fs(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("cgroup2", CG, "cgroup2", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	mount("tracefs", TRACEFS, "tracefs", 0, NULL);
}

static void open_out(void)
{
	int fd = open("/dev/ttyS1", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		struct termios t;
		if (tcgetattr(fd, &t) == 0) {
			cfmakeraw(&t);
			tcsetattr(fd, TCSANOW, &t);
		}
		out = fdopen(fd, "w");
		out_fd = fd;
	}
	if (!out)
		out = stdout;
}

int main(void)
{
	static char script[1 << 16];
	setup_fs();
	open_out();
	signal(SIGPIPE, SIG_IGN);

	/* everything on CPU 0 (node 0): reclaim starts with the local node */
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof set, &set);

	struct utsname u;
	uname(&u);
	outf("HELLO %s", u.release);

	if (read_file("/script", script, sizeof script) < 0)
		die(-1, "no /script");
	char *save = NULL;
	for (char *ln = strtok_r(script, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char *f[16];
		int nf = 0;
		char *s2 = NULL;
		for (char *t = strtok_r(ln, " ", &s2); t && nf < 16; t = strtok_r(NULL, " ", &s2))
			f[nf++] = t;
		if (nf == 0 || f[0][0] == '#')
			continue;
		if (!strcmp(f[0], "K") && nf == 3) {
			int err = write_file(f[1], f[2]);
			if (err)
				die(-1, "write %s to %s: %s", f[2], f[1], strerror(err));
		} else if (!strcmp(f[0], "G") && nf == 2) {
			int err = cg_create(f[1]);
			if (err)
				die(-1, "create memcg %s: %s", f[1], strerror(err));
		} else if (!strcmp(f[0], "N") && nf == 2) {
			nr_nodes = atoi(f[1]);
		} else if (!strcmp(f[0], "Q") && nf == 1) {
			quiesce_khugepaged();
		} else if (!strcmp(f[0], "D") && nf == 2) {
			snprintf(dcache_dir, sizeof dcache_dir, "%s", f[1]);
			mkdir(dcache_dir, 0755);
			if (unshare(CLONE_NEWNET) < 0)
				die(-1, "unshare(CLONE_NEWNET): %s", strerror(errno));
			if (mount("sysfs", dcache_dir, "sysfs", 0, NULL) < 0)
				die(-1, "mount sysfs at %s: %s", dcache_dir, strerror(errno));
			/* SLUB: no partial slab of another node for a CPU's dentry allocations
			 * (get_any_partial), so a dentry's node is its CPU's */
			int err = write_file("/sys/kernel/slab/dentry/remote_node_defrag_ratio", "0");
			if (err)
				die(-1, "dentry remote_node_defrag_ratio: %s", strerror(err));
		} else if (!strcmp(f[0], "W") && nf == 1) {
			pause_after_op = out_fd >= 0;
		} else if (!strcmp(f[0], "E") && nf >= 2) {
			int err = add_event(f + 1, nf - 1);
			if (err)
				die(-1, "add trace event %s: %s", f[1], strerror(err));
		} else if (!strcmp(f[0], "T") && nf == 1) {
			trace_after_op = 1;
			report_cgroup_ids();
			clear_trace();
		} else if (!strcmp(f[0], "O") && nf >= 3) {
			int idx = atoi(f[1]);
			snapshot(idx, "pre");
			int rc = run_op(idx, f + 2, nf - 2);
			outf("RES %d rc=%d err=%s", idx, rc, errname(rc));
			snapshot(idx, "post");
			if (trace_after_op)
				dump_trace(idx);
			if (pause_after_op) {
				char go;
				outf("WAIT %d", idx);
				if (read(out_fd, &go, 1) != 1)
					die(idx, "host did not answer WAIT");
			}
		} else {
			die(-1, "bad script line starting with '%s'", f[0]);
		}
	}
	outf("DONE");
	poweroff();
	return 0;
}
