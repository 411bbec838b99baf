/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"
#include "services.h"
#include "util.h"

static int cmp_service(const void *a, const void *b)
{
	const struct pw_service *x = a, *y = b;

	return (x->port > y->port) - (x->port < y->port);
}

static bool printable_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PW_SERVICE_NAME_MAX)
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

/* "name port/proto [aliases] [# comment]": the tcp port of the line, or 0. */
static uint16_t parse_line(char *line, char **ret_name)
{
	char *save = NULL, *name, *pp, *slash;
	uint64_t port;

	line[strcspn(line, "#\n")] = '\0';
	name = strtok_r(line, " \t", &save);
	pp = strtok_r(NULL, " \t", &save);
	if (!name || !pp || !(slash = strchr(pp, '/')) || strcmp(slash + 1, "tcp") != 0)
		return 0;
	*slash = '\0';
	if (pw_parse_u64(pp, 1, 65535, &port) < 0 || !printable_name(name))
		return 0;
	*ret_name = name;
	return (uint16_t)port;
}

static void free_table(struct pw_service *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* The first name of each port in file order (later ones are aliases in
 * effect); with one entry per port, sorting needs no stability. */
static int read_table(FILE *f, struct pw_service **ret_v, size_t *ret_n)
{
	_cleanup_free_ char *line = NULL;
	_cleanup_free_ uint64_t *seen = calloc(65536 / 64, sizeof(uint64_t));
	struct pw_service *v = NULL;
	size_t n = 0, cap = 0, len = 0;

	if (!seen)
		return -ENOMEM;
	while (getline(&line, &len, f) >= 0) {
		char *name;
		uint16_t port = parse_line(line, &name);

		if (port == 0 || (seen[port / 64] >> (port % 64) & 1))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct pw_service *nv = reallocarray(v, ncap, sizeof(*v));

			if (!nv)
				goto oom;
			v = nv;
			cap = ncap;
		}
		v[n].port = port;
		if (!(v[n].name = strdup(name)))
			goto oom;
		n++;
		seen[port / 64] |= UINT64_C(1) << (port % 64);
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_service);
	*ret_v = v;
	*ret_n = n;
	return 0;
oom:
	free_table(v, n);
	return -ENOMEM;
}

int pw_services_load(struct pw_services *s, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path ?: PW_SERVICES_FILE, "re");
	struct pw_service *v = NULL;
	size_t n = 0;
	int r;

	if (f) {
		r = read_table(f, &v, &n);
		if (r < 0)
			return r;
	}
	pw_services_done(s);
	s->v = v;
	s->n = n;
	return 0;
}

const char *pw_services_name(const struct pw_services *s, uint16_t port)
{
	const char *curated = pw_ports_common_name(port);
	struct pw_service key = { .port = port }, *hit;

	if (curated || port == 0 || s->n == 0)
		return curated;
	hit = bsearch(&key, s->v, s->n, sizeof(*s->v), cmp_service);
	return hit ? hit->name : NULL;
}

void pw_services_done(struct pw_services *s)
{
	free_table(s->v, s->n);
	*s = (struct pw_services)PW_SERVICES_INIT;
}
