/* Each public header must compile on its own (libgit2 tests/headertest idea).
 * tests/api/meson.build builds this once per header with
 * -DCLV_TEST_HEADER=<clv/NAME.h> -DCLV_TEST_ID=NAME. */
#include CLV_TEST_HEADER

#define HDR_CAT2(a, b) a##b
#define HDR_CAT(a, b) HDR_CAT2(a, b)
/* Something to define, since ISO C forbids an empty translation unit. */
extern const int HDR_CAT(clv_header_alone_, CLV_TEST_ID);
const int HDR_CAT(clv_header_alone_, CLV_TEST_ID) = 1;
