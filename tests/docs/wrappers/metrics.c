/* docs/metrics.md: every metric on 200 customers with a noisy prediction. */
#include <clv/clv.h>
#include <stdio.h>

int main(void)
{
    enum { n = 200 };
    float pred[n], actual[n], p_buy[n], bought[n];
    for (int i = 0; i < n; i++) {
        actual[i] = (float)((i * 37) % 101);
        pred[i] = actual[i] * 0.8f + (float)((i * 53) % 17);
        bought[i] = actual[i] > 30.0f ? 1.0f : 0.0f;
        p_buy[i] = pred[i] / 120.0f;
    }

    /* @SAMPLE@ */

    return rc == CLV_OK && auc > 0.5 && count[0] == n / 10 ? 0 : 1;
}
