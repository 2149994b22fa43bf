// SPDX-License-Identifier: Apache-2.0
// Machine kernels: what the pieces of a 784-500-10 time step cost on this machine when done as plain loops of
// doubles, compiled like the engine (no -ffast-math). They give the floor in docs/performance.md:
//   memory read bandwidth (a 128 MiB array: far beyond the caches),
//   an L1-resident multiply-add loop (500 doubles; the arithmetic rate the loops get),
//   20 event-driven column adds of W^0 (one step's input spikes into 500 neurons),
//   the 10 x 500 combination of the drive ring, the dense 500 x 784 basal product, 510 sigmoids,
//   the 500 x 784 rank-one weight update of a training example, and the random draws of the spike generators.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "apical/core/rng.hpp"
#include "core/simd.hpp"
#include "models/segregated/kernels.hpp"

namespace {

constexpr std::size_t kPost = 500, kPre = 784;

std::vector<double> random_vector(std::size_t n, std::uint64_t seed) {
  apical::Stream s(seed, "bench.machine");
  std::vector<double> v(n);
  for (auto& x : v) x = s.uniform() - 0.5;
  return v;
}

void BM_MemoryRead(benchmark::State& state) {
  const std::size_t n = (std::size_t{128} << 20) / sizeof(double);
  const std::vector<double> a(n, 1.0);
  for (auto _ : state) {
    double sum0 = 0, sum1 = 0, sum2 = 0, sum3 = 0;
    for (std::size_t i = 0; i < n; i += 4) {
      sum0 += a[i];
      sum1 += a[i + 1];
      sum2 += a[i + 2];
      sum3 += a[i + 3];
    }
    benchmark::DoNotOptimize(sum0 + sum1 + sum2 + sum3);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n * sizeof(double)));
}

void BM_MultiplyAddL1(benchmark::State& state) {
  std::vector<double> y = random_vector(kPost, 1);
  const std::vector<double> x = random_vector(kPost, 2);
  for (auto _ : state) {
    for (int r = 0; r < 100; ++r) {
      for (std::size_t i = 0; i < kPost; ++i) y[i] += x[i] * 1e-9;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 100 * static_cast<std::int64_t>(kPost));
  state.SetLabel("items = multiply-adds");
}

void BM_ColumnAdds20(benchmark::State& state) {
  const std::vector<double> W = random_vector(kPre * kPost, 3);
  std::vector<double> fresh(kPost, 0.0);
  apical::Stream s(4, "bench.machine.units");
  std::vector<std::uint32_t> units(4096);
  for (auto& u : units) u = static_cast<std::uint32_t>(s.below(kPre));
  std::size_t next = 0;
  for (auto _ : state) {
    std::fill(fresh.begin(), fresh.end(), 0.0);
    for (int e = 0; e < 20; ++e) {
      const double* col = &W[units[next++ & 4095] * kPost];
      for (std::size_t i = 0; i < kPost; ++i) fresh[i] += col[i] * 1.0;
    }
    benchmark::DoNotOptimize(fresh.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 20 * static_cast<std::int64_t>(kPost));
  state.SetLabel("items = multiply-adds; 20 random columns of a 784 x 500 W");
}

// Float against double, measured rather than assumed (issue "Fast exact engine"): the hidden layer's drive of one
// step as the engine computes it -- 20 weight columns of a random 784 x 500 W^0 into the fresh per-delay vector,
// then the 10 kernel-weighted per-delay vectors plus the bias -- as plain loops in the element type, compiled in
// the engine's instruction-set clones (AVX-512 / AVX2 / baseline, chosen at load time).
template <typename T>
__attribute__((always_inline)) inline void hidden_drive(const T* W, const std::uint32_t* units, T* const* ring,
                                                        const T* kappa, const T* b, T* basal) {
  T* fresh = ring[0];
  for (std::size_t i = 0; i < kPost; ++i) fresh[i] = 0;
  for (int e = 0; e < 20; ++e) {
    const T* col = W + static_cast<std::size_t>(units[e]) * kPost;
    for (std::size_t i = 0; i < kPost; ++i) fresh[i] += col[i];
  }
  for (std::size_t i = 0; i < kPost; ++i) basal[i] = b[i];
  for (std::size_t d = 0; d < 10; ++d) {
    const T* r = ring[d];
    for (std::size_t i = 0; i < kPost; ++i) basal[i] += kappa[d] * r[i];
  }
}
APICAL_CLONES void hidden_drive_double(const double* W, const std::uint32_t* units, double* const* ring,
                                       const double* kappa, const double* b, double* basal) {
  hidden_drive(W, units, ring, kappa, b, basal);
}
APICAL_CLONES void hidden_drive_float(const float* W, const std::uint32_t* units, float* const* ring,
                                      const float* kappa, const float* b, float* basal) {
  hidden_drive(W, units, ring, kappa, b, basal);
}

template <typename T, typename Kernel>
void hidden_drive_bench(benchmark::State& state, Kernel kernel) {
  const std::vector<double> w = random_vector(kPre * kPost, 3);
  const std::vector<T> W(w.begin(), w.end());
  std::vector<std::vector<T>> ring(10, std::vector<T>(kPost, T(0.01)));
  std::vector<T*> rows;
  for (auto& r : ring) rows.push_back(r.data());
  const std::vector<T> kappa(10, T(0.05)), b(kPost, T(0.1));
  std::vector<T> basal(kPost);
  apical::Stream s(4, "bench.machine.units");
  std::vector<std::uint32_t> units(4096);
  for (auto& u : units) u = static_cast<std::uint32_t>(s.below(kPre));
  std::size_t next = 0;
  for (auto _ : state) {
    kernel(W.data(), &units[next], rows.data(), kappa.data(), b.data(), basal.data());
    next = (next + 20) % (4096 - 20);
    std::rotate(rows.begin(), rows.end() - 1, rows.end());  // the ring advances by one delay per step
    benchmark::DoNotOptimize(basal.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 30 * static_cast<std::int64_t>(kPost));
  state.SetLabel("items = multiply-adds (20 columns + 10 delays, 500 neurons)");
}

void BM_HiddenDriveDouble(benchmark::State& state) {
  hidden_drive_bench<double>(state, hidden_drive_double);
}
void BM_HiddenDriveFloat(benchmark::State& state) {
  hidden_drive_bench<float>(state, hidden_drive_float);
}

void BM_RingCombine10(benchmark::State& state) {
  std::vector<std::vector<double>> ring;
  for (std::uint64_t d = 0; d < 10; ++d) ring.push_back(random_vector(kPost, 10 + d));
  const std::vector<double> b = random_vector(kPost, 5);
  std::vector<double> out(kPost);
  for (auto _ : state) {
    std::fill(out.begin(), out.end(), 0.0);
    for (std::size_t d = 0; d < 10; ++d) {
      const double kd = 0.05 * static_cast<double>(d + 1);
      const double* drive = ring[d].data();
      for (std::size_t i = 0; i < kPost; ++i) out[i] += kd * drive[i];
    }
    for (std::size_t i = 0; i < kPost; ++i) out[i] += b[i];
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10 * static_cast<std::int64_t>(kPost));
  state.SetLabel("items = multiply-adds");
}

void BM_DenseBasal500x784(benchmark::State& state) {
  const std::vector<double> W = random_vector(kPre * kPost, 6);
  const std::vector<double> x = random_vector(kPre, 7);
  std::vector<double> out(kPost);
  for (auto _ : state) {
    std::fill(out.begin(), out.end(), 0.0);
    for (std::size_t j = 0; j < kPre; ++j) {
      const double* col = &W[j * kPost];
      const double xj = x[j];
      for (std::size_t i = 0; i < kPost; ++i) out[i] += col[i] * xj;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kPre * kPost));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(kPre * kPost * sizeof(double)));
  state.SetLabel("items = multiply-adds; bytes = W read");
}

// 510 sigmoids with libm's exp, one call each (the engine's rates before apical::math::exp; compare
// BM_RatesKernel510).
void BM_Sigmoid510(benchmark::State& state) {
  const std::vector<double> x = random_vector(510, 8);
  std::vector<double> y(510);
  for (auto _ : state) {
    for (std::size_t i = 0; i < 510; ++i) y[i] = 0.2 / (1.0 + std::exp(-x[i]));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 510);
  state.SetLabel("items = sigmoids");
}

// The apical potentials of 500 hidden neurons from 10 feedback inputs, each neuron's sum in ascending order (as the
// dense reference), once as the plain loop (one neuron's dependent adds after another) and once with the engine's
// kernel (eight neurons' sums interleaved); the same bits.
void BM_ApicalPlain500x10(benchmark::State& state) {
  const std::vector<double> Y = random_vector(kPost * 10, 20), fb = random_vector(10, 21), c = random_vector(kPost, 22);
  std::vector<double> out(kPost);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kPost; ++i) {
      double acc = 0.0;
      for (std::size_t k = 0; k < 10; ++k) acc += Y[i * 10 + k] * fb[k];
      out[i] = acc + c[i];
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10 * static_cast<std::int64_t>(kPost));
  state.SetLabel("items = multiply-adds");
}

void BM_ApicalKernel500x10(benchmark::State& state) {
  const std::vector<double> Y = random_vector(kPost * 10, 20), fb = random_vector(10, 21), c = random_vector(kPost, 22);
  std::vector<double> out(kPost);
  for (auto _ : state) {
    apical::segregated::kernels::apical(Y.data(), fb.data(), c.data(), out.data(), kPost, 10);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10 * static_cast<std::int64_t>(kPost));
  state.SetLabel("items = multiply-adds");
}

// 510 rates lambda_max sigmoid(x) with the engine's kernel: one vector loop with apical::math::exp inlined; compare
// BM_Sigmoid510.
void BM_RatesKernel510(benchmark::State& state) {
  const std::vector<double> x = random_vector(510, 8);
  std::vector<double> y(510);
  for (auto _ : state) {
    apical::segregated::kernels::rates(x.data(), y.data(), 0.2, 510);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 510);
  state.SetLabel("items = sigmoids");
}

void BM_WeightUpdate500x784(benchmark::State& state) {
  std::vector<double> W = random_vector(kPre * kPost, 9);
  const std::vector<double> coef = random_vector(kPost, 10);
  const std::vector<double> s_bar = random_vector(kPre, 11);
  for (auto _ : state) {
    for (std::size_t j = 0; j < kPre; ++j) {
      double* col = &W[j * kPost];
      const double sj = 1e-12 * s_bar[j];
      for (std::size_t i = 0; i < kPost; ++i) col[i] -= coef[i] * sj;
    }
    benchmark::DoNotOptimize(W.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(kPre * kPost));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(2 * kPre * kPost * sizeof(double)));
  state.SetLabel("items = multiply-adds; bytes = W read + written");
}

/// 100 draws per iteration from a stream of its own; items = draws.
template <class Draw>
void draws(benchmark::State& state, std::uint64_t seed, const char* name, Draw draw, const char* label) {
  apical::Stream s(seed, name);
  for (auto _ : state) {
    double sum = 0;
    for (int k = 0; k < 100; ++k) sum += draw(s);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 100);
  state.SetLabel(label);
}

/// The random numbers of the spike generators: an exponential waiting time (one log) per input spike and per
/// candidate of the thinned neurons, plus a uniform per candidate.
void BM_ExponentialDraw(benchmark::State& state) {
  draws(state, 12, "bench.machine.exponential", [](apical::Stream& s) { return s.exponential(0.2); },
        "items = exponential draws (Philox4x64-10 + ziggurat)");
}

/// The noise of the microcircuit's full dynamics: one standard normal per neuron and step.
void BM_NormalDraw(benchmark::State& state) {
  draws(state, 14, "bench.machine.normal", [](apical::Stream& s) { return s.normal(); },
        "items = normal draws (Philox4x64-10 + ziggurat)");
}

void BM_UniformDraw(benchmark::State& state) {
  draws(state, 13, "bench.machine.uniform", [](apical::Stream& s) { return s.uniform(); },
        "items = uniform draws (Philox4x64-10)");
}

}  // namespace

BENCHMARK(BM_MemoryRead)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultiplyAddL1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ColumnAdds20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RingCombine10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HiddenDriveDouble)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HiddenDriveFloat)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DenseBasal500x784)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Sigmoid510)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RatesKernel510)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ApicalPlain500x10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ApicalKernel500x10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WeightUpdate500x784)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ExponentialDraw)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NormalDraw)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_UniformDraw)->Unit(benchmark::kMicrosecond);
