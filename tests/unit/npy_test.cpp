// SPDX-License-Identifier: Apache-2.0
#include "apical/io/npy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"
#include "test_support.hpp"

namespace apical::io {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using test::error_of;

std::string hex(std::string_view bytes) {
  std::string out;
  for (char c : bytes) out += fmt::format("{:02x}", static_cast<unsigned char>(c));
  return out;
}

// Test values for each dtype, including the extremes.
std::vector<double> doubles() {
  return {0.1,
          -0.0,
          4.9e-324,
          std::numeric_limits<double>::max(),
          std::bit_cast<double>(0x7ff8000000000123ULL),
          -std::numeric_limits<double>::infinity()};
}
std::vector<float> floats() {
  return {1.5f, -0.0f, 1e-45f, std::numeric_limits<float>::max(), 3.25f, -7.0f};
}
std::vector<std::int64_t> int64s() {
  return {std::numeric_limits<std::int64_t>::min(), -1, 0, 1, 42, std::numeric_limits<std::int64_t>::max()};
}
std::vector<std::int32_t> int32s() {
  return {std::numeric_limits<std::int32_t>::min(), -1, 0, 1, 7, 2147483647};
}
std::vector<std::uint64_t> uint64s() {
  return {0, 1, 2, 3, 1ULL << 40, std::numeric_limits<std::uint64_t>::max()};
}
std::vector<std::uint32_t> uint32s() {
  return {0, 1, 2, 3, 1U << 31, 4294967295U};
}
std::vector<std::uint8_t> uint8s() {
  return {0, 1, 127, 128, 200, 255};
}

template <class T>
void expect_round_trip(const std::vector<T>& values, std::string_view dtype) {
  test::TempDir dir("npy");
  const fs::path p = dir / "a.npy";
  write_npy(p, values, {2, 3});
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.dtype, dtype);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_FALSE(a.fortran_order);
  EXPECT_EQ(a.size(), 6U);
  const std::vector<T> back = a.as<T>();
  ASSERT_EQ(back.size(), values.size());
  EXPECT_EQ(std::memcmp(back.data(), values.data(), values.size() * sizeof(T)), 0) << dtype;
}

TEST(Npy, RoundTripEachDtypeBitExact) {
  expect_round_trip(doubles(), "<f8");
  expect_round_trip(floats(), "<f4");
  expect_round_trip(int64s(), "<i8");
  expect_round_trip(int32s(), "<i4");
  expect_round_trip(uint64s(), "<u8");
  expect_round_trip(uint32s(), "<u4");
  expect_round_trip(uint8s(), "|u1");
}

TEST(Npy, RoundTripBool) {
  test::TempDir dir("npy");
  const bool values[] = {true, false, false, true};
  write_npy(dir / "b.npy", std::span<const bool>(values), {4});
  const NpyArray a = read_npy(dir / "b.npy");
  EXPECT_EQ(a.dtype, "|b1");
  EXPECT_EQ(a.as<bool>(), (std::vector<bool>{true, false, false, true}));
}

TEST(Npy, HeaderIsVersion1AlignedTo64AndDescribesTheArray) {
  const std::vector<double> v(6, 1.0);
  const std::string bytes = npy_bytes(v, {3, 2});
  ASSERT_GE(bytes.size(), 10U);
  EXPECT_EQ(bytes.substr(0, 6), "\x93NUMPY");
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const std::size_t header_len =
      static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0U);
  EXPECT_EQ(bytes.size(), 10 + header_len + 6 * sizeof(double));
  const std::string header = bytes.substr(10, header_len);
  EXPECT_THAT(header, HasSubstr("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }"));
  EXPECT_EQ(header.back(), '\n');
}

TEST(Npy, ScalarEmptyAndOneDimensionalShapes) {
  test::TempDir dir("npy");
  const double one[] = {2.5};
  write_npy(dir / "s.npy", std::span<const double>(one), {});
  EXPECT_THAT(read_file(dir / "s.npy"), HasSubstr("'shape': (), "));
  EXPECT_EQ(read_npy(dir / "s.npy").as<double>(), std::vector<double>{2.5});

  write_npy(dir / "e.npy", std::vector<float>{}, {0, 3});
  const NpyArray e = read_npy(dir / "e.npy");
  EXPECT_EQ(e.shape, (std::vector<std::size_t>{0, 3}));
  EXPECT_TRUE(e.as<float>().empty());

  write_npy(dir / "v.npy", std::vector<std::int32_t>{1, 2, 3});
  EXPECT_THAT(read_file(dir / "v.npy"), HasSubstr("'shape': (3,), "));
}

TEST(Npy, HugeHeaderUsesVersion2) {
  // 25000 dimensions of extent 1 need a header longer than the 64 KiB that version 1.0 can describe.
  const std::vector<std::size_t> shape(25000, 1);
  const std::vector<std::uint8_t> v{7};
  const std::string bytes = npy_bytes(v, shape);
  EXPECT_EQ(bytes[6], 2);
  const NpyArray a = parse_npy(bytes, "huge.npy");
  EXPECT_EQ(a.shape, shape);
  EXPECT_EQ(a.as<std::uint8_t>(), v);
}

TEST(Npy, ShapeMismatchIsAnError) {
  test::TempDir dir("npy");
  const std::vector<double> v(5, 0.0);
  EXPECT_THAT(error_of([&] { write_npy(dir / "x.npy", v, {2, 3}); }), HasSubstr("needs 6 elements, but 5"));
  EXPECT_FALSE(fs::exists(dir / "x.npy"));
}

TEST(Npy, WrongRequestedDtypeNamesFileAndBothDtypes) {
  test::TempDir dir("npy");
  write_npy(dir / "w.npy", floats(), {6});
  const NpyArray a = read_npy(dir / "w.npy");
  const std::string msg = error_of([&] { a.as<double>(); });
  EXPECT_THAT(msg, HasSubstr((dir / "w.npy").string()));
  EXPECT_THAT(msg, HasSubstr("'<f4' (float32)"));
  EXPECT_THAT(msg, HasSubstr("'<f8' (float64)"));
}

TEST(Npy, ReadErrorsNameTheFile) {
  test::TempDir dir("npy");
  const std::string good = npy_bytes(doubles(), {2, 3});
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& expected) {
    const fs::path p = dir / name;
    test::write_text(p, bytes);
    const std::string msg = error_of([&] { read_npy(p); });
    EXPECT_THAT(msg, HasSubstr(p.string())) << name;
    EXPECT_THAT(msg, HasSubstr(expected)) << name;
  };
  check("magic.npy", "\x93NUMPZ" + good.substr(6), "magic");
  check("empty.npy", "", "magic");
  check("truncated.npy", good.substr(0, good.size() - 1), "truncated");
  check("long.npy", good + "x", "needs 48 bytes, the file has 49");
  check("header.npy", good.substr(0, 40), "truncated");
  check("version.npy", good.substr(0, 6) + "\x07" + good.substr(7), "version 7.0");
  std::string bad_descr = good;
  bad_descr.replace(bad_descr.find("<f8"), 3, "<c8");
  check("descr.npy", bad_descr, "unsupported dtype '<c8'");
  std::string bad_dict = good;
  bad_dict.replace(bad_dict.find("False"), 5, "Maybe");
  check("dict.npy", bad_dict, "invalid .npy header");
  std::string missing_key = good;
  missing_key.replace(missing_key.find("'shape'"), 7, "'shapo'");
  check("key.npy", missing_key, "shapo");
  std::string bad_bool = npy_bytes(uint8s(), {6});
  bad_bool.replace(bad_bool.find("|u1"), 3, "|b1");
  check("bool.npy", bad_bool, "invalid byte value");
}

// ---- Agreement with NumPy itself ------------------------------------------------------------------------------

/// A Python interpreter that has numpy, or "" if none (the PATH's python3 may be a virtualenv without it).
std::string python_with_numpy() {
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string cmd = std::string(candidate) + " -c 'import numpy' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return candidate;
  }
  return "";
}

int run_python(const std::string& python, const fs::path& script) {
  const std::string cmd = python + " '" + script.string() + "' 2>&1";
  return std::system(cmd.c_str());
}

TEST(NpyNumpy, NumpyLoadReadsOurFiles) {
  const std::string python = python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  test::TempDir dir("npy-numpy");
  std::string script = "import numpy, sys\nok = True\n";
  auto add = [&](const std::string& name, const std::string& bytes, const std::string& dtype,
                 const std::string& shape) {
    test::write_text(dir / name, bytes);
    const NpyArray a = parse_npy(bytes, name);
    script += fmt::format(
        "a = numpy.load(r'{}')\n"
        "if a.dtype.str != '{}' or a.shape != {} or a.tobytes().hex() != '{}':\n"
        "    print('mismatch in {}', a.dtype.str, a.shape); ok = False\n",
        (dir / name).string(), dtype, shape, hex(a.data), name, name);
  };
  add("f8.npy", npy_bytes(doubles(), {2, 3}), "<f8", "(2, 3)");
  add("f4.npy", npy_bytes(floats(), {3, 2}), "<f4", "(3, 2)");
  add("i8.npy", npy_bytes(int64s(), {6}), "<i8", "(6,)");
  add("i4.npy", npy_bytes(int32s(), {1, 2, 3}), "<i4", "(1, 2, 3)");
  add("u8.npy", npy_bytes(uint64s(), {6, 1}), "<u8", "(6, 1)");
  add("u4.npy", npy_bytes(uint32s(), {2, 3}), "<u4", "(2, 3)");
  add("u1.npy", npy_bytes(uint8s(), {2, 3}), "|u1", "(2, 3)");
  const bool bools[] = {true, false, true};
  add("b1.npy", npy_bytes(std::span<const bool>(bools), {3}), "|b1", "(3,)");
  const double scalar[] = {-2.5};
  add("scalar.npy", npy_bytes(std::span<const double>(scalar), {}), "<f8", "()");
  // Values as numbers too (not just bytes): C order means a[1, 0] is the fourth value.
  script += fmt::format(
      "a = numpy.load(r'{}')\nif a[1, 0] != numpy.finfo(numpy.float64).max or "
      "not numpy.signbit(a[0, 1]) or a[0, 2] != 5e-324:\n    print('values'); ok = False\n",
      (dir / "f8.npy").string());
  script += "sys.exit(0 if ok else 1)\n";
  test::write_text(dir / "check.py", script);
  EXPECT_EQ(run_python(python, dir / "check.py"), 0) << script;
}

TEST(NpyNumpy, WeReadFilesWrittenByNumpy) {
  const std::string python = python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "python3 with numpy is not available";
  test::TempDir dir("npy-numpy");
  const std::string d = dir.path().string();
  const std::string script = fmt::format(R"(import numpy
d = r'{}'
numpy.save(d + '/f8.npy', numpy.arange(6, dtype='<f8').reshape(2, 3) / 4)
numpy.save(d + '/fortran.npy', numpy.asfortranarray(numpy.arange(24, dtype='<i4').reshape(2, 3, 4)))
numpy.save(d + '/big.npy', numpy.array([1, -2, 300], dtype='>i8'))
numpy.save(d + '/u1.npy', numpy.array([[0, 255]], dtype=numpy.uint8))
numpy.save(d + '/b1.npy', numpy.array([True, False, True]))
numpy.save(d + '/scalar.npy', numpy.float32(1.5))
numpy.save(d + '/empty.npy', numpy.zeros((0, 5)))
)",
                                         d);
  test::write_text(dir / "make.py", script);
  ASSERT_EQ(run_python(python, dir / "make.py"), 0);

  const NpyArray f8 = read_npy(dir / "f8.npy");
  EXPECT_EQ(f8.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(f8.as<double>(), (std::vector<double>{0, 0.25, 0.5, 0.75, 1.0, 1.25}));

  const NpyArray fo = read_npy(dir / "fortran.npy");
  EXPECT_TRUE(fo.fortran_order);
  EXPECT_EQ(fo.shape, (std::vector<std::size_t>{2, 3, 4}));
  std::vector<std::int32_t> c_order(24);
  for (int i = 0; i < 24; ++i) c_order[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(fo.as<std::int32_t>(), c_order);  // transposed into C order on reading

  const NpyArray big = read_npy(dir / "big.npy");
  EXPECT_EQ(big.dtype, "<i8");
  EXPECT_EQ(big.as<std::int64_t>(), (std::vector<std::int64_t>{1, -2, 300}));

  EXPECT_EQ(read_npy(dir / "u1.npy").as<std::uint8_t>(), (std::vector<std::uint8_t>{0, 255}));
  EXPECT_EQ(read_npy(dir / "b1.npy").as<bool>(), (std::vector<bool>{true, false, true}));
  const NpyArray s = read_npy(dir / "scalar.npy");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.as<float>(), std::vector<float>{1.5f});
  const NpyArray e = read_npy(dir / "empty.npy");
  EXPECT_EQ(e.shape, (std::vector<std::size_t>{0, 5}));
  EXPECT_TRUE(e.as<double>().empty());
}

}  // namespace
}  // namespace apical::io
