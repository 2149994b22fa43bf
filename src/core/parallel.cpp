// SPDX-License-Identifier: Apache-2.0
#include "apical/core/parallel.hpp"

#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "apical/core/error.hpp"

namespace apical {

void parallel_for(int n_threads, const std::function<void(int)>& work) {
  const int n = n_threads < 1 ? 1 : n_threads;
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  auto guarded = [&](int t) {
    try {
      work(t);
    } catch (const std::exception& e) {
      errors[static_cast<std::size_t>(t)] = e.what();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(guarded, t);
  guarded(0);
  for (auto& th : pool) th.join();
  // Every distinct failure, so that a root cause is not hidden behind the failures it caused in other threads.
  std::string all;
  for (const auto& e : errors) {
    if (e.empty() || all.find(e) != std::string::npos) continue;
    all += all.empty() ? e : "\n" + e;
  }
  if (!all.empty()) throw Error(all);
}

}  // namespace apical
