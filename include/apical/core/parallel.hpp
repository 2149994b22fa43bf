// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

namespace apical {

/// Runs work(0) ... work(n_threads - 1) on n_threads threads (work(0) on the calling thread) and waits for all.
/// If any of them throws, the distinct messages (one per line) are rethrown as one apical::Error after all have
/// finished.
void parallel_for(int n_threads, const std::function<void(int)>& work);

}  // namespace apical
