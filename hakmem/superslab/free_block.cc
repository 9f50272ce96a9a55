#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {

uint64_t g_free_key_secret = 0;

}  // namespace hakmem::internal
