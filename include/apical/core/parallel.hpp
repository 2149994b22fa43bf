// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

namespace apical {

/// Runs work(0) ... work(n_threads - 1) on n_threads threads (work(0) on the calling thread) and waits for all.
/// If any of them throws, the distinct messages (one per line) are rethrown as one apical::Error after all have
/// finished.
void parallel_for(int n_threads, const std::function<void(int)>& work);

/// How many workers run n_jobs jobs when `requested` were asked for (0 = one per core): between 1 and n_jobs.
int job_workers(int requested, std::size_t n_jobs);

/// Runs job(0) ... job(n_jobs - 1), up to n_workers at a time: each worker (worker 0 is the calling thread) takes
/// the next job in order when it is free. When a job throws, `stop` is set, so that the running jobs can end early
/// (a training polls it, checkpoints and returns), and no further job starts; a `stop` set from outside (a signal
/// handler) also keeps further jobs from starting. After every worker has returned, the distinct failure messages
/// are rethrown as one apical::Error (as parallel_for), and `stop` is cleared again if a failure set it. Returns
/// the number of jobs started: fewer than n_jobs only when `stop` was set from outside.
std::size_t run_jobs(int n_workers, std::size_t n_jobs, const std::function<void(std::size_t)>& job,
                     std::atomic<bool>& stop);

}  // namespace apical
