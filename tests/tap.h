/* tap.h - a small TAP producer for unit tests (on the model of collectd's
 * testing.h). Each DEF_TEST is a function; RUN_TEST runs it; every EXPECT
 * prints one "ok N - ..." or "not ok N - ..., want ..." line, and END_TEST
 * prints the plan and returns the exit status. */
#ifndef OB_TAP_H
#define OB_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n;
static int tap_failed;

#define DEF_TEST(name) static void test_##name(void)
#define RUN_TEST(name)                                                                   \
	do {                                                                             \
		printf("# %s\n", #name);                                                 \
		test_##name();                                                           \
	} while (0)
#define END_TEST                                                                         \
	do {                                                                             \
		printf("1..%d\n", tap_n);                                                \
		return tap_failed ? 1 : 0;                                               \
	} while (0)

#define TAP_RESULT(cond, ...)                                                            \
	do {                                                                             \
		int tap_ok_ = (cond);                                                    \
		printf("%s %d - ", tap_ok_ ? "ok" : "not ok", ++tap_n);                  \
		printf(__VA_ARGS__);                                                     \
		printf("\n");                                                            \
		if (!tap_ok_)                                                            \
			tap_failed++;                                                    \
	} while (0)

#define OK(cond) TAP_RESULT((cond), "%s (%s:%d)", #cond, __FILE__, __LINE__)

#define EXPECT_EQ_STR(want, got)                                                         \
	do {                                                                             \
		const char *w_ = (want), *g_ = (got);                                    \
		int ok_ = (w_ == NULL && g_ == NULL) ||                                  \
			  (w_ != NULL && g_ != NULL && strcmp(w_, g_) == 0);             \
		TAP_RESULT(ok_, "%s = \"%s\"%s%s%s (line %d)", #got, g_ ? g_ : "(null)",    \
			   ok_ ? "" : ", want \"", ok_ ? "" : (w_ ? w_ : "(null)"),       \
			   ok_ ? "" : "\"", __LINE__);                                    \
	} while (0)

#define EXPECT_EQ_INT(want, got)                                                         \
	do {                                                                             \
		intmax_t w_ = (intmax_t)(want), g_ = (intmax_t)(got);                    \
		if (w_ == g_)                                                            \
			TAP_RESULT(1, "%s = %jd (line %d)", #got, g_, __LINE__);          \
		else                                                                     \
			TAP_RESULT(0, "%s = %jd, want %jd (line %d)", #got, g_, w_,       \
				   __LINE__);                                            \
	} while (0)

/* The haystack contains the needle; prints both when it does not. */
#define EXPECT_CONTAINS(needle, hay)                                                     \
	do {                                                                             \
		const char *n_ = (needle), *h_ = (hay);                                  \
		int ok_ = h_ != NULL && strstr(h_, n_) != NULL;                          \
		TAP_RESULT(ok_, "%s contains \"%s\"%s%s%s (line %d)", #hay, n_,          \
			   ok_ ? "" : ", got \"", ok_ ? "" : (h_ ? h_ : "(null)"),        \
			   ok_ ? "" : "\"", __LINE__);                                    \
	} while (0)

#endif
