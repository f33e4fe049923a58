/* docs/losses.md: the ZILN predictive mean and purchase probability. */
#include <clv/clv.h>
#include <math.h>
#include <stdio.h>

int main(void)
{
    enum { rows = 2 };
    const float pred[rows * 3] = {0.0f, 3.0f, 0.5f,  2.0f, 1.0f, -1.0f};
    float mean[rows], p_buy[rows];

    /* @SAMPLE@ */

    if (rc != CLV_OK || fabsf(p_buy[0] - 0.5f) > 1e-6f || !(mean[0] > 0.0f))
        return 1;
    printf("mean %.3f %.3f, P(buy) %.3f %.3f\n", mean[0], mean[1], p_buy[0], p_buy[1]);
    return 0;
}
