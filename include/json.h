/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * JSON output shared by the CLI, the alert hooks and the control socket.
 */

#include <stdio.h>

/*
 * Write s as a JSON string literal, quotes included (RFC 8259 section 7);
 * bytes that are not UTF-8 become U+FFFD, so the output is always JSON.
 */
void pw_json_string(FILE *f, const char *s);
