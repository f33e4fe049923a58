/* docs/losses.md: the per-step mask from sequence lengths. */
#include <clv/clv.h>
#include <stdio.h>

int main(void)
{
    enum { B = 2, T = 3 };
    const int32_t lengths[B] = {3, 1};
    float mask[B * T];

    /* @SAMPLE@ */

    const float want[B * T] = {1, 1, 1, 1, 0, 0};
    for (int i = 0; i < B * T; i++)
        if (mask[i] != want[i])
            return 1;
    return 0;
}
