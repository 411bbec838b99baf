/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * JSON output shared by the CLI, the alert hooks and the control socket.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Write s as a JSON string literal, quotes included (RFC 8259 section 7);
 * bytes that are not UTF-8 become U+FFFD, so the output is always JSON.
 */
void pw_json_string(FILE *f, const char *s);

/*
 * A streaming writer: each value goes out as soon as it is given, so a
 * document of a million rows costs no more memory than one of one row.
 * The writer, not its callers, knows whether a comma is due.
 *
 * Each container picks its own layout when it begins:
 *   PW_JSON_COMPACT  {"a":1,"b":[2,3]}            (what a hook reads)
 *   PW_JSON_INLINE   {"a": 1, "b": [2, 3]}        (one line, for people)
 *   PW_JSON_LINES    one member or element a line, indented two spaces a
 *                    level, the closing bracket on a line of its own;
 *                    "[]" or "{}" when empty
 *   PW_JSON_BLOCK    LINES, but the closing bracket takes a line of its
 *                    own even when empty ("[\n  ]"): scan's "ports" has
 *                    always looked so, and scripts may match it
 *
 * Misuse (a value where an object needs a key, an end that matches no
 * begin, nesting deeper than PW_JSON_DEPTH_MAX, a second top-level value)
 * writes nothing more and is reported by pw_json_done(), so callers check
 * once, at the end, instead of after every call.
 */
enum pw_json_layout {
	PW_JSON_COMPACT,
	PW_JSON_INLINE,
	PW_JSON_LINES,
	PW_JSON_BLOCK,
};

#define PW_JSON_DEPTH_MAX 16

/*
 * Not opaque so that it lives on the caller's stack: a writer then needs
 * no allocation and has no way to fail before it writes. Its fields are
 * the writer's own.
 */
struct pw_json {
	FILE *f;
	int error;      /* first misuse, -errno; sticky */
	unsigned depth; /* containers open */
	bool key_done;  /* a member's key is out: its value is next */
	bool top_done;  /* the one top-level value is complete */
	struct pw_json_level {
		enum pw_json_layout layout;
		bool object;
		bool any; /* has a member or element: the next needs a comma */
	} level[PW_JSON_DEPTH_MAX];
};

void pw_json_init(struct pw_json *j, FILE *f);

void pw_json_begin_object(struct pw_json *j, enum pw_json_layout layout);
void pw_json_end_object(struct pw_json *j);
void pw_json_begin_array(struct pw_json *j, enum pw_json_layout layout);
void pw_json_end_array(struct pw_json *j);

/* An object member's name; the next call writes its value. */
void pw_json_key(struct pw_json *j, const char *key);

/* Values: an array element, a member's value after pw_json_key(), or the document. */
void pw_json_str(struct pw_json *j, const char *s); /* NULL writes null */
void pw_json_int(struct pw_json *j, int64_t v);
void pw_json_uint(struct pw_json *j, uint64_t v);
void pw_json_bool(struct pw_json *j, bool v);
void pw_json_null(struct pw_json *j);
/* A value formatted by the caller, such as "%.3f": it must be valid JSON. */
void pw_json_raw(struct pw_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * 0 once the top-level value is complete; -EINVAL after misuse or while
 * a container is still open. Writes nothing: the caller adds any newline
 * and checks the FILE for write errors.
 */
int pw_json_done(const struct pw_json *j);
