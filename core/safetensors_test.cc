#include "core/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace twophase {
namespace {

namespace fs = std::filesystem;

// A fresh, empty directory per test under gtest's temp dir.
class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("safetensors_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string U64Le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

template <typename T>
std::string Raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

// A safetensors file from a header text and a data section.
std::string MakeFile(const std::string& header, const std::string& data) {
  return U64Le(header.size()) + header + data;
}

// The model most bad-file tests load into: "a" F32 [2].
ParameterBuffer ModelA() {
  ParameterBuffer p;
  p.Add("a", {2});
  p.values()[0] = 7.0f;  // sentinels: a failed load must leave them
  p.values()[1] = -7.0f;
  return p;
}

// Loading `path` into ModelA() fails, the error names the file and contains
// every string in `needles`, and neither values nor metadata changed.
void ExpectLoadFails(const std::string& path, std::initializer_list<std::string> needles) {
  ParameterBuffer p = ModelA();
  std::map<std::string, std::string> meta = {{"keep", "me"}};
  std::string error;
  EXPECT_FALSE(LoadSafetensors(path, &p, &meta, &error));
  EXPECT_NE(error.find("'" + path + "'"), std::string::npos) << error;
  for (const std::string& needle : needles) {
    EXPECT_NE(error.find(needle), std::string::npos)
        << "error '" << error << "' lacks '" << needle << "'";
  }
  EXPECT_EQ(p.values()[0], 7.0f);
  EXPECT_EQ(p.values()[1], -7.0f);
  EXPECT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta["keep"], "me");
}

// The bytes the Python `safetensors` package writes for
// save_file({"a": torch.tensor([1.0, 2.0])}): header length 56 (54 bytes of
// compact JSON padded with 2 spaces so the data starts 8-aligned), the JSON
// with fields in the order dtype, shape, data_offsets, then 1.0f and 2.0f
// little-endian.
const unsigned char kPythonFile[] = {
    0x38, 0,    0,    0,    0,   0,   0,   0,  // u64 56
    '{',  '"',  'a',  '"',  ':', '{', '"', 'd', 't', 'y', 'p', 'e',  '"',  ':',  '"',
    'F',  '3',  '2',  '"',  ',', '"', 's', 'h', 'a', 'p', 'e', '"',  ':',  '[',  '2',
    ']',  ',',  '"',  'd',  'a', 't', 'a', '_', 'o', 'f', 'f', 's',  'e',  't',  's',
    '"',  ':',  '[',  '0',  ',', '8', ']', '}', '}', ' ', ' ', 0x00, 0x00, 0x80, 0x3f,  // 1.0f
    0x00, 0x00, 0x00, 0x40,                                                             // 2.0f
};

TEST_F(SafetensorsTest, ReadsAndWritesThePythonLayout) {
  const std::string python(reinterpret_cast<const char*>(kPythonFile), sizeof(kPythonFile));
  ASSERT_EQ(python.size(), 72u);
  WriteBytes(Path("py.safetensors"), python);
  ParameterBuffer p = ModelA();
  std::string error;
  ASSERT_TRUE(LoadSafetensors(Path("py.safetensors"), &p, nullptr, &error)) << error;
  EXPECT_EQ(p.values()[0], 1.0f);
  EXPECT_EQ(p.values()[1], 2.0f);
  // Our writer produces the very same bytes.
  ASSERT_TRUE(SaveSafetensors(Path("ours.safetensors"), p, {}, &error)) << error;
  EXPECT_EQ(ReadBytes(Path("ours.safetensors")), python);
}

TEST_F(SafetensorsTest, RoundTripIsBitIdenticalWithMetadata) {
  ParameterBuffer p;
  p.Add("blocks.0.attn.q.weight", {3, 2});
  p.Add("blocks.0.attn.q.bias", {3});
  p.Add("scale", {});  // a scalar: shape [], one element
  p.Add("empty", {0, 4});
  const float special[] = {-0.0f,
                           std::numeric_limits<float>::denorm_min(),
                           std::numeric_limits<float>::quiet_NaN(),
                           std::numeric_limits<float>::infinity(),
                           1.0f / 3.0f,
                           -std::numeric_limits<float>::max()};
  for (int64_t i = 0; i < p.size(); ++i) {
    p.values()[i] = i < 6 ? special[i] : 0.1f * static_cast<float>(i);
    p.grads()[i] = 99.0f;  // gradients are not saved
  }
  const std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"step", "1234"}, {"note", "ünïcode \"quoted\""}};
  std::string error;
  const std::string path = Path("model.safetensors");
  ASSERT_TRUE(SaveSafetensors(path, p, meta, &error)) << error;

  // Layout: header length a multiple of 8, no temporary file left behind.
  const std::string bytes = ReadBytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 4 * static_cast<uint64_t>(p.size()));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  ParameterBuffer q;
  q.Add("blocks.0.attn.q.weight", {3, 2});
  q.Add("blocks.0.attn.q.bias", {3});
  q.Add("scale", {});
  q.Add("empty", {0, 4});
  std::map<std::string, std::string> loaded_meta = {{"stale", "x"}};
  ASSERT_TRUE(LoadSafetensors(path, &q, &loaded_meta, &error)) << error;
  EXPECT_EQ(std::memcmp(p.values(), q.values(), sizeof(float) * p.size()), 0);
  EXPECT_EQ(q.grads()[0], 0.0f);
  EXPECT_EQ(loaded_meta, meta);

  // Saving again over an existing file replaces it atomically.
  p.values()[0] = 5.0f;
  ASSERT_TRUE(SaveSafetensors(path, p, {}, &error)) << error;
  ASSERT_TRUE(LoadSafetensors(path, &q, &loaded_meta, &error)) << error;
  EXPECT_EQ(q.values()[0], 5.0f);
  EXPECT_TRUE(loaded_meta.empty());
}

TEST_F(SafetensorsTest, LoadsInAnyTensorOrderAndOffsets) {
  // Tensors listed and stored in the reverse of the model's order.
  const std::string header = R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  WriteBytes(Path("f"), MakeFile(header, Raw<float>({3.0f, 1.0f, 2.0f})));
  ParameterBuffer p;
  p.Add("a", {2});
  p.Add("b", {1});
  std::string error;
  ASSERT_TRUE(LoadSafetensors(Path("f"), &p, nullptr, &error)) << error;
  EXPECT_EQ(p.values()[0], 1.0f);
  EXPECT_EQ(p.values()[1], 2.0f);
  EXPECT_EQ(p.values()[2], 3.0f);
}

TEST_F(SafetensorsTest, ConvertsF64F16AndBF16) {
  struct Case {
    const char* dtype;
    std::string data;
  };
  const Case cases[] = {
      {"F64", Raw<double>({1.5, -1e-3})},
      // F16: 1.5 = 0x3e00; -1e-3 rounds to 0x9419 = -0.0010004043579101562.
      {"F16", Raw<uint16_t>({0x3e00, 0x9419})},
      // BF16: the top halves of 1.5f (0x3fc0) and -1e-3f (0xba83), the
      // latter -0.00099945068359375.
      {"BF16", Raw<uint16_t>({0x3fc0, 0xba83})},
  };
  const float expected_second[] = {-1e-3f, -0.0010004043579101562f, -0.00099945068359375f};
  for (int k = 0; k < 3; ++k) {
    const Case& c = cases[k];
    const std::string header = std::string(R"({"a":{"dtype":")") + c.dtype +
                               R"(","shape":[2],"data_offsets":[0,)" +
                               std::to_string(c.data.size()) + "]}}";
    WriteBytes(Path(c.dtype), MakeFile(header, c.data));
    ParameterBuffer p = ModelA();
    std::string error;
    ASSERT_TRUE(LoadSafetensors(Path(c.dtype), &p, nullptr, &error)) << error;
    EXPECT_EQ(p.values()[0], 1.5f) << c.dtype;
    EXPECT_EQ(p.values()[1], expected_second[k]) << c.dtype;
  }
}

TEST_F(SafetensorsTest, ConvertsF16SpecialValues) {
  // Smallest subnormal 2^-24, largest normal 65504, -inf, -0.
  const std::string header = R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})";
  WriteBytes(Path("f"), MakeFile(header, Raw<uint16_t>({0x0001, 0x7bff, 0xfc00, 0x8000})));
  ParameterBuffer p;
  p.Add("a", {4});
  std::string error;
  ASSERT_TRUE(LoadSafetensors(Path("f"), &p, nullptr, &error)) << error;
  EXPECT_EQ(p.values()[0], 5.9604644775390625e-8f);
  EXPECT_EQ(p.values()[1], 65504.0f);
  EXPECT_EQ(p.values()[2], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(p.values()[3]) && p.values()[3] == 0.0f);
}

// --- every kind of bad file --------------------------------------------------

const char kGoodA[] = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

TEST_F(SafetensorsTest, RejectsWrongName) {
  WriteBytes(Path("f"), MakeFile(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("f"), {"'x'", "unexpected"});
}

TEST_F(SafetensorsTest, RejectsMissingName) {
  WriteBytes(Path("f"), MakeFile(std::string("{") + kGoodA + "}", Raw<float>({1, 2})));
  ParameterBuffer p = ModelA();
  p.Add("b", {1});
  std::string error;
  EXPECT_FALSE(LoadSafetensors(Path("f"), &p, nullptr, &error));
  EXPECT_NE(error.find("'b'"), std::string::npos) << error;
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
  EXPECT_EQ(p.values()[0], 7.0f);  // "a" was fine, but nothing is loaded
  EXPECT_EQ(p.values()[1], -7.0f);
}

TEST_F(SafetensorsTest, RejectsExtraName) {
  WriteBytes(Path("f"), MakeFile(std::string("{") + kGoodA +
                                     R"(,"c":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                 Raw<float>({1, 2, 3})));
  ExpectLoadFails(Path("f"), {"'c'", "unexpected"});
}

TEST_F(SafetensorsTest, RejectsWrongShape) {
  WriteBytes(Path("f"), MakeFile(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})",
                                 Raw<float>({1, 2, 3})));
  ExpectLoadFails(Path("f"), {"'a'", "shape [3]", "[2]"});
  WriteBytes(Path("g"), MakeFile(R"({"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("g"), {"'a'", "shape [2, 1]"});
  WriteBytes(Path("h"), MakeFile(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("h"), {"'a'", "'shape'", "non-negative"});
}

TEST_F(SafetensorsTest, RejectsUnsupportedDtype) {
  WriteBytes(Path("f"), MakeFile(R"({"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})",
                                 Raw<int64_t>({1, 2})));
  ExpectLoadFails(Path("f"), {"'a'", "dtype 'I64'", "not supported"});
  WriteBytes(Path("g"),
             MakeFile(R"({"a":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", Raw<float>({1, 2})));
  ExpectLoadFails(Path("g"), {"'a'", "'dtype'"});
}

TEST_F(SafetensorsTest, RejectsOffsetsOfTheWrongLength) {
  // F32 [2] needs 8 bytes; the offsets give 4 (or F64's 16 would be needed).
  WriteBytes(Path("f"), MakeFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("f"), {"'a'", "span 4 bytes", "needs 8"});
  WriteBytes(Path("g"), MakeFile(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("g"), {"'a'", "needs 16"});
  WriteBytes(Path("h"), MakeFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("h"), {"'a'", "'data_offsets'", "begin <= end"});
  WriteBytes(Path("i"), MakeFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("i"), {"'a'", "'data_offsets'"});
}

TEST_F(SafetensorsTest, RejectsTruncatedData) {
  // Offsets reach past the end of a 4-byte data section.
  WriteBytes(Path("f"), MakeFile(std::string("{") + kGoodA + "}", Raw<float>({1})));
  ExpectLoadFails(Path("f"), {"'a'", "'data_offsets'", "truncated"});
  // A file our writer made, cut short by one byte.
  ParameterBuffer p = ModelA();
  std::string error;
  ASSERT_TRUE(SaveSafetensors(Path("g"), p, {}, &error)) << error;
  std::string bytes = ReadBytes(Path("g"));
  bytes.pop_back();
  WriteBytes(Path("g"), bytes);
  ExpectLoadFails(Path("g"), {"'a'", "truncated"});
}

TEST_F(SafetensorsTest, RejectsBadHeaderLength) {
  const std::string header = std::string("{") + kGoodA + "}";
  WriteBytes(Path("f"), U64Le(header.size() + 100) + header + Raw<float>({1, 2}));
  ExpectLoadFails(Path("f"), {"header length", "exceeds"});
  WriteBytes(Path("g"), U64Le(std::numeric_limits<uint64_t>::max()) + header);
  ExpectLoadFails(Path("g"), {"header length", "exceeds"});
  WriteBytes(Path("h"), std::string("\x10\0\0", 3));
  ExpectLoadFails(Path("h"), {"shorter than"});
  WriteBytes(Path("i"), "");
  ExpectLoadFails(Path("i"), {"shorter than"});
}

TEST_F(SafetensorsTest, RejectsGarbageJson) {
  WriteBytes(Path("f"), MakeFile("{\"a\": [1, 2,,}", Raw<float>({1, 2})));
  ExpectLoadFails(Path("f"), {"not valid JSON"});
  WriteBytes(Path("g"), MakeFile("[1, 2, 3, 4]", ""));
  ExpectLoadFails(Path("g"), {"'{'"});
  WriteBytes(Path("h"), MakeFile("{\"a\": \"\xff\xfe\"}", ""));  // bad UTF-8
  ExpectLoadFails(Path("h"), {"not valid JSON"});
  WriteBytes(Path("i"),
             MakeFile(std::string("{") + kGoodA + "," + kGoodA + "}", Raw<float>({1, 2})));
  ExpectLoadFails(Path("i"), {"key \"a\" appears twice"});
  WriteBytes(Path("j"), MakeFile(R"({"a":[0,8]})", Raw<float>({1, 2})));
  ExpectLoadFails(Path("j"), {"'a'", "not a JSON object"});
}

// The reference reader demands that the tensors tile the data section.
// Overlapping ranges loaded one region into two parameters, and a gap or
// trailing bytes went unnoticed.
TEST_F(SafetensorsTest, RejectsOverlapsGapsAndTrailingBytes) {
  ParameterBuffer p;
  p.Add("a", {2});
  p.Add("b", {1});
  std::string error;
  auto load = [&](const std::string& header, const std::string& data) {
    WriteBytes(Path("f"), MakeFile(header, data));
    return LoadSafetensors(Path("f"), &p, nullptr, &error);
  };
  const std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_FALSE(load(overlap, Raw<float>({1, 2})));
  EXPECT_NE(error.find("tensor 'b': data_offsets [4, 8] must start at 8"), std::string::npos)
      << error;
  EXPECT_NE(error.find("overlap"), std::string::npos) << error;
  const std::string gap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})";
  EXPECT_FALSE(load(gap, Raw<float>({1, 2, 3, 4})));
  EXPECT_NE(error.find("'b': data_offsets [12, 16] must start at 8 (a gap"), std::string::npos)
      << error;
  const std::string late = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})";
  EXPECT_FALSE(load(late, Raw<float>({1, 2, 3, 4})));
  EXPECT_NE(error.find("'a': data_offsets [4, 12] must start at 0"), std::string::npos) << error;
  const std::string tiled = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  EXPECT_FALSE(load(tiled, Raw<float>({1, 2, 3, 4})));
  EXPECT_NE(error.find("cover 12 bytes of the 16-byte data section"), std::string::npos) << error;
  EXPECT_TRUE(load(tiled, Raw<float>({1, 2, 3}))) << error;
  // Zero-size tensors tile too: an empty range anywhere in the order.
  ParameterBuffer z;
  z.Add("a", {2});
  z.Add("e", {0});
  WriteBytes(Path("z"), MakeFile(R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},)"
                                 R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                                 Raw<float>({1, 2})));
  EXPECT_TRUE(LoadSafetensors(Path("z"), &z, nullptr, &error)) << error;
}

// 100,000 nested arrays in a shape overflowed the stack (rc 139) when the
// error message printed the shape; duplicate keys inside an entry were kept
// silently (the last one won).
TEST_F(SafetensorsTest, RejectsDeepNestingAndNestedDuplicateKeys) {
  const std::string deep = std::string(R"({"a":{"dtype":"F32","shape":)") +
                           std::string(100000, '[') + std::string(100000, ']') +
                           R"(,"data_offsets":[0,8]}})";
  WriteBytes(Path("f"), MakeFile(deep, Raw<float>({1, 2})));
  ExpectLoadFails(Path("f"),
                  {"header: arrays and objects nest deeper than 64 levels", "a.shape[0][0]"});
  WriteBytes(Path("g"),
             MakeFile(R"({"a":{"dtype":"F32","shape":[2],"shape":[1],"data_offsets":[0,8]}})",
                      Raw<float>({1, 2})));
  ExpectLoadFails(Path("g"), {"key \"shape\" appears twice in the object at a"});
}

TEST_F(SafetensorsTest, RejectsBadMetadata) {
  WriteBytes(Path("f"), MakeFile(std::string(R"({"__metadata__":{"step":3},)") + kGoodA + "}",
                                 Raw<float>({1, 2})));
  ExpectLoadFails(Path("f"), {"__metadata__", "'step'", "not a string"});
  WriteBytes(Path("g"),
             MakeFile(std::string(R"({"__metadata__":"x",)") + kGoodA + "}", Raw<float>({1, 2})));
  ExpectLoadFails(Path("g"), {"__metadata__"});
}

TEST_F(SafetensorsTest, RejectsNonExistentFile) {
  ExpectLoadFails(Path("does_not_exist.safetensors"), {"cannot open"});
  ExpectLoadFails(dir_.string(), {});  // a directory is no file either
}

TEST_F(SafetensorsTest, SaveReportsUnwritablePath) {
  ParameterBuffer p = ModelA();
  std::string error;
  const std::string path = Path("no/such/dir/model.safetensors");
  EXPECT_FALSE(SaveSafetensors(path, p, {}, &error));
  EXPECT_NE(error.find("'" + path + "'"), std::string::npos) << error;
  // Invalid UTF-8 in metadata makes the JSON writer throw: caught, reported.
  EXPECT_FALSE(SaveSafetensors(Path("m"), p, {{"k", "\xff"}}, &error));
  EXPECT_NE(error.find("cannot save"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(Path("m")));
}

}  // namespace
}  // namespace twophase
