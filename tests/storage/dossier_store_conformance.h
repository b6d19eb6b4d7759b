// The DossierStore conformance suite: the one specification every backend
// (SQLite, PostgreSQL) and every decorator (metrics, retrying, fault
// injecting with faults off) must pass, written only against the
// DossierStore interface.
//
// A backend's test file instantiates it once per configuration:
//
//   INSTANTIATE_TEST_SUITE_P(
//       Sqlite, DossierStoreConformanceTest,
//       ::testing::Values(StoreFactory{"Memory", [] { return OpenMemoryStore(); }}),
//       StoreFactoryName());
//
// and links `onestop_store_conformance` (an object library, so the TEST_Ps
// are always linked in).
//
// Each test gets a fresh, empty store from the factory and destroys it at
// the end; the suite keeps no state between tests.
#ifndef ONESTOP_TESTS_STORAGE_DOSSIER_STORE_CONFORMANCE_H_
#define ONESTOP_TESTS_STORAGE_DOSSIER_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "storage/dossier_store.h"

namespace onestop::storage::testing {

// Makes fresh, empty stores of one backend configuration.
struct StoreFactory {
  // Names the configuration in test names: letters, digits and '_' only.
  std::string name;
  // Returns a new empty store, owned by the caller. An error fails the test
  // (with the error's message).
  std::function<absl::StatusOr<std::unique_ptr<DossierStore>>()> make;
  // If non-empty, every test skips, printing this reason (e.g. "set
  // ONESTOP_TEST_PG_DSN to run the PostgreSQL suite").
  std::string skip_reason;
};

// Prints the factory's name in gtest output.
void PrintTo(const StoreFactory& factory, std::ostream* os);

// Names instantiated tests after StoreFactory::name.
struct StoreFactoryName {
  std::string operator()(const ::testing::TestParamInfo<StoreFactory>& info) const {
    return info.param.name;
  }
};

class DossierStoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  // Skips per skip_reason, else makes the store (fatal failure on error).
  void SetUp() override;
  void TearDown() override;

  // The store under test; non-null in test bodies.
  DossierStore& store() { return *store_; }

 private:
  std::unique_ptr<DossierStore> store_;
};

}  // namespace onestop::storage::testing

#endif  // ONESTOP_TESTS_STORAGE_DOSSIER_STORE_CONFORMANCE_H_
