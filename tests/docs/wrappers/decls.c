/* Declarations quoted in the docs: each must agree with the public headers,
 * or this file does not compile (conflicting types). */
#include <clv/clv.h>

/* @SAMPLE@ */

int main(void)
{
    return 0;
}
