// A fresh temporary directory per test, removed with its contents.
#ifndef ONESTOP_TESTS_TESTING_TEMP_DIR_H_
#define ONESTOP_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace onestop::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "onestop-XXXXXX";
    path_ = mkdtemp(pattern.data()) ? pattern : "";
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_TEMP_DIR_H_
