/*
 * test_common_wipe.c - wipe_grow keeps the bytes in use and refuses to
 * shrink below them; wipe_free takes NULL.  (That the old block is zeroed
 * cannot be observed after free() without undefined behaviour: it rests on
 * explicit_bzero, which the compiler may not remove.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/wipe.h"

static void
test_grow_keeps_content(void **state)
{
	(void)state;
	char *p = wipe_grow(NULL, 0, 8);

	assert_non_null(p);
	memcpy(p, "lab-uit", 8);
	p = wipe_grow(p, 8, 4096);
	assert_non_null(p);
	assert_string_equal(p, "lab-uit");
	p[4095] = 'x';		/* the whole new capacity is usable (ASan checks) */
	wipe_free(p, 4096);
}

static void
test_grow_refuses_shrink(void **state)
{
	(void)state;
	char *p = wipe_grow(NULL, 0, 16);

	assert_non_null(p);
	memset(p, 'a', 16);
	assert_null(wipe_grow(p, 16, 8));
	assert_int_equal(p[15], 'a');	/* untouched on failure */
	wipe_free(p, 16);
	wipe_free(NULL, 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_keeps_content),
		cmocka_unit_test(test_grow_refuses_shrink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
