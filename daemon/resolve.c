/* SPDX-License-Identifier: MIT */
/*
 * One thread per request, because a request is one job's run: few at a
 * time, each a handful of names. The thread and the owner share the
 * request through a reference count; the last one out frees it, which is
 * what lets the owner walk away from a lookup stuck in getaddrinfo.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "resolve.h"
#include "targets.h"
#include "util.h"

struct pw_resolve {
	atomic_int refs;
	atomic_bool cancelled; /* the owner left: stop after this name */
	atomic_bool done;      /* the thread has written result/failed/error */
	int evfd;
	pw_resolve_lookup_cb_t fn;
	char **names;
	size_t n_names;
	struct pw_iset exclude;
	/* written by the thread before done, read by the owner after */
	struct pw_iset result;
	unsigned failed;
	int error;
	bool taken;
};

static void request_free(struct pw_resolve *r)
{
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	free(r->names);
	pw_iset_done(&r->exclude);
	pw_iset_done(&r->result);
	if (r->evfd >= 0)
		close(r->evfd);
	free(r);
}

static void request_unref(struct pw_resolve *r)
{
	if (atomic_fetch_sub(&r->refs, 1) == 1)
		request_free(r);
}

/* Name by name, so that a dropped request stops at the next name. */
static int resolve_all(struct pw_resolve *r)
{
	int k;

	for (size_t i = 0; i < r->n_names && !atomic_load(&r->cancelled); i++) {
		struct pw_iset one = PW_ISET_INIT;

		k = r->fn(&r->names[i], 1, NULL, &one, NULL);
		if (k < 0)
			return k;
		r->failed += (unsigned)k;
		k = pw_iset_add_set(&r->result, &one);
		pw_iset_done(&one);
		if (k < 0)
			return k;
	}
	return pw_iset_subtract(&r->result, &r->exclude);
}

static void *resolve_main(void *arg)
{
	struct pw_resolve *r = arg;

	r->error = resolve_all(r);
	atomic_store(&r->done, true);
	(void)eventfd_write(r->evfd, 1);
	request_unref(r);
	return NULL;
}

static int request_new(char *const *names, size_t n_names, const struct pw_iset *exclude,
		       pw_resolve_lookup_cb_t fn, struct pw_resolve **ret)
{
	struct pw_resolve *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	*r = (struct pw_resolve){ .evfd = -EBADF,
				  .fn = fn ?: pw_targets_resolve,
				  .exclude = PW_ISET_INIT,
				  .result = PW_ISET_INIT };
	atomic_init(&r->refs, 1);
	r->names = calloc(n_names ? n_names : 1, sizeof(*r->names));
	if (!r->names)
		goto oom;
	for (; r->n_names < n_names; r->n_names++)
		if (!(r->names[r->n_names] = strdup(names[r->n_names])))
			goto oom;
	if (exclude && pw_iset_copy(&r->exclude, exclude) < 0)
		goto oom;
	r->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->evfd < 0) {
		int e = -errno;

		request_free(r);
		return e;
	}
	*ret = r;
	return 0;
oom:
	request_free(r);
	return -ENOMEM;
}

int pw_resolve_start(char *const *names, size_t n_names, const struct pw_iset *exclude,
		     pw_resolve_lookup_cb_t fn, struct pw_resolve **ret)
{
	struct pw_resolve *r = NULL;
	pthread_attr_t attr;
	pthread_t thread;
	sigset_t all, old;
	int e;

	e = request_new(names, n_names, exclude, fn, &r);
	if (e < 0)
		return e;
	atomic_store(&r->refs, 2); /* the owner's and the thread's */
	/* The daemon takes its signals through sd-event (signalfd): the
	 * thread must not be the one they are delivered to. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_attr_init(&attr);
	if (e == 0) {
		(void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		e = pthread_create(&thread, &attr, resolve_main, r);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		request_free(r);
		return -e;
	}
	*ret = r;
	return 0;
}

int pw_resolve_fd(const struct pw_resolve *r)
{
	return r->evfd;
}

int pw_resolve_result(struct pw_resolve *r, struct pw_iset *ret_addrs, unsigned *ret_failed)
{
	if (!atomic_load(&r->done))
		return -EAGAIN;
	if (r->taken)
		return -EALREADY;
	r->taken = true;
	if (r->error < 0)
		return r->error;
	*ret_addrs = r->result;
	r->result = (struct pw_iset)PW_ISET_INIT;
	*ret_failed = r->failed;
	return 0;
}

void pw_resolve_free(struct pw_resolve *r)
{
	if (!r)
		return;
	atomic_store(&r->cancelled, true);
	request_unref(r);
}
