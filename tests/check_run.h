/* One way to run a Check suite, shared by every test program. */
#ifndef CONV1DT_TESTS_CHECK_RUN_H
#define CONV1DT_TESTS_CHECK_RUN_H

#include <check.h>

/* Runs the suite (forking per test, CK_NORMAL output, Check's summary line) and returns
 * EXIT_SUCCESS when no test failed, EXIT_FAILURE otherwise. */
int run_suite(Suite *suite);

#endif
