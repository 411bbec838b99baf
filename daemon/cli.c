/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cli.h"

/* One pointer per port: getservbyport(3) rereads the file on every call,
 * which costs seconds when a --all listing names 65535 ports. */
static char **services;
static bool services_loaded;

static void services_load(void)
{
	struct servent *se;

	services_loaded = true;
	services = calloc(65536, sizeof(*services));
	if (!services)
		return;
	setservent(0);
	while ((se = getservent())) {
		uint16_t port = ntohs((uint16_t)se->s_port);

		if (!se->s_proto || strcmp(se->s_proto, "tcp") != 0 || services[port])
			continue;
		services[port] = strdup(se->s_name); /* NULL on ENOMEM: no name */
	}
	endservent();
}

const char *pw_cli_service_name(uint16_t port)
{
	if (!services_loaded)
		services_load();
	return services ? services[port] : NULL;
}

void pw_cli_services_free(void)
{
	if (services) {
		for (size_t i = 0; i < 65536; i++)
			free(services[i]);
		free(services);
	}
	services = NULL;
	services_loaded = false;
}

void pw_cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}
