#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "core/error.h"

namespace lowbit {

using nlohmann::json;

namespace {

// The reference implementation's limit; also bounds the memory the JSON DOM can take.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr uint64_t kMaxInt64 = uint64_t(std::numeric_limits<int64_t>::max());

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Names and values come from untrusted files: escape them so that a message stays one
// printable line, and cut them so that a hostile 1 MB name does not become a 1 MB message.
std::string printable(std::string_view s) {
  constexpr size_t kMax = 120;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

// A short rendering of an offending JSON value for an error message.
std::string describe(const json& j) {
  if (j.is_string()) return "string " + printable(j.get_ref<const std::string&>());
  std::string s = j.dump();
  if (s.size() > 80) s = std::string(j.type_name()) + " " + s.substr(0, 60) + "...";
  return s;
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t read_le64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint64_t(p[i]);
  return v;
}

// Element count, or nullopt when it does not fit in int64. Zero dimensions are left out of
// the overflow check so that any left-to-right partial product of an accepted shape also fits
// (TensorView::numel relies on that).
std::optional<uint64_t> checked_numel(const std::vector<int64_t>& shape) {
  uint64_t nonzero = 1;
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero, uint64_t(d), &nonzero) || nonzero > kMaxInt64)
      return std::nullopt;
  }
  return has_zero ? 0 : nonzero;
}

// nlohmann keeps the last of duplicate keys silently; the parse callback sees every key, so
// duplicates are rejected here, at any depth.
json parse_header(const char* text, size_t n, const std::string& label) {
  struct Frame {
    bool top;
    std::unordered_set<std::string> keys;
  };
  std::vector<Frame> frames;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames.push_back({depth == 0, {}});
        break;
      case json::parse_event_t::object_end:
        frames.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!frames.back().keys.insert(key).second) {
          if (frames.back().top)
            fail(label, ": duplicate tensor name ", printable(key), " in header");
          fail(label, ": duplicate key ", printable(key), " in header");
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore what follows; a
  // raw NUL is never valid JSON, so reject it here.
  if (const void* nul = std::memchr(text, 0, n))
    fail(label, ": header is not valid JSON: NUL byte at header offset ",
         static_cast<const char*>(nul) - text);
  try {
    return json::parse(text, text + n, callback);
  } catch (const json::exception& e) {
    fail(label, ": header is not valid JSON: ", e.what());
  }
}

struct Parsed {
  TensorView view;
  uint64_t begin, end;
};

Parsed parse_entry(const std::string& label, const std::string& name, const json& v,
                   const std::byte* data, uint64_t data_size) {
  const std::string where = label + ": tensor " + printable(name);
  if (!v.is_object()) fail(where, ": entry is not a JSON object (got ", v.type_name(), ")");
  auto field = [&](const char* key) -> const json& {
    const auto it = v.find(key);
    if (it == v.end()) fail(where, ": missing \"", key, "\"");
    return *it;
  };

  const json& jdtype = field("dtype");
  if (!jdtype.is_string()) fail(where, ": \"dtype\" is not a string (got ", describe(jdtype), ")");
  const auto& dtype_text = jdtype.get_ref<const std::string&>();
  const std::optional<DType> dtype = parse_dtype(dtype_text);
  if (!dtype) fail(where, ": unknown dtype ", printable(dtype_text));

  const json& jshape = field("shape");
  if (!jshape.is_array()) fail(where, ": \"shape\" is not an array (got ", describe(jshape), ")");
  std::vector<int64_t> shape;
  shape.reserve(jshape.size());
  for (size_t i = 0; i < jshape.size(); ++i) {
    const json& d = jshape[i];
    if (!d.is_number_unsigned() || d.get<uint64_t>() > kMaxInt64)
      fail(where, ": shape[", i, "] is not a non-negative integer (got ", describe(d), ")");
    shape.push_back(int64_t(d.get<uint64_t>()));
  }
  const std::optional<uint64_t> numel = checked_numel(shape);
  if (!numel) fail(where, ": element count of shape ", shape_str(shape), " overflows int64");
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(*numel, uint64_t(dtype_size(*dtype)), &nbytes))
    fail(where, ": byte size of shape ", shape_str(shape), " x ", dtype_text, " overflows");

  const json& joff = field("data_offsets");
  if (!joff.is_array() || joff.size() != 2 || !joff[0].is_number_unsigned() ||
      !joff[1].is_number_unsigned())
    fail(where, ": \"data_offsets\" is not two non-negative integers [begin, end] (got ",
         describe(joff), ")");
  const uint64_t begin = joff[0].get<uint64_t>();
  const uint64_t end = joff[1].get<uint64_t>();
  if (begin > end) fail(where, ": data_offsets begin ", begin, " > end ", end);
  if (end > data_size)
    fail(where, ": data_offsets [", begin, ", ", end, "] end beyond the data section (", data_size,
         " bytes)");
  if (end - begin != nbytes)
    fail(where, ": data_offsets [", begin, ", ", end, "] span ", end - begin, " bytes but shape ",
         shape_str(shape), " x ", dtype_text, " needs ", nbytes);

  TensorView view{name, *dtype, std::move(shape), {data + begin, size_t(nbytes)}};
  return {std::move(view), begin, end};
}

// Sorted by begin, a non-empty range overlaps an earlier one exactly when it starts before the
// furthest end seen so far. Empty ranges hold no bytes and overlap nothing.
void check_overlaps(const std::string& label, const std::vector<Parsed>& sorted) {
  const Parsed* furthest = nullptr;
  for (const Parsed& p : sorted) {
    if (p.end == p.begin) continue;
    if (furthest && p.begin < furthest->end)
      fail(label, ": tensors ", printable(furthest->view.name), " [", furthest->begin, ", ",
           furthest->end, ") and ", printable(p.view.name), " [", p.begin, ", ", p.end,
           ") overlap");
    if (!furthest || p.end > furthest->end) furthest = &p;
  }
}

void write_all(int fd, const std::byte* p, size_t n, const std::string& path,
               const std::string& tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    // A regular file that accepts 0 bytes is out of space in all but name.
    const int err = w < 0 ? errno : ENOSPC;
    if (w <= 0) fail("write_safetensors ", path, ": cannot write ", tmp, ": ", errno_text(err));
    p += w;
    n -= size_t(w);
  }
}

}  // namespace

struct SafeTensors::Mapping {
  void* addr = nullptr;  // from mmap; null for an owned buffer or an empty file
  size_t len = 0;
  std::vector<std::byte> owned;  // from_bytes keeps its copy here

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (addr) ::munmap(addr, len);
  }
};

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafeTensors::SafeTensors(SafeTensors&& o) noexcept
    : path_(std::move(o.path_)),
      map_(std::move(o.map_)),
      base_(std::exchange(o.base_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      tensors_(std::exchange(o.tensors_, {})),
      by_name_(std::exchange(o.by_name_, {})),
      metadata_(std::exchange(o.metadata_, {})) {}

SafeTensors& SafeTensors::operator=(SafeTensors&& o) noexcept {
  if (this != &o) {
    // Views into the old mapping go before the mapping itself.
    tensors_ = std::exchange(o.tensors_, {});
    by_name_ = std::exchange(o.by_name_, {});
    metadata_ = std::exchange(o.metadata_, {});
    map_ = std::move(o.map_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    path_ = std::move(o.path_);
  }
  return *this;
}

SafeTensors::~SafeTensors() = default;

SafeTensors SafeTensors::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO by mistake must fail below, not hang waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(path, ": cannot open safetensors file: ", errno_text(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, ": cannot stat: ", errno_text(errno));
  if (S_ISDIR(st.st_mode)) fail(path, ": is a directory, not a safetensors file");
  if (!S_ISREG(st.st_mode)) fail(path, ": not a regular file");

  SafeTensors out;
  out.path_ = path;
  out.map_ = std::make_unique<Mapping>();
  out.size_ = size_t(st.st_size);
  if (out.size_ > 0) {  // mmap of length 0 is EINVAL; parse() reports the empty file
    // A file truncated by someone else while mapped would SIGBUS on access; files are
    // expected to be immutable while open, as with every mmap-based loader.
    void* addr = ::mmap(nullptr, out.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) fail(path, ": mmap failed: ", errno_text(errno));
    out.map_->addr = addr;
    out.map_->len = out.size_;
    out.base_ = static_cast<const std::byte*>(addr);
  }
  out.parse();
  return out;
}

SafeTensors SafeTensors::from_bytes(std::span<const std::byte> data, const std::string& label) {
  SafeTensors out;
  out.path_ = label;
  out.map_ = std::make_unique<Mapping>();
  out.map_->owned.assign(data.begin(), data.end());
  out.base_ = out.map_->owned.data();
  out.size_ = out.map_->owned.size();
  out.parse();
  return out;
}

void SafeTensors::parse() {
  const std::string& label = path_;
  if (size_ == 0) fail(label, ": empty file (0 bytes), not a safetensors file");
  if (size_ < 8) fail(label, ": file too short (", size_, " bytes) for the 8-byte header length");
  const uint64_t header_len = read_le64(base_);
  if (header_len == 0) fail(label, ": header length is 0");
  if (header_len > kMaxHeaderBytes)
    fail(label, ": header length ", header_len, " exceeds the limit of ", kMaxHeaderBytes,
         " bytes");
  if (header_len > size_ - 8)
    fail(label, ": header length ", header_len, " runs past the end of the file (8 + ", header_len,
         " > ", size_, " bytes)");

  const json header =
      parse_header(reinterpret_cast<const char*>(base_ + 8), size_t(header_len), label);
  if (!header.is_object())
    fail(label, ": header is not a JSON object (got ", header.type_name(), ")");

  const std::byte* data = base_ + 8 + header_len;
  const uint64_t data_size = size_ - 8 - header_len;
  std::vector<Parsed> parsed;
  parsed.reserve(header.size());
  try {
    for (const auto& [name, value] : header.items()) {
      if (name != "__metadata__") {
        parsed.push_back(parse_entry(label, name, value, data, data_size));
        continue;
      }
      if (!value.is_object())
        fail(label, ": \"__metadata__\" is not a JSON object (got ", value.type_name(), ")");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string())
          fail(label, ": \"__metadata__\" value for key ", printable(key), " is not a string (got ",
               describe(v), ")");
        metadata_.emplace(key, v.get<std::string>());
      }
    }
  } catch (const json::exception& e) {  // checks above make this unreachable; keep it an Error
    fail(label, ": malformed header: ", e.what());
  }

  // Name breaks ties so that the order does not depend on the header's key order.
  std::sort(parsed.begin(), parsed.end(), [](const Parsed& a, const Parsed& b) {
    return std::tie(a.begin, a.end, a.view.name) < std::tie(b.begin, b.end, b.view.name);
  });
  check_overlaps(label, parsed);

  tensors_.reserve(parsed.size());
  for (Parsed& p : parsed) tensors_.push_back(std::move(p.view));
  by_name_.resize(tensors_.size());
  for (size_t i = 0; i < by_name_.size(); ++i) by_name_[i] = uint32_t(i);
  std::sort(by_name_.begin(), by_name_.end(),
            [&](uint32_t a, uint32_t b) { return tensors_[a].name < tensors_[b].name; });
}

const TensorView* SafeTensors::find(std::string_view name) const {
  const auto it = std::lower_bound(
      by_name_.begin(), by_name_.end(), name,
      [&](uint32_t i, std::string_view n) { return std::string_view(tensors_[i].name) < n; });
  if (it == by_name_.end() || tensors_[*it].name != name) return nullptr;
  return &tensors_[*it];
}

const TensorView& SafeTensors::at(std::string_view name) const {
  const TensorView* t = find(name);
  if (!t) fail(path_, ": no tensor named ", printable(name));
  return *t;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string who = "write_safetensors " + path;
  // ordered_json keeps insertion order, so the header lists tensors as given.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = header["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  std::unordered_set<std::string_view> names;
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    const std::string where = who + ": tensor " + printable(t.name);
    if (t.name == "__metadata__") fail(where, ": the name is reserved for metadata");
    if (!names.insert(t.name).second) fail(who, ": duplicate tensor name ", printable(t.name));
    if (dtype_size(t.dtype) == 0) fail(where, ": invalid dtype ", int(t.dtype));
    for (size_t i = 0; i < t.shape.size(); ++i)
      if (t.shape[i] < 0) fail(where, ": shape[", i, "] is negative (", t.shape[i], ")");
    const std::optional<uint64_t> numel = checked_numel(t.shape);
    uint64_t nbytes = 0;
    if (!numel || __builtin_mul_overflow(*numel, uint64_t(dtype_size(t.dtype)), &nbytes))
      fail(where, ": byte size of shape ", shape_str(t.shape), " overflows");
    if (t.bytes.size() != nbytes)
      fail(where, ": has ", t.bytes.size(), " bytes but shape ", shape_str(t.shape), " x ",
           dtype_name(t.dtype), " needs ", nbytes);
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", nlohmann::ordered_json::array({offset, offset + nbytes})}};
    offset += nbytes;
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // e.g. a name that is not valid UTF-8
    fail(who, ": cannot encode header: ", e.what());
  }
  // 8-byte length + padded header keeps the data section 8-aligned in the file.
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderBytes)
    fail(who, ": header of ", text.size(), " bytes exceeds the limit of ", kMaxHeaderBytes);

  std::byte prefix[8];
  for (int i = 0; i < 8; ++i) prefix[i] = std::byte((uint64_t(text.size()) >> (8 * i)) & 0xff);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(who, ": cannot create ", tmp, ": ", errno_text(errno));
  try {
    write_all(fd, prefix, 8, path, tmp);
    write_all(fd, reinterpret_cast<const std::byte*>(text.data()), text.size(), path, tmp);
    for (const TensorToWrite& t : tensors) write_all(fd, t.bytes.data(), t.bytes.size(), path, tmp);
    // Without fsync a crash after rename can leave an empty file under the final name.
    if (::fsync(fd) != 0) fail(who, ": cannot sync ", tmp, ": ", errno_text(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(who, ": cannot close ", tmp, ": ", errno_text(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(who, ": cannot rename ", tmp, " to ", path, ": ", errno_text(err));
  }
}

}  // namespace lowbit
