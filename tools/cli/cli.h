// The lowbit command line: a tiny argument parser shared by the subcommands.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace lowbit::cli {

// Thrown for a malformed command line (exit status 2, with a hint to --help).
struct UsageError {
  std::string message;
};

struct Args {
  std::map<std::string, std::string> options;  // --name value (or "" for switches)
  std::vector<std::string> positional;
  bool has(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  long get_int(const std::string& name, long fallback) const;
};

// `with_value` names options that take a value; `switches` those that do not. Anything else
// starting with "--" is a usage error. "-" alone is positional (standard input).
Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
                const std::set<std::string>& switches);

// "1,8,32" -> {1, 8, 32}; each value >= 1 (else a UsageError naming `what`).
std::vector<long> parse_list(const std::string& s, const char* what);

int cmd_bench(const std::vector<std::string>& argv);
int cmd_classify(const std::vector<std::string>& argv);
int cmd_embed(const std::vector<std::string>& argv);
int cmd_info(const std::vector<std::string>& argv);
int cmd_quantize(const std::vector<std::string>& argv);
int cmd_tune(const std::vector<std::string>& argv);
int cmd_tune_gemm(const std::vector<std::string>& argv);

}  // namespace lowbit::cli
