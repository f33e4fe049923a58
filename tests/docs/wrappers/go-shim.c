/* docs/error-handling.md: the shim that returns status and message together. */
#include <clv/clv.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* @SAMPLE@ */

int main(void)
{
    clv_model_options mo;
    clv_model_options_init(&mo);
    mo.input_size = 2;
    mo.hidden_size = 4;
    clv_model *m;
    clv_workspace *ws;
    if (clv_model_new(&m, &mo) != CLV_OK || clv_workspace_new(&ws) != CLV_OK)
        return 1;
    float x[3 * 2] = {1, 2, 3, 4, 5, 6}, out[1];
    int32_t len[1] = {3};
    char msg[256] = "";
    int ok = call_predict(m, ws, 1, 3, x, len, out, msg, sizeof msg) == CLV_OK;
    x[2] = NAN;
    int refused = call_predict(m, ws, 1, 3, x, len, out, msg, sizeof msg) == CLV_EINVAL;
    printf("good input: %s; NaN input: %s (%s)\n", ok ? "ok" : "failed",
           refused ? "refused" : "accepted", msg);
    clv_workspace_free(ws);
    clv_model_free(m);
    return ok && refused && strlen(msg) > 0 ? 0 : 1;
}
