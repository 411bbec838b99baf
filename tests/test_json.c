/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check-main.h"
#include "json-check.h"
#include "json.h"

/* A writer into memory; finish() returns what it wrote, checked to be JSON. */
struct doc {
	struct pw_json j;
	FILE *f;
	char *buf;
	size_t len;
};

static struct pw_json *start(struct doc *d)
{
	d->buf = NULL;
	d->len = 0;
	d->f = open_memstream(&d->buf, &d->len);
	ck_assert_ptr_nonnull(d->f);
	pw_json_init(&d->j, d->f);
	return &d->j;
}

static char *finish(struct doc *d)
{
	const char *why = NULL;

	ck_assert_int_eq(pw_json_done(&d->j), 0);
	ck_assert_int_eq(fclose(d->f), 0);
	ck_assert_msg(json_check(d->buf, d->len, &why, NULL), "%s: %s", why, d->buf);
	return d->buf;
}

/* The same document in every layout: {"a": 1, "b": [true, null], "c": {}} */
static char *sample(enum pw_json_layout layout)
{
	struct doc d;
	struct pw_json *j = start(&d);

	pw_json_begin_object(j, layout);
	pw_json_key(j, "a");
	pw_json_int(j, 1);
	pw_json_key(j, "b");
	pw_json_begin_array(j, layout);
	pw_json_bool(j, true);
	pw_json_null(j);
	pw_json_end_array(j);
	pw_json_key(j, "c");
	pw_json_begin_object(j, layout);
	pw_json_end_object(j);
	pw_json_end_object(j);
	return finish(&d);
}

START_TEST(layouts)
{
	static const struct {
		enum pw_json_layout layout;
		const char *out;
	} t[] = {
		{ PW_JSON_COMPACT, "{\"a\":1,\"b\":[true,null],\"c\":{}}" },
		{ PW_JSON_INLINE, "{\"a\": 1, \"b\": [true, null], \"c\": {}}" },
		{ PW_JSON_LINES, "{\n"
				 "  \"a\": 1,\n"
				 "  \"b\": [\n"
				 "    true,\n"
				 "    null\n"
				 "  ],\n"
				 "  \"c\": {}\n"
				 "}" },
		{ PW_JSON_BLOCK, "{\n"
				 "  \"a\": 1,\n"
				 "  \"b\": [\n"
				 "    true,\n"
				 "    null\n"
				 "  ],\n"
				 "  \"c\": {\n"
				 "  }\n"
				 "}" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *got = sample(t[i].layout);

		ck_assert_str_eq(got, t[i].out);
		free(got);
	}
}
END_TEST

/* Each container keeps its own layout and comma state, whatever its parent's. */
START_TEST(nesting)
{
	struct doc d;
	struct pw_json *j = start(&d);
	char *got;

	pw_json_begin_object(j, PW_JSON_LINES);
	pw_json_key(j, "rows");
	pw_json_begin_array(j, PW_JSON_LINES);
	for (int i = 0; i < 2; i++) {
		pw_json_begin_object(j, PW_JSON_INLINE);
		pw_json_key(j, "n");
		pw_json_int(j, i);
		pw_json_key(j, "tags");
		pw_json_begin_array(j, PW_JSON_COMPACT);
		pw_json_str(j, "x");
		pw_json_begin_array(j, PW_JSON_INLINE);
		pw_json_end_array(j);
		pw_json_str(j, "y");
		pw_json_end_array(j);
		pw_json_end_object(j);
	}
	pw_json_end_array(j);
	pw_json_key(j, "empty");
	pw_json_begin_array(j, PW_JSON_LINES);
	pw_json_end_array(j);
	pw_json_key(j, "last");
	pw_json_str(j, NULL);
	pw_json_end_object(j);
	got = finish(&d);
	ck_assert_str_eq(got, "{\n"
			      "  \"rows\": [\n"
			      "    {\"n\": 0, \"tags\": [\"x\",[],\"y\"]},\n"
			      "    {\"n\": 1, \"tags\": [\"x\",[],\"y\"]}\n"
			      "  ],\n"
			      "  \"empty\": [],\n"
			      "  \"last\": null\n"
			      "}");
	free(got);
}
END_TEST

/* Keys and values are quoted alike: escapes, control bytes, broken UTF-8. */
START_TEST(escaping)
{
	struct doc d;
	struct pw_json *j = start(&d);
	char *got;

	pw_json_begin_object(j, PW_JSON_COMPACT);
	pw_json_key(j, "k\"\\");
	pw_json_str(j, "tab\tnl\ncr\r\x01");
	pw_json_key(j, "caf\xc3\xa9");
	pw_json_str(j, "bad\xff\xc3(\xed\xa0\x80");
	pw_json_key(j, "");
	pw_json_str(j, "");
	pw_json_end_object(j);
	got = finish(&d);
	ck_assert_str_eq(got, "{\"k\\\"\\\\\":\"tab\\tnl\\ncr\\r\\u0001\","
			      "\"caf\xc3\xa9\":\"bad\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\","
			      "\"\":\"\"}");
	free(got);
}
END_TEST

START_TEST(numbers)
{
	struct doc d;
	struct pw_json *j = start(&d);
	char *got;

	pw_json_begin_array(j, PW_JSON_INLINE);
	pw_json_int(j, INT64_MIN);
	pw_json_int(j, -1);
	pw_json_int(j, 0);
	pw_json_uint(j, UINT64_MAX);
	pw_json_raw(j, "%.3f", 1.5);
	pw_json_bool(j, false);
	pw_json_end_array(j);
	got = finish(&d);
	ck_assert_str_eq(got, "[-9223372036854775808, -1, 0, 18446744073709551615, 1.500, false]");
	free(got);
}
END_TEST

/* A scalar, or an empty container, is a whole document too. */
START_TEST(top_level)
{
	static const struct {
		enum pw_json_layout layout;
		bool object;
		const char *out;
	} t[] = {
		{ PW_JSON_COMPACT, false, "[]" }, { PW_JSON_INLINE, true, "{}" },
		{ PW_JSON_LINES, false, "[]" },   { PW_JSON_LINES, true, "{}" },
		{ PW_JSON_BLOCK, false, "[\n]" }, { PW_JSON_BLOCK, true, "{\n}" },
	};
	struct doc d;
	char *got;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct pw_json *j = start(&d);

		if (t[i].object) {
			pw_json_begin_object(j, t[i].layout);
			pw_json_end_object(j);
		} else {
			pw_json_begin_array(j, t[i].layout);
			pw_json_end_array(j);
		}
		got = finish(&d);
		ck_assert_str_eq(got, t[i].out);
		free(got);
	}
	start(&d);
	pw_json_str(&d.j, "alone");
	got = finish(&d);
	ck_assert_str_eq(got, "\"alone\"");
	free(got);
}
END_TEST

/* The comma state survives many items and closed children. */
START_TEST(commas)
{
	struct doc d;
	struct pw_json *j = start(&d);
	char *got, *p;
	size_t n = 0;

	pw_json_begin_array(j, PW_JSON_COMPACT);
	for (int i = 0; i < 1000; i++) {
		if (i % 3 == 0) {
			pw_json_begin_object(j, PW_JSON_COMPACT);
			pw_json_end_object(j);
		} else {
			pw_json_uint(j, (uint64_t)i);
		}
	}
	pw_json_end_array(j);
	got = finish(&d);
	for (p = got; *p; p++)
		n += *p == ',';
	ck_assert_uint_eq(n, 999);
	ck_assert_ptr_null(strstr(got, ",,"));
	ck_assert_int_eq(strncmp(got, "[{},1,2,{},4,", 13), 0);
	free(got);
}
END_TEST

/* Misuse writes nothing more and is reported once, at the end. */
static void misuse_value_without_key(struct pw_json *j)
{
	pw_json_begin_object(j, PW_JSON_COMPACT);
	pw_json_int(j, 1);
}

static void misuse_key_in_array(struct pw_json *j)
{
	pw_json_begin_array(j, PW_JSON_COMPACT);
	pw_json_key(j, "a");
}

static void misuse_two_keys(struct pw_json *j)
{
	pw_json_begin_object(j, PW_JSON_COMPACT);
	pw_json_key(j, "a");
	pw_json_key(j, "b");
}

static void misuse_key_without_value(struct pw_json *j)
{
	pw_json_begin_object(j, PW_JSON_COMPACT);
	pw_json_key(j, "a");
	pw_json_end_object(j);
}

static void misuse_wrong_end(struct pw_json *j)
{
	pw_json_begin_object(j, PW_JSON_COMPACT);
	pw_json_end_array(j);
}

static void misuse_end_at_top(struct pw_json *j)
{
	pw_json_end_array(j);
}

static void misuse_two_documents(struct pw_json *j)
{
	pw_json_null(j);
	pw_json_null(j);
}

static void misuse_too_deep(struct pw_json *j)
{
	for (int i = 0; i <= PW_JSON_DEPTH_MAX; i++)
		pw_json_begin_array(j, PW_JSON_COMPACT);
}

START_TEST(misuse)
{
	static const struct {
		void (*fn)(struct pw_json *j);
		const char *out; /* what was written before the misuse */
	} t[] = {
		{ misuse_value_without_key, "{" }, { misuse_key_in_array, "[" },
		{ misuse_two_keys, "{\"a\":" },    { misuse_key_without_value, "{\"a\":" },
		{ misuse_wrong_end, "{" },         { misuse_end_at_top, "" },
		{ misuse_two_documents, "null" },  { misuse_too_deep, "[[[[[[[[[[[[[[[[" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct doc d;
		struct pw_json *j = start(&d);

		t[i].fn(j);
		/* sticky: a correct call afterwards does not write either */
		pw_json_null(j);
		pw_json_end_array(j);
		ck_assert_int_eq(pw_json_done(j), -EINVAL);
		ck_assert_int_eq(fclose(d.f), 0);
		ck_assert_msg(strcmp(d.buf, t[i].out) == 0, "case %zu: wrote \"%s\", not \"%s\"", i,
			      d.buf, t[i].out);
		free(d.buf);
	}
}
END_TEST

/* A document is done only when its value is complete. */
START_TEST(unfinished)
{
	struct doc d;
	struct pw_json *j = start(&d);

	ck_assert_int_eq(pw_json_done(j), -EINVAL);
	pw_json_begin_array(j, PW_JSON_COMPACT);
	pw_json_int(j, 1);
	ck_assert_int_eq(pw_json_done(j), -EINVAL);
	pw_json_end_array(j);
	ck_assert_int_eq(pw_json_done(j), 0);
	ck_assert_int_eq(fclose(d.f), 0);
	ck_assert_str_eq(d.buf, "[1]");
	free(d.buf);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, layouts);
	tcase_add_test(tc, nesting);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, top_level);
	tcase_add_test(tc, commas);
	tcase_add_test(tc, misuse);
	tcase_add_test(tc, unfinished);
	suite_add_tcase(s, tc);
	return s;
}

PW_CHECK_MAIN(json_suite)
