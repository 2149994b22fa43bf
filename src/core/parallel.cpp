// SPDX-License-Identifier: Apache-2.0
#include "apical/core/parallel.hpp"

#include <algorithm>
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

int job_workers(int requested, std::size_t n_jobs) {
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const int want = requested > 0 ? requested : cores;
  return static_cast<int>(
      std::clamp<std::size_t>(static_cast<std::size_t>(want), 1, std::max<std::size_t>(1, n_jobs)));
}

std::size_t run_jobs(int n_workers, std::size_t n_jobs, const std::function<void(std::size_t)>& job,
                     std::atomic<bool>& stop) {
  if (n_jobs == 0) return 0;
  const auto workers = std::min(n_jobs, static_cast<std::size_t>(std::max(1, n_workers)));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stopped_by_failure{false};
  try {
    parallel_for(static_cast<int>(workers), [&](int /*worker*/) {
      try {
        while (!stop.load()) {
          const std::size_t k = next++;
          if (k >= n_jobs) return;
          job(k);
        }
      } catch (const std::exception&) {
        if (!stop.exchange(true)) stopped_by_failure.store(true);
        throw;
      }
    });
  } catch (const std::exception&) {
    if (stopped_by_failure.load()) stop.store(false);
    throw;
  }
  return std::min(next.load(), n_jobs);
}

}  // namespace apical
