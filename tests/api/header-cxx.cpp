// Compiled as C++11 with -pedantic -Wall -Wextra -Werror (tests/api/meson.build):
// the public headers must be usable from C++ with C linkage.
#include <clv/clv.h>

#include <cstddef>
#include <cstdio>
#include <type_traits>

static_assert(offsetof(clv_model_options, struct_size) == 0, "struct_size first");
static_assert(std::is_standard_layout<clv_model_options>::value, "C layout");
static_assert(std::is_standard_layout<clv_optim_options>::value, "C layout");
static_assert(std::is_standard_layout<clv_loss_options>::value, "C layout");
static_assert(CLV_VERSION_CHECK(0, 1, 0), "version macros");
// Signatures checked without linking: each probe is only declared and used in
// an unevaluated sizeof, and function pointers do not convert, so a changed
// parameter list fails to compile. Such a change is an ABI break (soversion).
char probe_model_new(int (*)(clv_model **, const clv_model_options *));
char probe_model_predict(int (*)(const clv_model *, clv_workspace *, uint32_t, uint32_t,
                                 const float *, const int32_t *, const float *, float *,
                                 float *));
char probe_train_step(int (*)(clv_model *, clv_optim *, const clv_loss_options *, uint32_t,
                              uint32_t, const float *, const int32_t *, const float *,
                              const float *, const float *, double *));
static_assert(sizeof(probe_model_new(&clv_model_new)) == 1, "clv_model_new signature");
static_assert(sizeof(probe_model_predict(&clv_model_predict)) == 1, "clv_model_predict signature");
static_assert(sizeof(probe_train_step(&clv_model_train_step)) == 1, "clv_model_train_step signature");

int main()
{
    clv_model_options mo = clv_model_options();
    mo.struct_size = static_cast<uint32_t>(sizeof mo);
    mo.cell = CLV_CELL_LSTM;
    clv_status st = CLV_ESHAPE;
    clv_model *model = nullptr;
    (void)model;

    // Function pointers with the declared types: a signature or linkage
    // (extern "C") mistake fails to compile or to link.
    const char *(*version)(void) = &clv_version;
    const char *(*status_str)(int) = &clv_status_str;

    std::printf("libclv %s from C++: %s\n", version(), status_str(st));
    return clv_version_number() == CLV_VERSION_NUMBER ? 0 : 1;
}
