#include "../clv_internal.h"

CLV_API const char *clv_version(void) { return CLV_VERSION_STRING; }
CLV_API uint32_t clv_version_number(void) { return CLV_VERSION_NUMBER; }
CLV_API uint32_t clv_abi_version(void) { return CLV_ABI_VERSION; }
