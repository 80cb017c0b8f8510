// Bad model folders give one clear error naming the file and field at fault.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/hf_config.h"
#include "io/model_dir.h"
#include "lowbit/engine.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace lowbit {
namespace {

using lowbit::testing::engine_load_error;
using lowbit::testing::minilm_dir;
using lowbit::testing::TempDir;
using Json = nlohmann::json;

// A copy of the real model folder (weights symlinked) whose files a test may then break.
struct ModelCopy {
  TempDir tmp;
  ModelCopy() {
    for (const auto& e : fs::directory_iterator(minilm_dir())) {
      const fs::path dst = tmp.path / e.path().filename();
      if (e.path().filename() == "model.safetensors")
        fs::create_symlink(e.path(), dst);
      else
        fs::copy(e.path(), dst, fs::copy_options::recursive);
    }
  }
  std::string dir() const { return tmp.path.string(); }
  Json config() const { return Json::parse(std::ifstream(tmp.str("config.json"))); }
  void write(const std::string& name, const std::string& text) const {
    fs::remove(tmp.path / name);
    std::ofstream(tmp.str(name), std::ios::binary) << text;
  }
  void set_config(const std::string& key, const Json& value) const {
    Json c = config();
    c[key] = value;
    write("config.json", c.dump());
  }
};

#define EXPECT_ERROR_HAS(dir, ...)                                                          \
  do {                                                                                      \
    const std::string msg_ = engine_load_error(dir);                                        \
    EXPECT_FALSE(msg_.empty()) << "expected a load error";                                  \
    EXPECT_EQ(msg_.find('\n'), std::string::npos) << "not one line: " << msg_;              \
    for (const char* part : {__VA_ARGS__})                                                  \
      EXPECT_NE(msg_.find(part), std::string::npos) << "'" << part << "' not in: " << msg_; \
  } while (0)

class BadModel : public ::testing::Test {
 protected:
  void SetUp() override { LOWBIT_REQUIRE_MINILM(); }
};

TEST_F(BadModel, TheRealOneLoads) {
  ModelCopy m;
  EXPECT_EQ(engine_load_error(m.dir()), "");
}

TEST_F(BadModel, MissingFolderAndFiles) {
  EXPECT_ERROR_HAS("/nonexistent/lowbit-model", "/nonexistent/lowbit-model", "does not exist");
  ModelCopy m;
  EXPECT_ERROR_HAS(m.tmp.str("config.json"), "not a folder");
  // The real folder has both tokenizer.json and vocab.txt: either one alone loads (a
  // transformers-5 folder has only tokenizer.json), neither is an error naming both.
  fs::remove(m.tmp.path / "vocab.txt");
  EXPECT_EQ(engine_load_error(m.dir()), "");
  fs::remove(m.tmp.path / "tokenizer.json");
  EXPECT_ERROR_HAS(m.dir(), "vocab.txt", "tokenizer.json");
  fs::remove(m.tmp.path / "model.safetensors");
  EXPECT_ERROR_HAS(m.dir(), "model.safetensors", "no such file");
  fs::remove(m.tmp.path / "config.json");
  EXPECT_ERROR_HAS(m.dir(), "config.json", "no such file");
}

TEST_F(BadModel, CorruptConfig) {
  ModelCopy m;
  m.write("config.json", "{\"model_type\": \"bert\", ");
  EXPECT_ERROR_HAS(m.dir(), "config.json", "invalid JSON");
  m.write("config.json", "[1, 2]");
  EXPECT_ERROR_HAS(m.dir(), "config.json", "object");
}

TEST_F(BadModel, UnsupportedArchitectureAndFields) {
  ModelCopy m;
  m.set_config("model_type", "gpt2");
  EXPECT_ERROR_HAS(m.dir(), "config.json", "unsupported model_type", "gpt2");
  ModelCopy a;
  a.set_config("architectures", Json::array({"BertLMHeadModelXL"}));
  EXPECT_ERROR_HAS(a.dir(), "unsupported architecture", "BertLMHeadModelXL");
  ModelCopy b;
  b.set_config("hidden_act", "swish");
  EXPECT_ERROR_HAS(b.dir(), "hidden_act", "swish");
  ModelCopy c;
  c.set_config("hidden_size", "384");
  EXPECT_ERROR_HAS(c.dir(), "hidden_size", "integer");
  ModelCopy d;
  d.set_config("num_attention_heads", 7);
  EXPECT_ERROR_HAS(d.dir(), "not divisible");
  ModelCopy e;
  e.set_config("position_embedding_type", "relative_key");
  EXPECT_ERROR_HAS(e.dir(), "position_embedding_type");
}

TEST_F(BadModel, ShapesContradictConfig) {
  ModelCopy m;
  m.set_config("intermediate_size", 1000);
  EXPECT_ERROR_HAS(m.dir(), "model.safetensors", "encoder.layer.0.intermediate.dense.weight",
                   "[1536, 384]", "[1000, 384]");
  ModelCopy l;
  l.set_config("num_hidden_layers", 5);
  EXPECT_ERROR_HAS(l.dir(), "more encoder layers");
  ModelCopy l7;
  l7.set_config("num_hidden_layers", 7);
  EXPECT_ERROR_HAS(l7.dir(), "encoder.layer.6.attention.self.query.weight");
  ModelCopy v;
  v.set_config("vocab_size", 30000);
  EXPECT_ERROR_HAS(v.dir(), "embeddings.word_embeddings.weight", "[30522, 384]");
}

TEST_F(BadModel, VocabDisagreesWithConfig) {
  ModelCopy m;
  fs::remove(m.tmp.path / "tokenizer.json");  // vocab.txt is read when there is no tokenizer.json
  m.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
  EXPECT_ERROR_HAS(m.dir(), "vocab.txt", "6 tokens", "30522");
  // A tokenizer.json may cover fewer rows than the embedding table, never more.
  ModelCopy t;
  Json tok = Json::parse(std::ifstream(t.tmp.str("tokenizer.json")));
  tok["added_tokens"].push_back({{"id", 30522}, {"content", "<extra>"}, {"single_word", false},
                                 {"lstrip", false}, {"rstrip", false}, {"normalized", false},
                                 {"special", true}});
  t.write("tokenizer.json", tok.dump());
  EXPECT_ERROR_HAS(t.dir(), "tokenizer.json", "30523 tokens", "30522");
}

TEST_F(BadModel, TruncatedAndEmptyWeights) {
  const std::string real = minilm_dir() + "/model.safetensors";
  std::ifstream in(real, std::ios::binary);
  std::string head(1 << 20, '\0');
  in.read(head.data(), std::streamsize(head.size()));
  ModelCopy m;
  m.write("model.safetensors", head);
  EXPECT_ERROR_HAS(m.dir(), "model.safetensors");
  m.write("model.safetensors", "");
  EXPECT_ERROR_HAS(m.dir(), "model.safetensors");
}

TEST_F(BadModel, SentenceTransformersFiles) {
  ModelCopy m;
  m.write("1_Pooling/config.json", "{\"pooling_mode_max_tokens\": true}");
  EXPECT_ERROR_HAS(m.dir(), "1_Pooling/config.json", "pooling_mode_max_tokens");
  ModelCopy n;
  n.write("modules.json", "{}");
  EXPECT_ERROR_HAS(n.dir(), "modules.json", "list");
}

TEST_F(BadModel, PlainHuggingFaceFolderDefaultsToCls) {
  ModelCopy m;
  fs::remove(m.tmp.path / "modules.json");
  const ModelDir d = open_model_dir(m.dir());
  EXPECT_FALSE(d.sentence_transformers);
  EXPECT_EQ(d.pooling, Pooling::Cls);
  EXPECT_FALSE(d.normalize);
  EXPECT_EQ(d.max_length, 512);
}

}  // namespace
}  // namespace lowbit
