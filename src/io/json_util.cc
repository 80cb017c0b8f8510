#include "io/json_util.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lowbit {

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, ": no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path, ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, ": read error");
  return ss.str();
}

Json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail(path, ": invalid JSON at byte ", e.byte, ": ", e.what());
  }
  if (!j.is_object()) fail(path, ": expected a JSON object at the top level");
  return j;
}

namespace {
const Json* field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}
}  // namespace

std::optional<int64_t> optional_int(const Json& j, const char* key, const std::string& where) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer())
    fail(where, ": field \"", key, "\" must be an integer, got ", v->dump());
  return v->get<int64_t>();
}

int64_t required_int(const Json& j, const char* key, const std::string& where) {
  auto v = optional_int(j, key, where);
  if (!v) fail(where, ": missing required field \"", key, "\"");
  return *v;
}

std::optional<double> optional_number(const Json& j, const char* key, const std::string& where) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail(where, ": field \"", key, "\" must be a number, got ", v->dump());
  return v->get<double>();
}

std::optional<bool> optional_bool(const Json& j, const char* key, const std::string& where) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) fail(where, ": field \"", key, "\" must be true or false, got ", v->dump());
  return v->get<bool>();
}

std::optional<std::string> optional_string(const Json& j, const char* key,
                                           const std::string& where) {
  const Json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) fail(where, ": field \"", key, "\" must be a string, got ", v->dump());
  return v->get<std::string>();
}

}  // namespace lowbit
