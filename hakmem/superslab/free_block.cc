#include "hakmem/superslab/free_block.h"

namespace hakmem::internal {

uint64_t g_free_key_secret = 0;
uint64_t g_link_multiplier = 1;

}  // namespace hakmem::internal
