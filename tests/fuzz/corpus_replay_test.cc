// Replays the committed fuzz corpora (tests/fuzz/corpus/<target>/) through
// the fuzz entry functions with the normal compiler: every seed and every
// crash a fuzzer found (saved there as crash-<sha1>) stays a regression
// test, whether or not clang and libFuzzer are installed.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fuzz/fuzz_entries.h"

namespace onestop::fuzz {
namespace {

std::vector<std::filesystem::path> CorpusFiles(const std::string& target) {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir = std::filesystem::path(ONESTOP_FUZZ_CORPUS_DIR) / target;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  return files;
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

template <typename Entry>
void Replay(const std::string& target, Entry entry) {
  const auto files = CorpusFiles(target);
  ASSERT_GE(files.size(), 3u) << "the " << target << " corpus is missing";
  for (const auto& file : files) {
    EXPECT_EQ(entry(ReadAll(file)), "") << file;
  }
}

TEST(CorpusReplayTest, SubmitAndAction) {
  // One base dossier per reachable status, for each of two procedures.
  EXPECT_GE(SubmitActionBaseCount(), 20);
  Replay("submit_action", FuzzSubmitAndAction);
}

TEST(CorpusReplayTest, Config) { Replay("config", FuzzConfig); }

TEST(CorpusReplayTest, PageToken) { Replay("page_token", FuzzPageToken); }

// The properties themselves catch what they claim to.
TEST(CorpusReplayTest, EntriesAcceptTrivialInputs) {
  EXPECT_EQ(FuzzSubmitAndAction(""), "");
  EXPECT_EQ(FuzzSubmitAndAction(std::string(5, '\0')), "");
  EXPECT_EQ(FuzzConfig(""), "");  // an empty config is an error with a file name, or OK
  EXPECT_EQ(FuzzConfig("name: \"x\" levels {"), "");
  EXPECT_EQ(FuzzPageToken(std::string("\x02qqdjE", 6)), "");
}

}  // namespace
}  // namespace onestop::fuzz
