/* SPDX-License-Identifier: MIT */
/*
 * portwatch scan: probe TCP ports once with the scan engine and print what
 * answered. The targets and ports come from the command line; nothing is
 * stored.
 */

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/signalfd.h>

#include "addr.h"
#include "engine.h"
#include "iset.h"
#include "json.h"
#include "output.h"
#include "ports.h"
#include "scan.h"
#include "services.h"
#include "state.h"
#include "targets.h"
#include "util.h"
#include "verbs.h"
#include "scan-internal.h"

/* ------------------------------------------------------------------ spec parsing */

/* Split a comma-separated list and hand each spec to fn. */
static int for_each_spec(const char *list, int (*fn)(const char *spec, void *userdata),
			 void *userdata)
{
	_cleanup_free_ char *copy = strdup(list);
	char *save = NULL, *tok;

	if (!copy)
		return -ENOMEM;
	if (!*copy)
		return fn("", userdata);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int r = fn(tok, userdata);

		if (r < 0)
			return r;
	}
	return 0;
}

struct target_acc {
	struct pw_iset *addrs;
	char **names;
	size_t n_names;
};

static int add_target(const char *spec, void *userdata)
{
	struct target_acc *t = userdata;
	enum pw_target_kind kind;
	const char *why = NULL;
	char **names;
	int r = pw_target_parse(spec, t->addrs, &kind, &why);

	if (r < 0) {
		fprintf(stderr, "portwatch scan: invalid target \"%s\": %s\n", spec,
			why ?: strerror(-r));
		return r;
	}
	switch (kind) {
	case PW_TARGET_ADDRESSES:
		return 0;
	case PW_TARGET_HOSTNAME:
		names = realloc(t->names, (t->n_names + 1) * sizeof(*names));
		if (!names)
			return -ENOMEM;
		t->names = names;
		t->names[t->n_names] = strdup(spec);
		if (!t->names[t->n_names])
			return -ENOMEM;
		t->n_names++;
		return 0;
	}
	return -EINVAL;
}

static int add_port(const char *spec, void *userdata)
{
	const char *why = NULL;
	int r = pw_ports_parse(spec, userdata, &why);

	if (r < 0)
		fprintf(stderr, "portwatch scan: invalid port spec \"%s\": %s\n", spec,
			why ?: strerror(-r));
	return r;
}

/* Names resolve at scan time (A and AAAA), each failure reported by name. */
static int resolve_names(struct target_acc *t)
{
	struct pw_iset resolved = PW_ISET_INIT;
	_cleanup_free_ int *errs = NULL;
	int r;

	if (t->n_names == 0)
		return 0;
	errs = calloc(t->n_names, sizeof(*errs));
	if (!errs)
		return -ENOMEM;
	r = pw_targets_resolve(t->names, t->n_names, NULL, &resolved, errs);
	if (r < 0)
		return r;
	for (size_t i = 0; i < t->n_names; i++)
		if (errs[i])
			fprintf(stderr, "portwatch scan: cannot resolve \"%s\": %s\n", t->names[i],
				gai_strerror(errs[i]));
	if (r > 0) {
		pw_iset_done(&resolved);
		return -ENOENT;
	}
	r = pw_iset_add_set(t->addrs, &resolved);
	pw_iset_done(&resolved);
	return r;
}

/* ------------------------------------------------------------------ scan */

/* A fresh probe order per run, unless --seed pins it. */
static int getrandom_key(uint64_t *ret)
{
	uint64_t k;

	if (getrandom(&k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k))
		return -errno;
	*ret = k;
	return 0;
}

struct open_port {
	pw_u128 addr;
	uint16_t port;
	uint32_t rtt;
};

struct scan_out {
	const struct pw_scan_space *space;
	pw_u128 nports;
	bool all;
	/* --all: 4 bits per probe, indexed like the space, so the listing
	 * comes out sorted without storing addresses */
	uint8_t *states;
	struct open_port *open;
	size_t nopen, opencap;
	pw_u128 *wild;
	size_t nwild, wildcap;
	int err;
};

/* A port reported open turned out to belong to an address that accepts
 * everything: it is not listed (rare: the engine holds such news). */
static void withdraw_open(struct scan_out *o, const struct pw_probe_result *r)
{
	for (size_t i = o->nopen; i-- > 0;)
		if (o->open[i].addr == r->addr && o->open[i].port == r->port) {
			o->open[i] = o->open[--o->nopen];
			break;
		}
	if (o->states) {
		pw_u128 v = pw_iset_rank(&o->space->addrs, r->addr) * o->nports +
			    pw_iset_rank(&o->space->ports, r->port);

		o->states[v / 2] &= (uint8_t) ~(0xf << (4 * (v % 2)));
	}
}

static void on_result(void *userdata, const struct pw_probe_result *r)
{
	struct scan_out *o = userdata;

	if (r->flags & PW_RESULT_RETRACTED) {
		withdraw_open(o, r);
		return;
	}
	if (r->flags & PW_RESULT_ACCEPTS_ALL) {
		if (o->nwild == o->wildcap) {
			size_t n = o->wildcap ? o->wildcap * 2 : 8;
			pw_u128 *w = realloc(o->wild, n * sizeof(*w));

			if (!w) {
				o->err = -ENOMEM;
				return;
			}
			o->wild = w;
			o->wildcap = n;
		}
		o->wild[o->nwild++] = r->addr;
		return;
	}
	if (o->states) {
		pw_u128 v = pw_iset_rank(&o->space->addrs, r->addr) * o->nports +
			    pw_iset_rank(&o->space->ports, r->port);

		o->states[v / 2] |= (uint8_t)((r->state + 1) << (4 * (v % 2)));
	}
	if (r->state == PW_STATE_OPEN) {
		if (o->nopen == o->opencap) {
			size_t n = o->opencap ? o->opencap * 2 : 64;
			struct open_port *p = realloc(o->open, n * sizeof(*p));

			if (!p) {
				o->err = -ENOMEM;
				return;
			}
			o->open = p;
			o->opencap = n;
		}
		o->open[o->nopen++] = (struct open_port){ r->addr, r->port, r->rtt_usec };
	}
}

static int cmp_open(const void *a, const void *b)
{
	const struct open_port *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->port - (int)y->port;
}

static int cmp_u128(const void *a, const void *b)
{
	pw_u128 x = *(const pw_u128 *)a, y = *(const pw_u128 *)b;

	return x < y ? -1 : x > y;
}

static const struct open_port *find_open(const struct scan_out *o, pw_u128 addr, uint16_t port)
{
	struct open_port key = { addr, port, 0 };

	return o->nopen ? bsearch(&key, o->open, o->nopen, sizeof(*o->open), cmp_open) : NULL;
}

static bool accepts_all(const struct scan_out *o, pw_u128 addr)
{
	return o->nwild && bsearch(&addr, o->wild, o->nwild, sizeof(*o->wild), cmp_u128);
}

static void print_port(const struct scan_opts *so, const struct scan_out *o, pw_u128 addr,
		       uint16_t port, enum pw_state st, struct pw_json *j)
{
	char abuf[PW_ADDR_STRLEN];
	const char *svc = so->no_services ? NULL : pw_services_name(&so->services, port);
	const struct open_port *op = st == PW_STATE_OPEN ? find_open(o, addr, port) : NULL;

	/* the accepts-all line stands for its open ports (seen before the
	 * address was found out, in another worker) */
	if (st == PW_STATE_OPEN && accepts_all(o, addr))
		return;
	pw_addr_format(addr, abuf);
	if (!so->json) {
		printf("%-15s %5u  %-11s %s\n", abuf, port, pw_state_to_string(st), svc ?: "");
		return;
	}
	pw_json_begin_object(j, PW_JSON_INLINE);
	pw_json_key(j, "address");
	pw_json_str(j, abuf);
	pw_json_key(j, "port");
	pw_json_uint(j, port);
	pw_json_key(j, "state");
	pw_json_str(j, pw_state_to_string(st));
	if (svc) {
		pw_json_key(j, "service");
		pw_json_str(j, svc);
	}
	if (op) {
		pw_json_key(j, "rtt_usec");
		pw_json_uint(j, op->rtt);
	}
	pw_json_end_object(j);
}

/* Every port with --all, else the open ones: sorted, addresses first. */
static void print_ports(const struct scan_opts *so, const struct scan_out *o, struct pw_json *j)
{
	pw_u128 total = pw_iset_count(&o->space->addrs) * o->nports;

	if (!o->states) {
		for (size_t i = 0; i < o->nopen; i++)
			print_port(so, o, o->open[i].addr, o->open[i].port, PW_STATE_OPEN, j);
		return;
	}
	for (pw_u128 v = 0; v < total; v++) {
		unsigned s = (o->states[v / 2] >> (4 * (v % 2))) & 0xf;
		pw_u128 addr;

		if (s == 0)
			continue;
		addr = pw_iset_pick(&o->space->addrs, v / o->nports);
		print_port(so, o, addr, (uint16_t)pw_iset_pick(&o->space->ports, v % o->nports),
			   (enum pw_state)(s - 1), j);
	}
}

static void json_u64(struct pw_json *j, const char *key, uint64_t v)
{
	pw_json_key(j, key);
	pw_json_uint(j, v);
}

static void print_summary_json(const struct scan_out *o, const struct pw_engine_stats *st,
			       double secs, bool interrupted, struct pw_json *j)
{
	char abuf[PW_ADDR_STRLEN];
	double loss;

	pw_json_key(j, "accepts_all");
	pw_json_begin_array(j, PW_JSON_INLINE);
	for (size_t i = 0; i < o->nwild; i++)
		pw_json_str(j, pw_addr_format(o->wild[i], abuf));
	pw_json_end_array(j);
	pw_json_key(j, "summary");
	pw_json_begin_object(j, PW_JSON_INLINE);
	json_u64(j, "addresses", (uint64_t)pw_iset_count(&o->space->addrs));
	json_u64(j, "ports", o->nports);
	json_u64(j, "probes", st->total);
	json_u64(j, "done", st->done);
	json_u64(j, "open", st->open);
	json_u64(j, "closed", st->closed);
	json_u64(j, "filtered", st->filtered);
	json_u64(j, "unreachable", st->unreachable);
	json_u64(j, "accepts_all", o->nwild);
	pw_json_key(j, "seconds");
	pw_json_raw(j, "%.3f", secs);
	json_u64(j, "connects", st->connects);
	json_u64(j, "self_connects", st->self_connects);
	json_u64(j, "scanner_errors", st->scanner_errors);
	pw_json_key(j, "loss_pct");
	if (pw_engine_loss_pct(st, &loss))
		pw_json_raw(j, "%.2f", loss);
	else
		pw_json_null(j);
	json_u64(j, "loss_attempts", st->loss_attempts);
	pw_json_key(j, "complete");
	pw_json_bool(j, !interrupted);
	pw_json_end_object(j);
}

/* ", 19.3% of attempts lost (9 extra attempts)": timeouts that a later
 * attempt to the same port ended (engine.h); nothing when nothing answered */
static void print_loss(const struct pw_engine_stats *st)
{
	double loss;

	if (!pw_engine_loss_pct(st, &loss))
		return;
	printf(", %.1f%% of attempts lost", loss);
	if (st->loss_attempts)
		printf(" (%llu extra attempts)", (unsigned long long)st->loss_attempts);
}

static void print_summary_text(const struct scan_out *o, const struct pw_engine_stats *st,
			       double secs, bool interrupted)
{
	char abuf[PW_ADDR_STRLEN];
	pw_u128 naddrs = pw_iset_count(&o->space->addrs);

	for (size_t i = 0; i < o->nwild; i++)
		printf("%-15s %5s  %-11s %s\n", pw_addr_format(o->wild[i], abuf), "*",
		       "accepts-all",
		       "(every port accepts: wildcard or tarpit; its open ports are not listed)");
	printf("%s %llu address%s x %llu port%s in %.2f s: %llu open, %llu closed, %llu filtered, "
	       "%llu unreachable",
	       interrupted ? "Interrupted after" : "Scanned", (unsigned long long)naddrs,
	       naddrs == 1 ? "" : "es", (unsigned long long)o->nports, o->nports == 1 ? "" : "s",
	       secs, (unsigned long long)st->open, (unsigned long long)st->closed,
	       (unsigned long long)st->filtered, (unsigned long long)st->unreachable);
	print_loss(st);
	if (o->nwild)
		printf(", %zu address%s accepting everything", o->nwild, o->nwild == 1 ? "" : "es");
	printf("\n");
}

static void print_results(const struct scan_opts *so, struct scan_out *o,
			  const struct pw_engine_stats *st, double secs, bool interrupted)
{
	struct pw_json j;

	if (o->nopen)
		qsort(o->open, o->nopen, sizeof(*o->open), cmp_open);
	if (o->nwild)
		qsort(o->wild, o->nwild, sizeof(*o->wild), cmp_u128);

	if (!so->json) {
		printf("%-15s %5s  %-11s %s\n", "ADDRESS", "PORT", "STATE", "SERVICE");
		print_ports(so, o, NULL);
		print_summary_text(o, st, secs, interrupted);
		return;
	}
	pw_json_init(&j, stdout);
	pw_json_begin_object(&j, PW_JSON_LINES);
	pw_json_key(&j, "ports");
	/* BLOCK: an empty list has always been "[\n  ]" */
	pw_json_begin_array(&j, PW_JSON_BLOCK);
	print_ports(so, o, &j);
	pw_json_end_array(&j);
	print_summary_json(o, st, secs, interrupted, &j);
	pw_json_end_object(&j);
	putchar('\n');
}

static void progress(const struct pw_engine_stats *st, bool final)
{
	double pct = st->total ? 100.0 * (double)st->done / (double)st->total : 100.0;

	fprintf(stderr, "\r\033[K%llu/%llu probes (%.1f%%), %llu open, %u in flight%s",
		(unsigned long long)st->done, (unsigned long long)st->total, pct,
		(unsigned long long)st->open, st->inflight, final ? "\r\033[K" : "");
	fflush(stderr);
}

/* An epoll fd watching SIGINT/SIGTERM (as a signalfd, in *ret_sfd) and the engine. */
static int drive_setup(struct pw_engine *e, int *ret_ep, int *ret_sfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int ep = epoll_create1(EPOLL_CLOEXEC), sfd;

	if (ep < 0)
		return -errno;
	*ret_ep = ep;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return -errno;
	*ret_sfd = sfd;
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
		return -errno;
	ev.data.fd = pw_engine_get_fd(e);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0)
		return -errno;
	return 0;
}

/* Show progress when a tick is due; the deadline to wait for, UINT64_MAX for none. */
static uint64_t drive_deadline(struct pw_engine *e, uint64_t now, bool show_progress,
			       uint64_t *next_tick)
{
	uint64_t dl = pw_engine_next_deadline(e);

	if (show_progress) {
		if (now >= *next_tick) {
			struct pw_engine_stats st;

			pw_engine_get_stats(e, &st);
			progress(&st, false);
			*next_tick = now + 200 * USEC_PER_MSEC;
		}
		if (*next_tick < dl)
			dl = *next_tick;
	}
	return dl;
}

/* The CLI's loop: the engine's fd, its deadline, SIGINT/SIGTERM, progress ticks. */
static int drive(struct pw_engine *e, bool show_progress, bool *ret_interrupted)
{
	_cleanup_close_ int ep = -1, sfd = -1;
	uint64_t next_tick = 0;
	int r;

	r = drive_setup(e, &ep, &sfd);
	if (r < 0)
		return r;
	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC), dl;
		struct epoll_event evs[2];
		struct timespec ts, *tsp = NULL;
		int n;

		r = pw_engine_process(e, now);
		if (r <= 0)
			break;
		dl = drive_deadline(e, now, show_progress, &next_tick);
		if (dl != UINT64_MAX) {
			uint64_t d = dl > now ? dl - now : 0;

			ts = (struct timespec){ .tv_sec = (time_t)(d / USEC_PER_SEC),
						.tv_nsec = (long)(d % USEC_PER_SEC) * 1000 };
			tsp = &ts;
		}
		n = pw_epoll_wait(ep, evs, 2, tsp);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				pw_engine_abort(e);
				*ret_interrupted = true;
			}
		}
	}
	if (show_progress) {
		struct pw_engine_stats st;

		pw_engine_get_stats(e, &st);
		progress(&st, true);
	}
	return r;
}

/* The probe space from the targets and ports: -1 to go on, else the exit status. */
static int scan_space(int argc, char **argv, const char *ports, struct target_acc *targets,
		      struct pw_scan_space *space)
{
	int r;

	for (int i = optind; i < argc; i++) {
		r = for_each_spec(argv[i], add_target, targets);
		if (r < 0)
			return r == -ENOMEM ? PW_CLI_EXIT_FAILURE : PW_CLI_EXIT_USAGE;
	}
	r = for_each_spec(ports, add_port, &space->ports);
	if (r < 0)
		return r == -ENOMEM ? PW_CLI_EXIT_FAILURE : PW_CLI_EXIT_USAGE;
	r = resolve_names(targets);
	if (r < 0) {
		if (r == -ENOMEM)
			fprintf(stderr, "portwatch scan: out of memory\n");
		return PW_CLI_EXIT_FAILURE;
	}
	if (pw_iset_count(&space->addrs) == 0) {
		fprintf(stderr, "portwatch scan: no address to scan\n");
		return PW_CLI_EXIT_FAILURE;
	}
	/* "-p ," names no port at all: say so, not EINVAL from the engine */
	if (pw_iset_count(&space->ports) == 0) {
		fprintf(stderr, "portwatch scan: --ports \"%s\" names no port\n", ports);
		return PW_CLI_EXIT_USAGE;
	}
	return -1;
}

/* --all: room for every probe's state. -1 to go on, else the exit status. */
static int scan_all_states(struct scan_out *out)
{
	pw_u128 total = pw_iset_count(&out->space->addrs) * out->nports;

	/* 4 bits of state per probe: 2^24 probes is 8 MiB and 16 million
	 * lines of output, already more than anyone reads (2^32, the
	 * old cap, asked for 2 GiB: found by fuzz-cli) */
	if (total > SCAN_ALL_MAX) {
		fprintf(stderr,
			"portwatch scan: --all lists at most %llu probes, this scan makes %llu: narrow it or drop --all\n",
			(unsigned long long)SCAN_ALL_MAX, (unsigned long long)total);
		return PW_CLI_EXIT_USAGE;
	}
	out->states = calloc((size_t)(total / 2 + 1), 1);
	if (!out->states) {
		fprintf(stderr, "portwatch scan: out of memory\n");
		return PW_CLI_EXIT_FAILURE;
	}
	return -1;
}

static int scan_start(const struct scan_opts *so, struct pw_scan_space *space, struct scan_out *out,
		      struct pw_engine **ret)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	r = pw_engine_new(
		&(struct pw_engine_params){
			.space = space,
			.timing = so->timing,
			.key = so->key,
			.shard_i = so->shard_i,
			.shard_n = so->shard_n,
			.threads = so->threads ? so->threads : (ncpu > 0 ? (unsigned)ncpu : 1),
			.canaries = so->canaries,
			.accept_share_pct = PW_ENGINE_DEFAULT_ACCEPT_SHARE,
			.on_result = on_result,
			.userdata = out,
		},
		ret);
	if (r < 0)
		fprintf(stderr, "portwatch scan: cannot start the scan: %s\n",
			r == -ERANGE ? "the probe space is too large" : strerror(-r));
	return r;
}

/* Run the scan and print what it found; the exit status. */
static int scan_run(struct scan_opts *so, struct pw_engine *e, struct scan_out *out)
{
	struct pw_engine_stats st;
	bool interrupted = false;
	uint64_t t0 = pw_now_usec(CLOCK_MONOTONIC);
	int r;

	r = drive(e, so->progress, &interrupted);
	pw_engine_get_stats(e, &st);
	if (r < 0) {
		fprintf(stderr, "portwatch scan: scan failed after %llu of %llu probes: %s\n",
			(unsigned long long)st.done, (unsigned long long)st.total, strerror(-r));
		return PW_CLI_EXIT_FAILURE;
	}
	if (out->err < 0) {
		fprintf(stderr, "portwatch scan: out of memory collecting results\n");
		return PW_CLI_EXIT_FAILURE;
	}
	/* Names are decoration: without memory for the table, the curated
	 * ones still show. */
	if (!so->no_services)
		(void)pw_services_load(&so->services, NULL);
	print_results(so, out, &st, (double)(pw_now_usec(CLOCK_MONOTONIC) - t0) / 1e6, interrupted);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "portwatch scan: writing the results failed\n");
		return PW_CLI_EXIT_FAILURE;
	}
	if (interrupted)
		return PW_CLI_EXIT_FAILURE;
	if (so->fail_open && (st.open > 0 || out->nwild > 0))
		return PW_CLI_EXIT_OPEN;
	return PW_CLI_EXIT_OK;
}

int pw_cli_verb_scan(int argc, char **argv, const struct pw_cli_env *env)
{
	struct scan_opts so = {
		.timing = {
			.initial_timeout_usec = USEC_PER_SEC,
			.min_timeout_usec = 100 * USEC_PER_MSEC,
			.max_timeout_usec = 3 * USEC_PER_SEC,
			.retries = 2,
			.max_retries = PW_SCAN_DEFAULT_MAX_RETRIES,
		},
		.canaries = PW_ENGINE_DEFAULT_CANARIES,
	};
	struct pw_scan_space space = { PW_ISET_INIT, PW_ISET_INIT };
	struct scan_out out = { .space = &space };
	struct pw_engine *e = NULL;
	const char *ports = "1-1024";
	struct target_acc targets = { .addrs = &space.addrs };
	int ret;

	if (getrandom_key(&so.key) < 0)
		so.key = pw_now_usec(CLOCK_REALTIME) ^ (uint64_t)getpid();
	ret = scan_parse_options(argc, argv, &so, &ports);
	if (ret != 0)
		return ret > 0 ? PW_CLI_EXIT_OK : PW_CLI_EXIT_USAGE;
	ret = scan_space(argc, argv, ports, &targets, &space);
	if (ret < 0) {
		out.nports = pw_iset_count(&space.ports);
		if (so.all)
			ret = scan_all_states(&out);
	}
	if (ret < 0) {
		so.progress = isatty(STDERR_FILENO);
		ret = scan_start(&so, &space, &out, &e) < 0 ? PW_CLI_EXIT_FAILURE
							    : scan_run(&so, e, &out);
	}
	pw_engine_free(e);
	pw_iset_done(&space.addrs);
	pw_iset_done(&space.ports);
	free(out.states);
	free(out.open);
	free(out.wild);
	pw_services_done(&so.services);
	for (size_t i = 0; i < targets.n_names; i++)
		free(targets.names[i]);
	free(targets.names);
	return ret;
}
