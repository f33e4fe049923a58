/* docs/losses.md: a ZILN loss over four customers, one of them masked out. */
#include <clv/clv.h>
#include <math.h>
#include <stdio.h>

int main(void)
{
    enum { rows = 4 };
    float pred[rows * 3] = {0.5f, 3.0f, 0.2f,  -1.0f, 2.0f, 0.0f,  2.0f, 4.0f, -0.5f,  0.0f, 1.0f, 1.0f};
    float target[rows] = {25.0f, 0.0f, 80.0f, 10.0f};
    float weight[rows] = {1.0f, 1.0f, 2.0f, 1.0f};
    float mask[rows] = {1.0f, 1.0f, 1.0f, 0.0f};
    float grad[rows * 3];

    /* @SAMPLE@ */

    if (rc != CLV_OK || !isfinite(loss) || grad[9] != 0.0f)   /* masked row: no gradient */
        return 1;
    printf("ZILN loss %.4f\n", loss);
    return 0;
}
