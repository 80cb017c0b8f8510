// Reading JSON files with errors that name the file and the field at fault.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lowbit {

using Json = nlohmann::json;

// Whole file as bytes; throws naming the path when it is missing, a directory or unreadable.
std::string read_file(const std::string& path);
// Parses `path` as JSON (a top-level object). Throws lowbit::Error naming the path and the
// parser's byte position on a syntax error.
Json read_json_file(const std::string& path);

// Typed field access: `where` names the file in messages ("config.json").
// required_*: the field must exist with the right type; optional_*: absent or null -> nullopt,
// present with the wrong type -> error.
int64_t required_int(const Json& j, const char* key, const std::string& where);
std::optional<int64_t> optional_int(const Json& j, const char* key, const std::string& where);
std::optional<double> optional_number(const Json& j, const char* key, const std::string& where);
std::optional<bool> optional_bool(const Json& j, const char* key, const std::string& where);
std::optional<std::string> optional_string(const Json& j, const char* key,
                                           const std::string& where);

}  // namespace lowbit
