/*
 * test_query.c — the runs query language (server/model/query.c): filters,
 * sort keys, group-by and aggregate fields, what is refused and why.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/query.h"

static void test_query__filter_parse(void **state)
{
	wbs__filter f;
	wbs__sort s;
	char err[256];
	(void)state;

	assert_int_equal(wbs__filter_parse(&f, "config.optimizer.lr<=0.1", err, sizeof(err)), 0);
	assert_int_equal(f.field, WBS__QF_CONFIG);
	assert_int_equal(f.op, WBS__OP_LE);
	assert_true(f.is_num && f.num == 0.1);
	assert_int_equal(f.npaths, 1);
	assert_string_equal(f.paths[0], "$.\"optimizer\".\"lr\"");
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "summary.val/acc.max>0.9", err, sizeof(err)), 0);
	assert_int_equal(f.npaths, 3);
	assert_string_equal(f.paths[0], "$.\"val/acc\".\"max\"");
	assert_string_equal(f.paths[2], "$.\"val/acc.max\"");
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "name~Otter", err, sizeof(err)), 0);
	assert_int_equal(f.op, WBS__OP_SUB);
	assert_string_equal(f.text, "Otter");
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "state!=running", err, sizeof(err)), 0);
	assert_int_equal(f.op, WBS__OP_NE);
	assert_false(f.is_num);
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "config.fp16=true", err, sizeof(err)), 0);
	assert_true(f.is_num && f.num == 1);
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "tags=a=b", err, sizeof(err)), 0);
	assert_string_equal(f.text, "a=b");
	wbs__filter_free(&f);
	/* keys SQLite's path syntax cannot quote become a list of labels */
	assert_int_equal(wbs__filter_parse(&f, "config.a\"b.c\\d=1", err, sizeof(err)), 0);
	assert_int_equal(f.npaths, 1);
	assert_string_equal(f.paths[0], "[\"a\\\"b\",\"c\\\\d\"]");
	assert_int_equal(wbs__qpath_labels(f.paths[0]), 2);
	wbs__filter_free(&f);
	assert_int_equal(wbs__filter_parse(&f, "config.a.b=1", err, sizeof(err)), 0);
	assert_string_equal(f.paths[0], "$.\"a\".\"b\"");
	assert_int_equal(wbs__qpath_labels(f.paths[0]), 0);
	wbs__filter_free(&f);
	/* refused */
	assert_int_equal(wbs__filter_parse(&f, "bogus=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown filter field"));
	assert_int_equal(wbs__filter_parse(&f, "config.a\xff=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "config..a=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "config.=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "summary.=1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "tags<a", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "created_at~1", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "name", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "=x", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "name!x", err, sizeof(err)), -1);
	assert_int_equal(wbs__filter_parse(&f, "config.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q=1", err, sizeof(err)), -1);
	/* sort */
	assert_int_equal(wbs__sort_parse(&s, "-summary.loss", err, sizeof(err)), 0);
	assert_true(s.desc);
	assert_int_equal(s.field, WBS__QF_SUMMARY);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "created_at", err, sizeof(err)), 0);
	assert_false(s.desc);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "-duration", err, sizeof(err)), 0);
	assert_int_equal(s.field, WBS__QF_DURATION);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "tags", err, sizeof(err)), 0);
	assert_int_equal(s.field, WBS__QF_TAGS);
	wbs__sort_free(&s);
	assert_int_equal(wbs__sort_parse(&s, "metadata", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown sort field"));
	assert_int_equal(wbs__sort_parse(&s, "-", err, sizeof(err)), -1);
	/* group-by and aggregate fields */
	assert_int_equal(wbs__field_parse(&s, "user", WBS__QU_GROUP, err, sizeof(err)), 0);
	assert_int_equal(s.field, WBS__QF_USER);
	wbs__sort_free(&s);
	assert_int_equal(wbs__field_parse(&s, "config.opt.name", WBS__QU_GROUP, err, sizeof(err)), 0);
	assert_int_equal(s.npaths, 1);
	assert_string_equal(s.paths[0], "$.\"opt\".\"name\"");
	wbs__sort_free(&s);
	assert_int_equal(wbs__field_parse(&s, "duration", WBS__QU_GROUP, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown group_by field"));
	assert_int_equal(wbs__field_parse(&s, "duration", WBS__QU_AGG, err, sizeof(err)), 0);
	wbs__sort_free(&s);
	assert_int_equal(wbs__field_parse(&s, "state", WBS__QU_AGG, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown agg field"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query__filter_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
