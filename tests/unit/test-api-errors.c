/* Argument validation of every public entry point, through the public API only.
 *
 * Every error case checks three things: the exact documented status, that
 * clv_last_error() says something (and, where the contract says so, names the
 * offending field or index), and that nothing crashed or leaked (run once
 * under valgrind with CK_FORK=no). clv_clear_error() runs before each call
 * under test, so the message checked is the one that call produced.
 *
 * The whole process runs on a tracking allocator (installed in main() before
 * any libclv object exists, as clv_set_allocator() requires). It wraps
 * malloc/free, records the largest request and refuses any request above
 * HUGE_REQUEST, so the overflow tests can prove that hostile sizes are
 * rejected before anything large is allocated. */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clv/clv.h>

#include "test-common.h"

#define NB 2u   /* batch */
#define NT 4u   /* steps */
#define NF 3u   /* input_size */
#define NH 4u   /* hidden_size */
#define NS 2u   /* static_size */

/* ------------------------------------------------------------------ */
/* Tracking allocator                                                  */

#define HUGE_REQUEST ((size_t)64 << 20)

static size_t g_allocs;
static size_t g_largest;

static void *track_alloc(size_t n, void *user)
{
    (void)user;
    g_allocs++;
    if (n > g_largest) g_largest = n;
    return n > HUGE_REQUEST ? NULL : malloc(n);
}

static void track_free(void *p, void *user)
{
    (void)user;
    free(p);
}

static void track_reset(void)
{
    g_allocs = 0;
    g_largest = 0;
}

#define EXPECT_NO_HUGE_ALLOC(what)                                                          \
    ck_assert_msg(g_largest <= HUGE_REQUEST, "%s: a %zu-byte allocation was requested", (what), \
                  g_largest)

/* ------------------------------------------------------------------ */
/* Assertion helpers                                                   */

static void expect_err_at(const char *file, int line, const char *expr, int want, int got,
                          const char *const *needles)
{
    const char *msg = clv_last_error();
    ck_assert_msg(msg != NULL, "%s:%d: %s: clv_last_error() is NULL", file, line, expr);
    ck_assert_msg(got == want, "%s:%d: %s returned %d (%s), expected %d (%s); message \"%s\"", file,
                  line, expr, got, clv_status_str(got), want, clv_status_str(want), msg);
    ck_assert_msg(msg[0] != '\0', "%s:%d: %s failed with an empty clv_last_error()", file, line,
                  expr);
    ck_assert_msg(clv_last_error_code() == want, "%s:%d: %s: clv_last_error_code() = %d, expected %d",
                  file, line, expr, clv_last_error_code(), want);
    for (; needles && *needles; needles++)
        ck_assert_msg(strstr(msg, *needles) != NULL,
                      "%s:%d: %s: message \"%s\" does not mention \"%s\"", file, line, expr, msg,
                      *needles);
}

/* Status + non-empty message. */
#define EXPECT_ERR(want, call)                                              \
    do {                                                                    \
        clv_clear_error();                                                  \
        int rc_ = (call);                                                   \
        expect_err_at(__FILE__, __LINE__, #call, (want), rc_, NULL);        \
    } while (0)

/* Status + message containing every listed string. */
#define EXPECT_ERR_MSG(want, call, ...)                                     \
    do {                                                                    \
        static const char *const needles_[] = { __VA_ARGS__, NULL };        \
        clv_clear_error();                                                  \
        int rc_ = (call);                                                   \
        expect_err_at(__FILE__, __LINE__, #call, (want), rc_, needles_);    \
    } while (0)

#define EXPECT_OK(call)                                                                        \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        ck_assert_msg(rc_ == CLV_OK, "%s returned %d (%s): %s", #call, rc_, clv_status_str(rc_), \
                      clv_last_error());                                                       \
    } while (0)

/* Non-zero when `msg` contains the decimal `v` not embedded in a longer number. */
static int has_number(const char *msg, unsigned long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", v);
    size_t n = strlen(buf);
    for (const char *p = strstr(msg, buf); p; p = strstr(p + 1, buf)) {
        int before = p > msg && isdigit((unsigned char)p[-1]);
        int after = isdigit((unsigned char)p[n]) != 0;
        if (!before && !after) return 1;
    }
    return 0;
}

#define EXPECT_MSG_NUMBER(v)                                                                   \
    ck_assert_msg(has_number(clv_last_error(), (unsigned long long)(v)),                       \
                  "message \"%s\" does not mention %llu", clv_last_error(), (unsigned long long)(v))

static void expect_floats_eq(const float *a, const float *b, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(a[i] == b[i], "%s[%zu]: %.9g != %.9g", what, i, (double)a[i], (double)b[i]);
}

static void expect_all_finite(const float *a, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(isfinite(a[i]), "%s[%zu] = %g is not finite", what, i, (double)a[i]);
}

/* A non-NULL pointer that must be overwritten with NULL on failure. */
static int sentinel_obj;
#define SENTINEL_PTR ((void *)&sentinel_obj)

/* Everything a test creates is registered here and released by the checked
 * teardown, which Check runs even after a failed assertion (with CK_FORK=no
 * too), so valgrind reports only the library's own leaks. */
enum { OWN_HEAP, OWN_MODEL, OWN_WORKSPACE, OWN_OPTIM };
#define MAX_OWNED 64
static struct { int kind; void *p; } g_owned[MAX_OWNED];
static size_t g_nowned;

static void *own(int kind, void *p)
{
    ck_assert_msg(g_nowned < MAX_OWNED, "too many objects in one test");
    g_owned[g_nowned].kind = kind;
    g_owned[g_nowned].p = p;
    g_nowned++;
    return p;
}

static void release_all(void)
{
    while (g_nowned > 0) {
        g_nowned--;
        void *p = g_owned[g_nowned].p;
        switch (g_owned[g_nowned].kind) {
        case OWN_MODEL: clv_model_free(p); break;
        case OWN_WORKSPACE: clv_workspace_free(p); break;
        case OWN_OPTIM: clv_optim_free(p); break;
        default: free(p); break;
        }
    }
}

/* Zeroed test memory, released by the teardown. */
static void *test_alloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    ck_assert_ptr_nonnull(p);
    return own(OWN_HEAP, p);
}

/* ------------------------------------------------------------------ */
/* Fixture helpers                                                     */

static void base_options(clv_model_options *o)
{
    clv_model_options_init(o);
    o->input_size = NF;
    o->hidden_size = NH;
}

static clv_model *make_model(int32_t cell, uint32_t layers, uint32_t stat, uint32_t final_outputs,
                             uint32_t step_outputs)
{
    clv_model_options o;
    base_options(&o);
    o.cell = cell;
    o.num_layers = layers;
    o.static_size = stat;
    o.final_outputs = final_outputs;
    o.step_outputs = step_outputs;
    o.seed = 3;
    clv_model *m = NULL;
    EXPECT_OK(clv_model_new(&m, &o));
    ck_assert_ptr_nonnull(m);
    return own(OWN_MODEL, m);
}

/* Final head only (1 output), no static features. */
static clv_model *make_final_model(void) { return make_model(CLV_CELL_LSTM, 1, 0, 1, 0); }
/* Per-step head only (2 outputs), no static features. */
static clv_model *make_step_model(void) { return make_model(CLV_CELL_LSTM, 1, 0, 0, 2); }

static float *get_params_copy(clv_model *m)
{
    uint64_t n = clv_model_param_count(m);
    float *p = test_alloc(n * sizeof *p);
    EXPECT_OK(clv_model_get_params(m, p, n));
    return p;
}

static void expect_params_unchanged(clv_model *m, const float *before)
{
    float *now = get_params_copy(m);
    uint64_t n = clv_model_param_count(m);
    ck_assert_msg(memcmp(now, before, n * sizeof *now) == 0, "parameters changed");
}

/* The three forward-style entry points share their argument checks; loop tests
 * run each case through all of them. */
enum { RUN_PREDICT = 0, RUN_PREDICT_WS = 1, RUN_FORWARD = 2, RUN_MODES = 3 };

static clv_workspace *g_ws;

static int run_mode(int mode, clv_model *m, uint32_t batch, uint32_t steps, const float *x,
                    const int32_t *lengths, const float *static_x, float *final_out, float *step_out)
{
    switch (mode) {
    case RUN_PREDICT:
        return clv_model_predict(m, NULL, batch, steps, x, lengths, static_x, final_out, step_out);
    case RUN_PREDICT_WS:
        if (!g_ws) {
            EXPECT_OK(clv_workspace_new(&g_ws));
            own(OWN_WORKSPACE, g_ws);
        }
        return clv_model_predict(m, g_ws, batch, steps, x, lengths, static_x, final_out, step_out);
    default:
        return clv_model_forward(m, batch, steps, x, lengths, static_x, final_out, step_out);
    }
}

static void teardown(void)
{
    release_all();
    g_ws = NULL;
}

/* ================================================================== */
/* Model creation                                                      */

START_TEST(model_new_null_out)
{
    clv_model_options o;
    base_options(&o);
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_new(NULL, &o), "out");
}
END_TEST

START_TEST(model_new_null_options)
{
    clv_model *m = SENTINEL_PTR;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_new(&m, NULL), "options");
    ck_assert_ptr_null(m);
}
END_TEST

/* struct_size must at least cover input_size (the one field without a default). */
START_TEST(model_new_struct_size_too_small)
{
    const uint32_t sizes[] = { 0, 1, (uint32_t)offsetof(clv_model_options, input_size),
                               (uint32_t)(offsetof(clv_model_options, input_size) + 3) };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        clv_model_options o;
        base_options(&o);
        o.struct_size = sizes[i];
        clv_model *m = SENTINEL_PTR;
        EXPECT_ERR_MSG(CLV_EINVAL, clv_model_new(&m, &o), "struct_size");
        ck_assert_msg(m == NULL, "struct_size %u: *out not reset to NULL", sizes[i]);
    }
}
END_TEST

/* One invalid field per iteration; the message must name the field. */
static const char *bad_field(int i, clv_model_options *o)
{
    switch (i) {
    case 0: o->cell = 0; return "cell";
    case 1: o->cell = 3; return "cell";
    case 2: o->cell = -1; return "cell";
    case 3: o->input_size = 0; return "input_size";
    case 4: o->input_size = CLV_MAX_INPUT_SIZE + 1; return "input_size";
    case 5: o->input_size = UINT32_MAX; return "input_size";
    case 6: o->hidden_size = 0; return "hidden_size";
    case 7: o->hidden_size = CLV_MAX_HIDDEN_SIZE + 1; return "hidden_size";
    case 8: o->num_layers = 0; return "num_layers";
    case 9: o->num_layers = CLV_MAX_LAYERS + 1; return "num_layers";
    case 10: o->final_outputs = 0; o->step_outputs = 0; return "final_outputs";
    case 11: o->final_outputs = 0; o->step_outputs = 0; return "step_outputs";
    case 12: o->forget_bias = NAN; return "forget_bias";
    case 13: o->forget_bias = INFINITY; return "forget_bias";
    case 14: o->static_size = CLV_MAX_INPUT_SIZE + 1; return "static_size";
    case 15: o->final_outputs = CLV_MAX_OUTPUTS + 1; return "final_outputs";
    case 16: o->step_outputs = CLV_MAX_OUTPUTS + 1; return "step_outputs";
    case 17: o->cell = CLV_CELL_GRU; o->hidden_size = UINT32_MAX; return "hidden_size";
    default: return NULL;
    }
}
#define N_BAD_FIELDS 18

START_TEST(model_new_bad_field)
{
    clv_model_options o;
    base_options(&o);
    const char *field = bad_field(_i, &o);
    ck_assert_ptr_nonnull(field);
    clv_model *m = SENTINEL_PTR;
    clv_clear_error();
    int rc = clv_model_new(&m, &o);
    if (rc == CLV_OK) own(OWN_MODEL, m);
    expect_err_at(__FILE__, __LINE__, field, CLV_EINVAL, rc, (const char *const[]){ field, NULL });
    ck_assert_msg(m == NULL, "case %d (%s): *out not reset to NULL", _i, field);
}
END_TEST

/* The limits themselves are valid (catches off-by-one guards). */
START_TEST(model_new_limits_accepted)
{
    for (int i = 0; i < 4; i++) {
        clv_model_options o;
        base_options(&o);
        o.hidden_size = 1;
        if (i == 0) o.input_size = CLV_MAX_INPUT_SIZE;
        if (i == 1) o.num_layers = CLV_MAX_LAYERS;
        if (i == 2) o.final_outputs = CLV_MAX_OUTPUTS;
        if (i == 3) { o.final_outputs = 0; o.step_outputs = 1; }
        clv_model *m = NULL;
        EXPECT_OK(clv_model_new(&m, &o));
        ck_assert_ptr_nonnull(m);
        own(OWN_MODEL, m);
    }
    ck_assert_uint_eq(clv_max_hidden_size(), CLV_MAX_HIDDEN_SIZE);
}
END_TEST

/* An "older" caller whose struct ends at input_size: the rest are defaults,
 * whatever bytes lie beyond its struct_size. */
START_TEST(model_new_older_struct_size)
{
    clv_model_options o;
    base_options(&o);
    o.struct_size = (uint32_t)(offsetof(clv_model_options, input_size) + sizeof o.input_size);
    o.cell = CLV_CELL_GRU;
    o.input_size = 5;
    /* Garbage past struct_size, each invalid if it were read. */
    o.hidden_size = 0;
    o.num_layers = 0;
    o.final_outputs = 0;
    o.step_outputs = 0;
    o.static_size = UINT32_MAX;
    o.seed = 999;
    o.forget_bias = NAN;
    clv_model *m = NULL;
    EXPECT_OK(clv_model_new(&m, &o));
    ck_assert_ptr_nonnull(m);
    own(OWN_MODEL, m);

    clv_model_options got;
    clv_model_options_init(&got);
    EXPECT_OK(clv_model_get_options(m, &got));
    ck_assert_int_eq(got.cell, CLV_CELL_GRU);
    ck_assert_uint_eq(got.input_size, 5);
    ck_assert_uint_eq(got.hidden_size, 64);
    ck_assert_uint_eq(got.num_layers, 1);
    ck_assert_uint_eq(got.static_size, 0);
    ck_assert_uint_eq(got.final_outputs, 1);
    ck_assert_uint_eq(got.step_outputs, 0);
    ck_assert_uint_eq(got.seed, 42);
    ck_assert_float_eq(got.forget_bias, 1.0f);

    /* Same weights as a full-size default GRU model: the default seed was used. */
    clv_model_options full;
    clv_model_options_init(&full);
    full.cell = CLV_CELL_GRU;
    full.input_size = 5;
    clv_model *ref = NULL;
    EXPECT_OK(clv_model_new(&ref, &full));
    own(OWN_MODEL, ref);
    ck_assert_uint_eq(clv_model_param_count(m), clv_model_param_count(ref));
    float *pr = get_params_copy(ref);
    expect_params_unchanged(m, pr);
}
END_TEST

START_TEST(model_get_options_errors)
{
    clv_model *m = make_final_model();
    clv_model_options o;
    clv_model_options_init(&o);
    EXPECT_ERR(CLV_EINVAL, clv_model_get_options(NULL, &o));
    EXPECT_ERR(CLV_EINVAL, clv_model_get_options(m, NULL));
    o.struct_size = 0;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_get_options(m, &o), "struct_size");
}
END_TEST

/* ================================================================== */
/* Predict / forward (loop: predict, predict with workspace, forward)  */

START_TEST(run_null_model)
{
    float x[NB * NT * NF] = { 0 }, out[NB];
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, NULL, NB, NT, x, NULL, NULL, out, NULL), "model");
}
END_TEST

START_TEST(run_null_x)
{
    clv_model *m = make_final_model();
    float out[NB];
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, NULL, NULL, NULL, out, NULL), "x");
}
END_TEST

START_TEST(run_zero_sizes)
{
    clv_model *m = make_final_model();
    float x[NB * NT * NF] = { 0 }, out[NB];
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, 0, NT, x, NULL, NULL, out, NULL), "batch");
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, 0, x, NULL, NULL, out, NULL), "steps");
    EXPECT_ERR(CLV_EINVAL, run_mode(_i, m, 0, 0, x, NULL, NULL, out, NULL));
}
END_TEST

/* batch*steps beyond any real buffer: refused up front (x is never read and
 * nothing large is allocated). */
START_TEST(run_overflowing_sizes)
{
    clv_model *m = make_final_model();
    float x[NB * NT * NF] = { 0 }, out[NB];
    const uint32_t shapes[][2] = {
        { 1u << 30, 1u << 30 }, { UINT32_MAX, UINT32_MAX }, { UINT32_MAX, 1 }, { 1, UINT32_MAX },
        { 1u << 16, 1u << 16 }, { 1u << 14, 1u << 15 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "mode %d, batch = %u, steps = %u", _i, shapes[i][0], shapes[i][1]);
        track_reset();
        clv_clear_error();
        int rc = run_mode(_i, m, shapes[i][0], shapes[i][1], x, NULL, NULL, out, NULL);
        expect_err_at(__FILE__, __LINE__, what, CLV_EINVAL, rc, NULL);
        EXPECT_NO_HUGE_ALLOC(what);
    }
}
END_TEST

START_TEST(run_lengths_out_of_range)
{
    clv_model *m = make_final_model();
    float x[NB * NT * NF], out[NB];
    clv_test_fill(x, NB * NT * NF, 1, -1.0f, 1.0f);
    const int32_t neg[NB] = { NT, -1 };
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, neg, NULL, out, NULL), "lengths[1]");
    const int32_t big[NB] = { NT + 1, NT };
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, big, NULL, out, NULL), "lengths[0]");
    const int32_t huge[NB] = { 1, INT32_MAX };
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, huge, NULL, out, NULL), "lengths[1]");
    const int32_t tiny[NB] = { INT32_MIN, 1 };
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, tiny, NULL, out, NULL), "lengths[0]");
    /* The bounds 0 and T themselves are valid. */
    const int32_t edge[NB] = { 0, NT };
    EXPECT_OK(run_mode(_i, m, NB, NT, x, edge, NULL, out, NULL));
}
END_TEST

START_TEST(run_nonfinite_x)
{
    clv_model *m = make_final_model();
    float x[NB][NT][NF], out[NB];
    const struct { uint32_t b, t, k; float v; const char *where; } cases[] = {
        { 1, 2, 1, NAN, "x[1][2][1]" },
        { 0, 0, 0, INFINITY, "x[0][0][0]" },
        { 1, 3, 2, -INFINITY, "x[1][3][2]" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clv_test_fill(&x[0][0][0], NB * NT * NF, 2, -1.0f, 1.0f);
        x[cases[i].b][cases[i].t][cases[i].k] = cases[i].v;
        clv_clear_error();
        int rc = run_mode(_i, m, NB, NT, &x[0][0][0], NULL, NULL, out, NULL);
        expect_err_at(__FILE__, __LINE__, cases[i].where, CLV_EINVAL, rc,
                      (const char *const[]){ cases[i].where, NULL });
    }
    /* The last valid step is checked too (length 3: t = 2 is valid). */
    const int32_t len[NB] = { NT, 3 };
    clv_test_fill(&x[0][0][0], NB * NT * NF, 2, -1.0f, 1.0f);
    x[1][2][0] = NAN;
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, &x[0][0][0], len, NULL, out, NULL),
                   "x[1][2][0]");
}
END_TEST

/* Padding may hold anything, NaN and Inf included, and never changes the
 * outputs (nor, after a training forward, the gradients). */
START_TEST(run_nan_padding_accepted)
{
    enum { B3 = 3, OF = 2, OS = 2 };
    const int32_t len[B3] = { NT, 2, 0 };
    float x0[B3 * NT * NF], xn[B3 * NT * NF], stat[B3 * NS];
    clv_test_fill(x0, B3 * NT * NF, 4, -1.0f, 1.0f);
    clv_test_fill(stat, B3 * NS, 5, -1.0f, 1.0f);
    memcpy(xn, x0, sizeof x0);
    for (uint32_t b = 0; b < B3; b++)
        for (uint32_t t = (uint32_t)len[b]; t < NT; t++)
            for (uint32_t k = 0; k < NF; k++) {
                x0[(b * NT + t) * NF + k] = 0.0f;
                xn[(b * NT + t) * NF + k] = (k == 1) ? INFINITY : NAN;
            }
    for (int cell = CLV_CELL_LSTM; cell <= CLV_CELL_GRU; cell++) {
        clv_model *m = make_model(cell, 2, NS, OF, OS);
        float f0[B3 * OF], fn[B3 * OF], s0[B3 * NT * OS], sn[B3 * NT * OS];
        memset(sn, 0x7f, sizeof sn); /* garbage the call must overwrite */
        EXPECT_OK(run_mode(_i, m, B3, NT, x0, len, stat, f0, s0));
        EXPECT_OK(run_mode(_i, m, B3, NT, xn, len, stat, fn, sn));
        expect_all_finite(fn, B3 * OF, "final_out");
        expect_floats_eq(fn, f0, B3 * OF, "final_out");
        expect_floats_eq(sn, s0, B3 * NT * OS, "step_out");
        for (uint32_t b = 0; b < B3; b++)
            for (uint32_t t = (uint32_t)len[b]; t < NT; t++)
                for (uint32_t k = 0; k < OS; k++)
                    ck_assert_float_eq(sn[(b * NT + t) * OS + k], 0.0f);

        if (_i == RUN_FORWARD) {
            /* Backward after each forward: identical finite gradients and d_x. */
            uint64_t n = clv_model_param_count(m);
            float *g0 = test_alloc(n * sizeof *g0), *gn = test_alloc(n * sizeof *gn);
            float df[B3 * OF], ds[B3 * NT * OS], dx0[B3 * NT * NF], dxn[B3 * NT * NF];
            clv_test_fill(df, B3 * OF, 6, -1.0f, 1.0f);
            clv_test_fill(ds, B3 * NT * OS, 7, -1.0f, 1.0f);
            EXPECT_OK(clv_model_zero_grad(m));
            EXPECT_OK(clv_model_forward(m, B3, NT, x0, len, stat, NULL, NULL));
            EXPECT_OK(clv_model_backward(m, df, ds, dx0, NULL));
            EXPECT_OK(clv_model_get_grads(m, g0, n));
            EXPECT_OK(clv_model_zero_grad(m));
            EXPECT_OK(clv_model_forward(m, B3, NT, xn, len, stat, NULL, NULL));
            EXPECT_OK(clv_model_backward(m, df, ds, dxn, NULL));
            EXPECT_OK(clv_model_get_grads(m, gn, n));
            expect_all_finite(gn, n, "grads");
            expect_floats_eq(gn, g0, n, "grads");
            expect_floats_eq(dxn, dx0, B3 * NT * NF, "d_x");
        }
    }
}
END_TEST

START_TEST(run_static_x_errors)
{
    clv_model *m = make_model(CLV_CELL_LSTM, 1, NS, 1, 0);
    float x[NB * NT * NF], stat[NB][NS], out[NB];
    clv_test_fill(x, NB * NT * NF, 8, -1.0f, 1.0f);
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, NULL, NULL, out, NULL), "static_x");
    clv_test_fill(&stat[0][0], NB * NS, 9, -1.0f, 1.0f);
    stat[1][0] = NAN;
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, NULL, &stat[0][0], out, NULL),
                   "static_x[1]");
    stat[1][0] = 0.5f;
    stat[0][1] = -INFINITY;
    EXPECT_ERR_MSG(CLV_EINVAL, run_mode(_i, m, NB, NT, x, NULL, &stat[0][0], out, NULL),
                   "static_x[0]");
    stat[0][1] = 0.5f;
    EXPECT_OK(run_mode(_i, m, NB, NT, x, NULL, &stat[0][0], out, NULL));
}
END_TEST

START_TEST(run_missing_head)
{
    float x[NB * NT * NF], out[NB * NT * 2];
    clv_test_fill(x, NB * NT * NF, 10, -1.0f, 1.0f);
    clv_model *fm = make_final_model();
    EXPECT_ERR_MSG(CLV_ESHAPE, run_mode(_i, fm, NB, NT, x, NULL, NULL, NULL, out), "step_out");
    EXPECT_ERR_MSG(CLV_ESHAPE, run_mode(_i, fm, NB, NT, x, NULL, NULL, out, out), "step_out");
    clv_model *sm = make_step_model();
    EXPECT_ERR_MSG(CLV_ESHAPE, run_mode(_i, sm, NB, NT, x, NULL, NULL, out, NULL), "final_out");
    EXPECT_OK(run_mode(_i, sm, NB, NT, x, NULL, NULL, NULL, out));
}
END_TEST

/* ================================================================== */
/* Backward                                                            */

START_TEST(backward_null_model)
{
    float d[NB] = { 0 };
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_backward(NULL, d, NULL, NULL, NULL), "model");
}
END_TEST

START_TEST(backward_before_forward)
{
    clv_model *m = make_final_model();
    float d[NB] = { 1.0f, 1.0f };
    EXPECT_ERR(CLV_ESTATE, clv_model_backward(m, d, NULL, NULL, NULL));
    EXPECT_ERR(CLV_ESTATE, clv_model_backward(m, NULL, NULL, NULL, NULL));
    /* Inference does not make a training pass. */
    float x[NB * NT * NF], out[NB];
    clv_test_fill(x, NB * NT * NF, 11, -1.0f, 1.0f);
    EXPECT_OK(clv_model_predict(m, NULL, NB, NT, x, NULL, NULL, out, NULL));
    EXPECT_ERR(CLV_ESTATE, clv_model_backward(m, d, NULL, NULL, NULL));
}
END_TEST

START_TEST(backward_twice)
{
    clv_model *m = make_final_model();
    float x[NB * NT * NF], out[NB], d[NB] = { 1.0f, -1.0f };
    clv_test_fill(x, NB * NT * NF, 12, -1.0f, 1.0f);
    EXPECT_OK(clv_model_forward(m, NB, NT, x, NULL, NULL, out, NULL));
    EXPECT_OK(clv_model_backward(m, d, NULL, NULL, NULL));
    EXPECT_ERR(CLV_ESTATE, clv_model_backward(m, d, NULL, NULL, NULL));
    /* A new forward makes backward valid again. */
    EXPECT_OK(clv_model_forward(m, NB, NT, x, NULL, NULL, out, NULL));
    EXPECT_OK(clv_model_backward(m, d, NULL, NULL, NULL));
}
END_TEST

/* A forward that failed on its inputs leaves nothing to differentiate. */
START_TEST(backward_after_failed_forward)
{
    clv_model *m = make_final_model();
    float x[NB * NT * NF], out[NB], d[NB] = { 1.0f, -1.0f };
    clv_test_fill(x, NB * NT * NF, 13, -1.0f, 1.0f);
    EXPECT_OK(clv_model_forward(m, NB, NT, x, NULL, NULL, out, NULL));
    x[5] = NAN;
    EXPECT_ERR(CLV_EINVAL, clv_model_forward(m, NB, NT, x, NULL, NULL, out, NULL));
    EXPECT_ERR(CLV_ESTATE, clv_model_backward(m, d, NULL, NULL, NULL));
}
END_TEST

START_TEST(backward_missing_head)
{
    float x[NB * NT * NF], buf[NB * NT * 2] = { 0 };
    clv_test_fill(x, NB * NT * NF, 14, -1.0f, 1.0f);
    clv_model *sm = make_step_model();
    EXPECT_OK(clv_model_forward(sm, NB, NT, x, NULL, NULL, NULL, NULL));
    EXPECT_ERR_MSG(CLV_ESHAPE, clv_model_backward(sm, buf, NULL, NULL, NULL), "d_final");
    clv_model *fm = make_final_model();
    EXPECT_OK(clv_model_forward(fm, NB, NT, x, NULL, NULL, NULL, NULL));
    EXPECT_ERR_MSG(CLV_ESHAPE, clv_model_backward(fm, NULL, buf, NULL, NULL), "d_step");
}
END_TEST

START_TEST(backward_nonfinite_gradient)
{
    float x[NB * NT * NF];
    clv_test_fill(x, NB * NT * NF, 15, -1.0f, 1.0f);
    clv_model *m = make_model(CLV_CELL_GRU, 1, 0, 1, 2);
    uint64_t n = clv_model_param_count(m);
    float *g = test_alloc(n * sizeof *g), *zero = test_alloc(n * sizeof *zero);
    float df[NB] = { 1.0f, NAN }, ds[NB * NT * 2];
    clv_test_fill(ds, NB * NT * 2, 16, -1.0f, 1.0f);

    EXPECT_OK(clv_model_forward(m, NB, NT, x, NULL, NULL, NULL, NULL));
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_backward(m, df, NULL, NULL, NULL), "d_final");
    EXPECT_OK(clv_model_get_grads(m, g, n));
    expect_floats_eq(g, zero, n, "grads after a rejected backward");

    df[1] = INFINITY;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_backward(m, df, NULL, NULL, NULL), "d_final");

    df[1] = 1.0f;
    ds[1 * NT * 2 + 3 * 2 + 1] = NAN; /* [1][3][1], a valid step (no lengths) */
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_backward(m, df, ds, NULL, NULL), "d_step");
    EXPECT_OK(clv_model_get_grads(m, g, n));
    expect_floats_eq(g, zero, n, "grads after a rejected backward");
}
END_TEST

/* model.h: "gradients given for padded steps are ignored" -- so whatever the
 * caller leaves there (NaN included, as in x's padding) must be accepted and
 * give the same gradients as zeros. */
START_TEST(backward_nan_in_padded_d_step_ignored)
{
    enum { OS = 2 };
    const int32_t len[NB] = { NT, 2 };
    float x[NB * NT * NF], ds0[NB * NT * OS], dsn[NB * NT * OS];
    clv_test_fill(x, NB * NT * NF, 17, -1.0f, 1.0f);
    clv_test_fill(ds0, NB * NT * OS, 18, -1.0f, 1.0f);
    memcpy(dsn, ds0, sizeof ds0);
    for (uint32_t t = 2; t < NT; t++)
        for (uint32_t k = 0; k < OS; k++) {
            ds0[(1 * NT + t) * OS + k] = 0.0f;
            dsn[(1 * NT + t) * OS + k] = NAN;
        }
    clv_model *m = make_step_model();
    uint64_t n = clv_model_param_count(m);
    float *g0 = test_alloc(n * sizeof *g0), *gn = test_alloc(n * sizeof *gn);
    EXPECT_OK(clv_model_forward(m, NB, NT, x, len, NULL, NULL, NULL));
    EXPECT_OK(clv_model_backward(m, NULL, ds0, NULL, NULL));
    EXPECT_OK(clv_model_get_grads(m, g0, n));
    EXPECT_OK(clv_model_zero_grad(m));
    EXPECT_OK(clv_model_forward(m, NB, NT, x, len, NULL, NULL, NULL));
    EXPECT_OK(clv_model_backward(m, NULL, dsn, NULL, NULL));
    EXPECT_OK(clv_model_get_grads(m, gn, n));
    expect_floats_eq(gn, g0, n, "grads");
}
END_TEST

/* ================================================================== */
/* Parameters                                                          */

START_TEST(params_null_arguments)
{
    clv_model *m = make_final_model();
    uint64_t n = clv_model_param_count(m);
    float *buf = test_alloc(n * sizeof *buf);
    EXPECT_ERR(CLV_EINVAL, clv_model_get_params(NULL, buf, n));
    EXPECT_ERR(CLV_EINVAL, clv_model_get_params(m, NULL, n));
    EXPECT_ERR(CLV_EINVAL, clv_model_set_params(NULL, buf, n));
    EXPECT_ERR(CLV_EINVAL, clv_model_set_params(m, NULL, n));
    EXPECT_ERR(CLV_EINVAL, clv_model_get_grads(NULL, buf, n));
    EXPECT_ERR(CLV_EINVAL, clv_model_get_grads(m, NULL, n));
    EXPECT_ERR(CLV_EINVAL, clv_model_zero_grad(NULL));
    ck_assert_uint_eq(clv_model_param_count(NULL), 0);
    ck_assert_uint_eq(clv_model_param_tensor_count(NULL), 0);
    ck_assert_ptr_null(clv_model_params(NULL));
    ck_assert_ptr_null(clv_model_grads(NULL));
}
END_TEST

/* A wrong count is refused and the message gives both counts. */
START_TEST(params_wrong_count)
{
    clv_model *m = make_final_model();
    uint64_t n = clv_model_param_count(m);
    ck_assert_uint_gt(n, 1);
    float *buf = test_alloc((n + 1) * sizeof *buf);
    const uint64_t counts[] = { n - 1, n + 1, 0, UINT64_MAX };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        uint64_t c = counts[i];
        EXPECT_ERR(CLV_EINVAL, clv_model_get_params(m, buf, c));
        EXPECT_MSG_NUMBER(c);
        EXPECT_MSG_NUMBER(n);
        EXPECT_ERR(CLV_EINVAL, clv_model_set_params(m, buf, c));
        EXPECT_MSG_NUMBER(c);
        EXPECT_MSG_NUMBER(n);
        EXPECT_ERR(CLV_EINVAL, clv_model_get_grads(m, buf, c));
        EXPECT_MSG_NUMBER(c);
        EXPECT_MSG_NUMBER(n);
    }
}
END_TEST

START_TEST(set_params_nonfinite_leaves_params)
{
    clv_model *m = make_model(CLV_CELL_LSTM, 2, NS, 1, 1);
    uint64_t n = clv_model_param_count(m);
    float *before = get_params_copy(m), *in = test_alloc(n * sizeof *in);
    const uint64_t at[] = { 0, n / 2, n - 1 };
    const float bad[] = { -INFINITY, NAN, INFINITY };
    for (size_t i = 0; i < 3; i++) {
        clv_test_fill(in, n, 19, -0.5f, 0.5f);
        in[at[i]] = bad[i];
        EXPECT_ERR(CLV_EINVAL, clv_model_set_params(m, in, n));
        expect_params_unchanged(m, before);
    }
}
END_TEST

START_TEST(tensor_info_errors)
{
    clv_model *m = make_model(CLV_CELL_GRU, 2, 0, 1, 1);
    uint32_t nt = clv_model_param_tensor_count(m);
    ck_assert_uint_gt(nt, 0);
    const char *name = NULL;
    uint64_t off = 0;
    uint32_t rows = 0, cols = 0;
    EXPECT_ERR(CLV_EINVAL, clv_model_param_tensor_info(NULL, 0, &name, &off, &rows, &cols));
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_param_tensor_info(m, nt, &name, &off, &rows, &cols), "index");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_model_param_tensor_info(m, UINT32_MAX, &name, &off, &rows, &cols),
                   "index");
    /* The last index is valid, and every out pointer may be NULL. */
    EXPECT_OK(clv_model_param_tensor_info(m, nt - 1, NULL, NULL, NULL, NULL));
    EXPECT_OK(clv_model_param_tensor_info(m, nt - 1, &name, &off, &rows, &cols));
    ck_assert_ptr_nonnull(name);
}
END_TEST

/* ================================================================== */
/* Workspace                                                           */

START_TEST(workspace_new_null)
{
    EXPECT_ERR_MSG(CLV_EINVAL, clv_workspace_new(NULL), "out");
}
END_TEST

START_TEST(workspace_reserve_errors)
{
    clv_model *m = make_final_model();
    clv_workspace *ws = NULL;
    EXPECT_OK(clv_workspace_new(&ws));
    own(OWN_WORKSPACE, ws);
    ck_assert_ptr_nonnull(ws);
    EXPECT_ERR(CLV_EINVAL, clv_workspace_reserve(NULL, m, NB, NT));
    EXPECT_ERR(CLV_EINVAL, clv_workspace_reserve(ws, NULL, NB, NT));
    EXPECT_ERR_MSG(CLV_EINVAL, clv_workspace_reserve(ws, m, 0, NT), "batch");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_workspace_reserve(ws, m, NB, 0), "steps");
    /* The workspace is still usable after the rejected calls. */
    float x[NB * NT * NF], out[NB];
    clv_test_fill(x, NB * NT * NF, 20, -1.0f, 1.0f);
    EXPECT_OK(clv_model_predict(m, ws, NB, NT, x, NULL, NULL, out, NULL));
    EXPECT_OK(clv_workspace_reserve(ws, m, NB, NT));
}
END_TEST

/* Sizes that clv_model_predict() refuses as overflowing cannot be reserved
 * either, and asking must not attempt a huge allocation. */
START_TEST(workspace_reserve_overflow)
{
    clv_model *m = make_final_model();
    clv_workspace *ws = NULL;
    EXPECT_OK(clv_workspace_new(&ws));
    own(OWN_WORKSPACE, ws);
    const uint32_t shapes[][2] = {
        { 1u << 30, 1u << 30 }, { UINT32_MAX, UINT32_MAX }, { 1u << 16, 1u << 16 },
        { 1u << 14, 1u << 15 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "clv_workspace_reserve(ws, m, %u, %u)", shapes[i][0], shapes[i][1]);
        track_reset();
        clv_clear_error();
        int rc = clv_workspace_reserve(ws, m, shapes[i][0], shapes[i][1]);
        expect_err_at(__FILE__, __LINE__, what, CLV_EINVAL, rc, NULL);
        EXPECT_NO_HUGE_ALLOC(what);
    }
}
END_TEST

/* ================================================================== */
/* Loss                                                                */

START_TEST(loss_eval_null_and_sizes)
{
    float pred[4] = { 0.1f, 0.2f, 0.3f, 0.4f }, target[4] = { 0 }, grad[4];
    double v = 0.0;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(NULL, 4, 1, NULL, target, NULL, NULL, &v, grad), "pred");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(NULL, 4, 1, pred, NULL, NULL, NULL, &v, grad), "target");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(NULL, 4, 1, pred, target, NULL, NULL, NULL, grad),
                   "out_value");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(NULL, 0, 1, pred, target, NULL, NULL, &v, grad), "rows");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(NULL, 4, 0, pred, target, NULL, NULL, &v, grad),
                   "pred_dim");
    EXPECT_OK(clv_loss_eval(NULL, 4, 1, pred, target, NULL, NULL, &v, grad));
}
END_TEST

START_TEST(loss_eval_bad_options)
{
    float pred[4] = { 0.1f, 0.2f, 0.3f, 0.4f }, target[4] = { 0 };
    double v = 0.0;
    clv_loss_options lo;
    const int32_t kinds[] = { 0, -1, 7, INT32_MAX };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        clv_loss_options_init(&lo);
        lo.kind = kinds[i];
        EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 1, pred, target, NULL, NULL, &v, NULL),
                       "kind");
    }
    clv_loss_options_init(&lo);
    lo.reduction = 0;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 1, pred, target, NULL, NULL, &v, NULL),
                   "reduction");
    lo.reduction = 3;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 1, pred, target, NULL, NULL, &v, NULL),
                   "reduction");
    clv_loss_options_init(&lo);
    lo.struct_size = 0;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 1, pred, target, NULL, NULL, &v, NULL),
                   "struct_size");
    clv_loss_options_init(&lo);
    lo.kind = CLV_LOSS_ZILN;
    EXPECT_ERR(CLV_EINVAL, clv_loss_eval(&lo, 4, 1, pred, target, NULL, NULL, &v, NULL));
}
END_TEST

/* loss.h: bad values give CLV_EINVAL and "the message names the row". */
START_TEST(loss_eval_bad_values_name_row)
{
    float pred[4][3], target[4][3], weight[4] = { 1, 1, 1, 1 };
    double v = 0.0;
    clv_loss_options lo;
    clv_loss_options_init(&lo);
    clv_test_fill(&pred[0][0], 12, 21, -1.0f, 1.0f);
    clv_test_fill(&target[0][0], 12, 22, 0.0f, 1.0f);

    pred[1][2] = NAN;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 3, &pred[0][0], &target[0][0], NULL, NULL, &v, NULL),
                   "pred", "[1]");
    pred[1][2] = 0.0f;
    target[3][0] = INFINITY;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 3, &pred[0][0], &target[0][0], NULL, NULL, &v, NULL),
                   "target", "[3]");
    target[3][0] = 0.0f;
    weight[2] = -1.0f;
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_loss_eval(&lo, 4, 3, &pred[0][0], &target[0][0], weight, NULL, &v, NULL),
                   "weight", "[2]");
    weight[2] = 1.0f;

    /* CE: class index out of range in row 1. */
    float cls[4] = { 0, 3, 1, 2 };
    lo.kind = CLV_LOSS_CE_LOGITS;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 3, &pred[0][0], cls, NULL, NULL, &v, NULL),
                   "target", "[1]");
    /* ZILN: negative amount in row 2. */
    float amount[4] = { 0, 1, -2, 3 };
    lo.kind = CLV_LOSS_ZILN;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_eval(&lo, 4, 3, &pred[0][0], amount, NULL, NULL, &v, NULL),
                   "target", "[2]");
}
END_TEST

START_TEST(loss_target_dim_and_ziln_mean_errors)
{
    clv_loss_options lo;
    uint32_t dim = 0;
    clv_loss_options_init(&lo);
    EXPECT_ERR(CLV_EINVAL, clv_loss_target_dim(&lo, 1, NULL));
    lo.kind = CLV_LOSS_ZILN;
    EXPECT_ERR(CLV_EINVAL, clv_loss_target_dim(&lo, 2, &dim));
    lo.kind = CLV_LOSS_CE_LOGITS;
    EXPECT_ERR(CLV_EINVAL, clv_loss_target_dim(&lo, 1, &dim));
    lo.kind = 42;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_loss_target_dim(&lo, 1, &dim), "kind");

    float pred[6] = { 0 }, mean[2], p[2];
    EXPECT_ERR(CLV_EINVAL, clv_ziln_mean(2, NULL, mean, p));
    EXPECT_ERR(CLV_EINVAL, clv_ziln_mean(2, pred, NULL, NULL));
    EXPECT_ERR(CLV_EINVAL, clv_ziln_mean(0, pred, mean, p));
    pred[4] = NAN;
    EXPECT_ERR(CLV_EINVAL, clv_ziln_mean(2, pred, mean, p));
}
END_TEST

/* ================================================================== */
/* Optimizer                                                           */

START_TEST(optim_new_errors)
{
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    EXPECT_ERR(CLV_EINVAL, clv_optim_new(NULL, &oo));
    clv_optim *opt = SENTINEL_PTR;
    EXPECT_ERR(CLV_EINVAL, clv_optim_new(&opt, NULL));
    ck_assert_ptr_null(opt);

    opt = SENTINEL_PTR;
    oo.struct_size = 0;
    EXPECT_ERR_MSG(CLV_EINVAL, clv_optim_new(&opt, &oo), "struct_size");
    ck_assert_ptr_null(opt);

    const int32_t kinds[] = { 0, 6, -1 };
    for (size_t i = 0; i < 3; i++) {
        clv_optim_options_init(&oo, kinds[i]);
        opt = SENTINEL_PTR;
        EXPECT_ERR_MSG(CLV_EINVAL, clv_optim_new(&opt, &oo), "kind");
        ck_assert_ptr_null(opt);
    }
    const float lrs[] = { NAN, 0.0f, -1.0f, INFINITY };
    for (size_t i = 0; i < 4; i++) {
        clv_optim_options_init(&oo, CLV_OPTIM_SGD);
        oo.lr = lrs[i];
        opt = SENTINEL_PTR;
        EXPECT_ERR_MSG(CLV_EINVAL, clv_optim_new(&opt, &oo), "lr");
        ck_assert_ptr_null(opt);
    }
}
END_TEST

START_TEST(optim_step_errors)
{
    clv_model *m = make_final_model();
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    clv_optim *opt = NULL;
    EXPECT_OK(clv_optim_new(&opt, &oo));
    own(OWN_OPTIM, opt);
    float p[5] = { 1, 2, 3, 4, 5 }, g[5] = { 0.1f, 0.1f, 0.1f, 0.1f, 0.1f };

    EXPECT_ERR(CLV_EINVAL, clv_optim_step(NULL, m));
    EXPECT_ERR(CLV_EINVAL, clv_optim_step(opt, NULL));
    EXPECT_ERR(CLV_EINVAL, clv_optim_step_raw(NULL, 5, p, g));
    EXPECT_ERR_MSG(CLV_EINVAL, clv_optim_step_raw(opt, 5, NULL, g), "params");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_optim_step_raw(opt, 5, p, NULL), "grads");
    EXPECT_ERR_MSG(CLV_EINVAL, clv_optim_step_raw(opt, 0, p, g), "count");
    ck_assert_uint_eq(clv_optim_step_count(opt), 0);

    /* Non-finite gradient: CLV_ENUMERIC, nothing updated. */
    float before[5];
    memcpy(before, p, sizeof p);
    g[3] = NAN;
    EXPECT_ERR(CLV_ENUMERIC, clv_optim_step_raw(opt, 5, p, g));
    expect_floats_eq(p, before, 5, "params after a rejected step");
    ck_assert_uint_eq(clv_optim_step_count(opt), 0);
    g[3] = 0.1f;

    /* State sized on the first step; another count is CLV_ESHAPE. */
    EXPECT_OK(clv_optim_step_raw(opt, 5, p, g));
    memcpy(before, p, sizeof p);
    EXPECT_ERR(CLV_ESHAPE, clv_optim_step_raw(opt, 4, p, g));
    expect_floats_eq(p, before, 5, "params after a rejected step");
    ck_assert_uint_eq(clv_optim_step_count(opt), 1);

    EXPECT_ERR(CLV_EINVAL, clv_optim_set_lr_callback(NULL, NULL, NULL));
    EXPECT_ERR(CLV_EINVAL, clv_optim_reset(NULL));
    ck_assert_uint_eq(clv_optim_step_count(NULL), 0);
}
END_TEST

/* ================================================================== */
/* train_step                                                          */

typedef struct train_fx {
    clv_model *m;
    clv_optim *opt;
    clv_loss_options lo;
    float x[NB * NT * NF], y[NB];
    float *before;
} train_fx;

static void train_setup(train_fx *f)
{
    f->m = make_final_model();
    clv_optim_options oo;
    clv_optim_options_init(&oo, CLV_OPTIM_ADAM);
    f->opt = NULL;
    EXPECT_OK(clv_optim_new(&f->opt, &oo));
    own(OWN_OPTIM, f->opt);
    clv_loss_options_init(&f->lo);
    clv_test_fill(f->x, NB * NT * NF, 23, -1.0f, 1.0f);
    clv_test_fill(f->y, NB, 24, 0.0f, 2.0f);
    f->before = get_params_copy(f->m);
}

START_TEST(train_step_null_arguments)
{
    train_fx f;
    train_setup(&f);
    double loss = -1.0;
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_model_train_step(NULL, f.opt, &f.lo, NB, NT, f.x, NULL, NULL, f.y, NULL, &loss),
                   "model");
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_model_train_step(f.m, NULL, &f.lo, NB, NT, f.x, NULL, NULL, f.y, NULL, &loss),
                   "optim");
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_model_train_step(f.m, f.opt, &f.lo, NB, NT, f.x, NULL, NULL, NULL, NULL, &loss),
                   "target");
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_model_train_step(f.m, f.opt, &f.lo, NB, NT, NULL, NULL, NULL, f.y, NULL, &loss),
                   "x");
    EXPECT_ERR(CLV_EINVAL,
               clv_model_train_step(f.m, f.opt, &f.lo, 0, NT, f.x, NULL, NULL, f.y, NULL, &loss));
    track_reset();
    EXPECT_ERR(CLV_EINVAL, clv_model_train_step(f.m, f.opt, &f.lo, 1u << 30, 1u << 30, f.x, NULL,
                                                NULL, f.y, NULL, &loss));
    EXPECT_NO_HUGE_ALLOC("train_step 2^30 x 2^30");
    expect_params_unchanged(f.m, f.before);
    ck_assert_uint_eq(clv_optim_step_count(f.opt), 0);
    /* The arguments were fine otherwise: NULL loss options mean defaults. */
    EXPECT_OK(clv_model_train_step(f.m, f.opt, NULL, NB, NT, f.x, NULL, NULL, f.y, NULL, &loss));
}
END_TEST

START_TEST(train_step_bad_loss_options)
{
    train_fx f;
    train_setup(&f);
    double loss = -1.0;
    const uint32_t sizes[] = { 0, (uint32_t)offsetof(clv_loss_options, kind) };
    for (size_t i = 0; i < 2; i++) {
        clv_loss_options_init(&f.lo);
        f.lo.struct_size = sizes[i];
        EXPECT_ERR_MSG(CLV_EINVAL,
                       clv_model_train_step(f.m, f.opt, &f.lo, NB, NT, f.x, NULL, NULL, f.y, NULL, &loss),
                       "struct_size");
    }
    clv_loss_options_init(&f.lo);
    f.lo.kind = 99;
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_model_train_step(f.m, f.opt, &f.lo, NB, NT, f.x, NULL, NULL, f.y, NULL, &loss),
                   "kind");
    /* ZILN needs 3 outputs; this model has 1. */
    f.lo.kind = CLV_LOSS_ZILN;
    EXPECT_ERR(CLV_EINVAL,
               clv_model_train_step(f.m, f.opt, &f.lo, NB, NT, f.x, NULL, NULL, f.y, NULL, &loss));
    clv_loss_options_init(&f.lo);
    float w[NB] = { 1.0f, -1.0f };
    EXPECT_ERR_MSG(CLV_EINVAL,
                   clv_model_train_step(f.m, f.opt, &f.lo, NB, NT, f.x, NULL, NULL, f.y, w, &loss),
                   "weight");
    expect_params_unchanged(f.m, f.before);
    ck_assert_uint_eq(clv_optim_step_count(f.opt), 0);
}
END_TEST

/* train.h: "on CLV_ENUMERIC the parameters are left unchanged". A target of
 * FLT_MAX makes the MSE gradient 2*(pred - FLT_MAX) overflow float. */
START_TEST(train_step_numeric_leaves_params)
{
    train_fx f;
    train_setup(&f);
    double loss = -1.0;
    float y[1] = { FLT_MAX };
    f.lo.reduction = CLV_REDUCE_SUM;
    EXPECT_ERR(CLV_ENUMERIC,
               clv_model_train_step(f.m, f.opt, &f.lo, 1, NT, f.x, NULL, NULL, y, NULL, &loss));
    expect_params_unchanged(f.m, f.before);
    ck_assert_uint_eq(clv_optim_step_count(f.opt), 0);
}
END_TEST

/* ================================================================== */
/* Errors, frees, global settings                                      */

START_TEST(free_null_is_noop)
{
    clv_model *m = NULL;
    EXPECT_ERR(CLV_EINVAL, clv_model_new(&m, NULL));
    char saved[512];
    snprintf(saved, sizeof saved, "%s", clv_last_error());
    clv_model_free(NULL);
    clv_workspace_free(NULL);
    clv_optim_free(NULL);
    clv_free(NULL);
    clv_model_options_init(NULL);
    clv_loss_options_init(NULL);
    clv_optim_options_init(NULL, CLV_OPTIM_ADAM);
    /* Nothing crashed, and the last error is still the one before. */
    ck_assert_str_eq(clv_last_error(), saved);
    ck_assert_int_eq(clv_last_error_code(), CLV_EINVAL);
}
END_TEST

START_TEST(status_str_distinct)
{
    static const struct { int code; const char *name; } codes[] = {
        { CLV_OK, "CLV_OK" },           { CLV_EINVAL, "CLV_EINVAL" },
        { CLV_ENOMEM, "CLV_ENOMEM" },   { CLV_EIO, "CLV_EIO" },
        { CLV_EFORMAT, "CLV_EFORMAT" }, { CLV_ESHAPE, "CLV_ESHAPE" },
        { CLV_ESTATE, "CLV_ESTATE" },   { CLV_ENOTSUP, "CLV_ENOTSUP" },
        { CLV_ENUMERIC, "CLV_ENUMERIC" }, { CLV_ECANCELED, "CLV_ECANCELED" },
    };
    const size_t n = sizeof codes / sizeof codes[0];
    ck_assert_int_eq(n, 10);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(codes[i].code, -(int)i); /* values are fixed forever */
        const char *s = clv_status_str(codes[i].code);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(strncmp(s, codes[i].name, strlen(codes[i].name)) == 0 &&
                          !isalnum((unsigned char)s[strlen(codes[i].name)]) &&
                          s[strlen(codes[i].name)] != '_',
                      "clv_status_str(%d) = \"%s\" does not start with %s", codes[i].code, s,
                      codes[i].name);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, clv_status_str(codes[j].code)) != 0,
                          "clv_status_str(%d) == clv_status_str(%d) = \"%s\"", codes[i].code,
                          codes[j].code, s);
    }
    const int unknown[] = { 1, -10, INT32_MIN, INT32_MAX };
    for (size_t i = 0; i < 4; i++) {
        const char *s = clv_status_str(unknown[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(s[0] != '\0', "empty clv_status_str(%d)", unknown[i]);
        for (size_t j = 0; j < n; j++)
            ck_assert_msg(strcmp(s, clv_status_str(codes[j].code)) != 0,
                          "unknown status %d reads as \"%s\"", unknown[i], s);
    }
}
END_TEST

START_TEST(clear_error_empties)
{
    clv_clear_error();
    ck_assert_ptr_nonnull(clv_last_error());
    ck_assert_str_eq(clv_last_error(), "");
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);
    EXPECT_ERR(CLV_EINVAL, clv_workspace_new(NULL));
    clv_clear_error();
    ck_assert_str_eq(clv_last_error(), "");
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);
    /* A different error code is reported as such. */
    clv_model *m = make_final_model();
    EXPECT_ERR(CLV_ESTATE, clv_model_backward(m, NULL, NULL, NULL, NULL));
    clv_clear_error();
    ck_assert_str_eq(clv_last_error(), "");
    ck_assert_int_eq(clv_last_error_code(), CLV_OK);
}
END_TEST

static void *fail_in_thread(void *arg)
{
    int *ok = arg;
    clv_clear_error();
    int rc = clv_optim_reset(NULL);
    *ok = rc == CLV_EINVAL && clv_last_error()[0] != '\0' && clv_last_error_code() == CLV_EINVAL;
    return NULL;
}

/* error.h: the message is per thread. */
START_TEST(last_error_is_thread_local)
{
    EXPECT_ERR(CLV_EINVAL, clv_workspace_new(NULL));
    char saved[512];
    snprintf(saved, sizeof saved, "%s", clv_last_error());
    int ok = 0;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, fail_in_thread, &ok), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    ck_assert_msg(ok, "the other thread did not see its own error");
    ck_assert_str_eq(clv_last_error(), saved);
    ck_assert_int_eq(clv_last_error_code(), CLV_EINVAL);
}
END_TEST

static void *refusing_alloc(size_t n, void *user)
{
    (void)n;
    (void)user;
    return NULL;
}

START_TEST(set_allocator_errors)
{
    clv_allocator a = { 0, track_alloc, track_free, NULL };
    EXPECT_ERR(CLV_EINVAL, clv_set_allocator(&a));
    a.struct_size = sizeof a;
    a.alloc = NULL;
    EXPECT_ERR(CLV_EINVAL, clv_set_allocator(&a));
    a.alloc = refusing_alloc; /* would make every later allocation fail */
    a.free = NULL;
    EXPECT_ERR(CLV_EINVAL, clv_set_allocator(&a));
    /* The rejected calls changed nothing: the tracking allocator is still in use. */
    track_reset();
    ck_assert_ptr_nonnull(make_final_model());
    ck_assert_uint_gt(g_allocs, 0);
}
END_TEST

START_TEST(blas_threads_errors)
{
    int32_t before = clv_blas_num_threads();
    EXPECT_ERR(CLV_EINVAL, clv_blas_set_num_threads(0));
    EXPECT_ERR(CLV_EINVAL, clv_blas_set_num_threads(-1));
    EXPECT_ERR(CLV_EINVAL, clv_blas_set_num_threads(INT32_MIN));
    ck_assert_int_eq(clv_blas_num_threads(), before);
}
END_TEST

/* ================================================================== */

/* Every case releases what its tests created, pass or fail. */
static TCase *new_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, NULL, teardown);
    return tc;
}

static Suite *api_errors_suite(void)
{
    Suite *s = suite_create("api-errors");

    TCase *tc = new_tcase("model_new");
    tcase_add_test(tc, model_new_null_out);
    tcase_add_test(tc, model_new_null_options);
    tcase_add_test(tc, model_new_struct_size_too_small);
    tcase_add_loop_test(tc, model_new_bad_field, 0, N_BAD_FIELDS);
    tcase_add_test(tc, model_new_limits_accepted);
    tcase_add_test(tc, model_new_older_struct_size);
    tcase_add_test(tc, model_get_options_errors);
    suite_add_tcase(s, tc);

    tc = new_tcase("predict_forward");
    tcase_add_loop_test(tc, run_null_model, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_null_x, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_zero_sizes, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_overflowing_sizes, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_lengths_out_of_range, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_nonfinite_x, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_nan_padding_accepted, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_static_x_errors, 0, RUN_MODES);
    tcase_add_loop_test(tc, run_missing_head, 0, RUN_MODES);
    suite_add_tcase(s, tc);

    tc = new_tcase("backward");
    tcase_add_test(tc, backward_null_model);
    tcase_add_test(tc, backward_before_forward);
    tcase_add_test(tc, backward_twice);
    tcase_add_test(tc, backward_after_failed_forward);
    tcase_add_test(tc, backward_missing_head);
    tcase_add_test(tc, backward_nonfinite_gradient);
    tcase_add_test(tc, backward_nan_in_padded_d_step_ignored);
    suite_add_tcase(s, tc);

    tc = new_tcase("params");
    tcase_add_test(tc, params_null_arguments);
    tcase_add_test(tc, params_wrong_count);
    tcase_add_test(tc, set_params_nonfinite_leaves_params);
    tcase_add_test(tc, tensor_info_errors);
    suite_add_tcase(s, tc);

    tc = new_tcase("workspace");
    tcase_add_test(tc, workspace_new_null);
    tcase_add_test(tc, workspace_reserve_errors);
    tcase_add_test(tc, workspace_reserve_overflow);
    suite_add_tcase(s, tc);

    tc = new_tcase("loss");
    tcase_add_test(tc, loss_eval_null_and_sizes);
    tcase_add_test(tc, loss_eval_bad_options);
    tcase_add_test(tc, loss_eval_bad_values_name_row);
    tcase_add_test(tc, loss_target_dim_and_ziln_mean_errors);
    suite_add_tcase(s, tc);

    tc = new_tcase("optim");
    tcase_add_test(tc, optim_new_errors);
    tcase_add_test(tc, optim_step_errors);
    suite_add_tcase(s, tc);

    tc = new_tcase("train_step");
    tcase_add_test(tc, train_step_null_arguments);
    tcase_add_test(tc, train_step_bad_loss_options);
    tcase_add_test(tc, train_step_numeric_leaves_params);
    suite_add_tcase(s, tc);

    tc = new_tcase("errors_and_globals");
    tcase_add_test(tc, free_null_is_noop);
    tcase_add_test(tc, status_str_distinct);
    tcase_add_test(tc, clear_error_empties);
    tcase_add_test(tc, last_error_is_thread_local);
    tcase_add_test(tc, set_allocator_errors);
    tcase_add_test(tc, blas_threads_errors);
    suite_add_tcase(s, tc);

    return s;
}

int main(void)
{
    /* Before any libclv object exists, as clv_set_allocator() requires. */
    static const clv_allocator tracking = { sizeof(clv_allocator), track_alloc, track_free, NULL };
    if (clv_set_allocator(&tracking) != CLV_OK) {
        fprintf(stderr, "clv_set_allocator: %s\n", clv_last_error());
        return EXIT_FAILURE;
    }
    return clv_test_run(api_errors_suite());
}
