/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "control.h"
#include "util.h"

struct client {
	struct client *next;
	struct pw_control *c;
	int fd;
	bool allowed;
	sd_event_source *io, *timer;
	/* the reply being sent: reply_off bytes of it are out; then the end */
	char *reply;
	size_t reply_len, reply_off;
	bool ended;
};

struct pw_control {
	sd_event *event;
	char *path;
	int fd;
	sd_event_source *io;
	pw_control_handler_t handler;
	void *userdata;
	struct client *clients;
	unsigned n_clients;
};

static int make_addr(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	memcpy(sa->sun_path, path, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static void client_free(struct client *cl)
{
	struct pw_control *c = cl->c;

	for (struct client **p = &c->clients; *p; p = &(*p)->next)
		if (*p == cl) {
			*p = cl->next;
			c->n_clients--;
			break;
		}
	sd_event_source_disable_unref(cl->io);
	sd_event_source_disable_unref(cl->timer);
	close(cl->fd);
	free(cl->reply);
	free(cl);
}

/* One message of one NUL byte: text replies never hold one. */
static const char end_marker[1] = { '\0' };

/* Best effort: a SEQPACKET reply this small fits the socket buffer. */
static void send_reply(int fd, const char *msg)
{
	(void)send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)send(fd, end_marker, sizeof(end_marker), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * Send what the socket takes of cl's reply, in messages of at most
 * PW_CONTROL_REPLY_CHUNK bytes, then the end marker. 1: all sent; 0: the
 * socket is full (wait for EPOLLOUT); -errno: the client is gone.
 */
static int flush_reply(struct client *cl)
{
	while (!cl->ended) {
		size_t left = cl->reply_len - cl->reply_off;
		size_t n = left < PW_CONTROL_REPLY_CHUNK ? left : PW_CONTROL_REPLY_CHUNK;
		const char *p = left ? cl->reply + cl->reply_off : end_marker;
		ssize_t k = send(cl->fd, p, left ? n : sizeof(end_marker),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (left)
			cl->reply_off += n;
		else
			cl->ended = true;
	}
	return 1;
}

/* Take reply (malloc()ed) and start sending it; frees cl once it is out. */
static void start_reply(struct client *cl, char *reply)
{
	if (!reply || !*reply || strlen(reply) > PW_CONTROL_MAX_REPLY) {
		bool too_long = reply && *reply;

		free(reply);
		reply = strdup(too_long ? "error: reply too long" : "ok");
		if (!reply) {
			client_free(cl);
			return;
		}
	}
	cl->reply = reply;
	cl->reply_len = strlen(reply);
	if (flush_reply(cl) != 0 || sd_event_source_set_io_events(cl->io, EPOLLOUT) < 0)
		client_free(cl);
}

/* Read the one request: 1 and buf (NUL-terminated, line end cut) when it
 * came, 0 when nothing is there yet, -1 when the client is gone. */
static int read_request(int fd, char buf[static PW_CONTROL_MAX_MSG + 1])
{
	ssize_t n = recv(fd, buf, PW_CONTROL_MAX_MSG, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	/* a NUL inside: "malformed" for the caller, by length */
	return strlen(buf) == (size_t)n ? 1 : 2;
}

static int on_client(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct client *cl = userdata;
	struct pw_control *c = cl->c;
	char buf[PW_CONTROL_MAX_MSG + 1];
	char *reply = NULL;
	int r;

	if (cl->reply) {
		if (flush_reply(cl) != 0)
			client_free(cl);
		return 0;
	}
	r = read_request(fd, buf);
	if (r <= 0) {
		if (r < 0)
			client_free(cl);
		return 0;
	}
	/* Refused only now that its request is read: closing a socket with
	 * unread data resets the connection and the peer would never see why. */
	if (!cl->allowed)
		reply = strdup("error: permission denied");
	else if (r == 2)
		reply = strdup("error: malformed request");
	else if ((r = c->handler(c->userdata, buf, &reply)) < 0 &&
		 asprintf(&reply, "error: %s", strerror(-r)) < 0)
		reply = NULL;
	if (!reply) {
		client_free(cl);
		return 0;
	}
	start_reply(cl, reply);
	return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	client_free(userdata);
	return 0;
}

static bool peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return false;
	return cred.uid == 0 || cred.uid == geteuid();
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct pw_control *c = userdata;
	struct client *cl;
	int cfd, r;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0)
		return 0; /* EAGAIN, or the peer left already */
	if (c->n_clients >= PW_CONTROL_MAX_CLIENTS) {
		char buf[PW_CONTROL_MAX_MSG];

		(void)recv(cfd, buf, sizeof(buf), MSG_DONTWAIT);
		send_reply(cfd, "error: busy, try again");
		close(cfd);
		return 0;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(cfd);
		return 0;
	}
	cl->c = c;
	cl->fd = cfd;
	cl->allowed = peer_allowed(cfd);
	cl->next = c->clients;
	c->clients = cl;
	c->n_clients++;
	r = sd_event_add_io(c->event, &cl->io, cfd, EPOLLIN, on_client, cl);
	if (r >= 0)
		r = sd_event_add_time_relative(c->event, &cl->timer, CLOCK_MONOTONIC,
					       PW_CONTROL_CLIENT_TIMEOUT_USEC, 0, on_client_timeout,
					       cl);
	if (r < 0)
		client_free(cl);
	return 0;
}

/* Whether someone accepts connections on path. */
static bool socket_is_live(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, len) == 0;
	close(fd);
	return live;
}

/* Refuses a path that is not a socket, or one another daemon listens on. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sa, socklen_t len)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (socket_is_live(sa, len))
		return -EADDRINUSE;
	/* left by a daemon that did not stop cleanly */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * Bound under a temporary name and renamed into place once it listens:
 * a client that sees the file can connect (no ECONNREFUSED window while
 * the daemon starts). A path with no room for the suffix is bound as is.
 */
static int bind_and_listen(int fd, const char *path, const struct sockaddr_un *sa, socklen_t len)
{
	struct sockaddr_un tmp;
	char tmp_path[sizeof(tmp.sun_path) + 32];
	socklen_t tmp_len;
	mode_t old;
	int r;

	snprintf(tmp_path, sizeof(tmp_path), "%s.%d.tmp", path, (int)getpid());
	if (make_addr(tmp_path, &tmp, &tmp_len) < 0) {
		snprintf(tmp_path, sizeof(tmp_path), "%s", path);
		tmp = *sa;
		tmp_len = len;
	} else {
		(void)unlink(tmp_path); /* left by a crash of a process with this pid */
	}
	/* created 0600: the mode comes from the umask at bind() */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&tmp, tmp_len) < 0 ? -errno : 0;
	umask(old);
	if (r < 0)
		return r;
	if (listen(fd, 8) < 0 || (strcmp(tmp_path, path) != 0 && rename(tmp_path, path) < 0)) {
		r = -errno;
		unlink(tmp_path);
		return r;
	}
	return 0;
}

int pw_control_new(sd_event *event, const char *path, pw_control_handler_t handler, void *userdata,
		   struct pw_control **ret)
{
	struct sockaddr_un sa;
	struct pw_control *c;
	socklen_t len;
	int r;

	r = make_addr(path, &sa, &len);
	if (r < 0)
		return r;
	r = remove_stale_socket(path, &sa, len);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->handler = handler;
	c->userdata = userdata;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		return -ENOMEM;
	}
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = bind_and_listen(c->fd, path, &sa, len);
	if (r < 0)
		goto fail;
	c->event = sd_event_ref(event);
	r = sd_event_add_io(event, &c->io, c->fd, EPOLLIN, on_accept, c);
	if (r < 0) {
		unlink(path);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	pw_control_free(c);
	return r;
}

struct pw_control *pw_control_free(struct pw_control *c)
{
	if (!c)
		return NULL;
	while (c->clients)
		client_free(c->clients);
	sd_event_source_disable_unref(c->io);
	if (c->fd >= 0) {
		close(c->fd);
		if (c->event)
			(void)unlink(c->path); /* only a socket this process bound */
	}
	sd_event_unref(c->event);
	free(c->path);
	free(c);
	return NULL;
}

/* Control characters (but the line ends) shown as '?': a reply is printed
 * to a terminal, and must not drive it (escape sequences). */
static void sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			*p = '?';
}

/*
 * Read reply messages up to the end marker. A single message of at most
 * PW_CONTROL_MAX_MSG bytes and then the end of the connection is a
 * whole reply too: what a daemon from before the marker sends.
 */
static int read_reply(int fd, uint64_t timeout_usec, char **ret_reply)
{
	uint64_t end = pw_now_usec(CLOCK_MONOTONIC) + timeout_usec;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, n_msgs = 0;

	for (;;) {
		uint64_t now = pw_now_usec(CLOCK_MONOTONIC);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nb;
		int r;

		if (now >= end)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((end - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		nb = realloc(buf, len + PW_CONTROL_REPLY_CHUNK + 1);
		if (!nb)
			return -ENOMEM;
		buf = nb;
		n = recv(fd, buf + len, PW_CONTROL_REPLY_CHUNK, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 && !(n_msgs == 1 && len <= PW_CONTROL_MAX_MSG))
			return -ECONNRESET; /* gone before the end: a partial reply */
		if (n == 0 || (n == 1 && buf[len] == '\0'))
			break;
		if (n > PW_CONTROL_REPLY_CHUNK || len + (size_t)n > PW_CONTROL_MAX_REPLY)
			return -EMSGSIZE;
		len += (size_t)n;
		n_msgs++;
	}
	buf[len] = '\0';
	sanitize(buf);
	*ret_reply = TAKE_PTR(buf);
	return 0;
}

/*
 * Whoever listens on path answers for the daemon: in a directory others
 * may write to (a sticky /tmp) that can be anyone who bound it first.
 * Trust only root and this user; the listener's credentials are those of
 * its listen() (unix(7), SO_PEERCRED).
 */
static int check_server(int fd, const char *path, char **ret_error)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EPROTO;
	if (cred.uid == 0 || cred.uid == geteuid())
		return 0;
	if (ret_error && asprintf(ret_error,
				  "control socket %s is served by uid %u, not root%s: refusing to "
				  "trust it",
				  path, (unsigned)cred.uid, geteuid() == 0 ? "" : " or you") < 0)
		*ret_error = NULL;
	return -EPERM;
}

int pw_control_request(const char *path, const char *request, uint64_t timeout_usec,
		       char **ret_reply, char **ret_error)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	r = make_addr(path, &sa, &len);
	if (r < 0)
		return r;
	if (strlen(request) > PW_CONTROL_MAX_MSG)
		return -EMSGSIZE;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		return -errno;
	r = check_server(fd, path, ret_error);
	if (r < 0)
		return r;
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
		return -errno;
	return read_reply(fd, timeout_usec, ret_reply);
}
