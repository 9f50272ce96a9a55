#include "hakmem/superslab/free_block.h"

namespace hakmem {

uint64_t g_free_key_secret = 0;

}  // namespace hakmem
