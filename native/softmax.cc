// Softmax over the last axis (tfjs's Softmax kernel).
#include "ops.h"
#include "pool.h"
#include "softmax.h"

namespace df {

void op::softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) softmax_row(x + r * cols, y + r * cols, cols);
  });
}

}  // namespace df
