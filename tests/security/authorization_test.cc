// The authorization policy, generated over every Permission × Role × scope
// against an independent literal of the documented roles table.
#include "server/core/authorization.h"

#include <map>
#include <memory>
#include <string>
#include <variant>

#include <google/protobuf/text_format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_config.h"

namespace onestop::core {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// docs/SECURITY.md "Roles", written out by hand: C clerk, O officer,
// S supervisor, V service, A admin. Kept apart from authorization.cc's
// switch statements so that a change to either shows up here.
const std::map<std::string, std::string>& DocumentedTable() {
  static const auto* table = new std::map<std::string, std::string>{
      {"get_dossier", "COSV"},
      {"list_dossiers", "COSV"},
      {"watch_events", "SV"},
      {"get_completion_report", "S"},
      {"fetch_component", "COSV"},
      {"submit_dossier", "C"},
      {"accept_dossier", "C"},
      {"request_supplement_at_reception", "C"},
      {"request_supplement_in_processing", "O"},
      {"supply_documents", "C"},
      {"refuse_dossier", "C"},
      {"hand_over_dossier", "C"},
      {"record_decision", "O"},
      {"mark_result_ready", "O"},
      {"return_result", "C"},
      {"withdraw_dossier", "C"},
      {"stop_processing", "O"},
      {"request_payment", "O"},
      {"confirm_payment", "O"},
      {"reschedule_dossier", "O"},
      {"forward_dossier", "CO"},
      {"complete_stage", "O"},
      {"attach_component", "C"},
      {"attach_result_document", "CO"},
      {"import_dossiers", "A"},
      {"read_catalogue", "COSVA"},
      {"read_clock", "COSVA"},
      {"control_clock", "A"},
      {"manage_tokens", "A"},
      {"read_audit", "A"},
      {"administer_daemon", "A"},
  };
  return *table;
}

// docs/SECURITY.md: the permissions that act on the whole daemon, held
// only through a grant at a top-level agency.
bool DocumentedAsWholeDaemon(Permission permission) {
  const std::string name(PermissionName(permission));
  return name == "control_clock" || name == "read_audit" || name == "administer_daemon";
}

char Letter(Role role) {
  switch (role) {
    case Role::kClerk: return 'C';
    case Role::kOfficer: return 'O';
    case Role::kSupervisor: return 'S';
    case Role::kService: return 'V';
    case Role::kAdmin: return 'A';
  }
  return '?';
}

bool Documented(Role role, Permission permission) {
  const auto it = DocumentedTable().find(std::string(PermissionName(permission)));
  return it != DocumentedTable().end() && it->second.find(Letter(role)) != std::string::npos;
}

std::shared_ptr<const Catalogue> TestCatalogue() {
  onestop::config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(testing::kTestConfig, &config));
  auto built = Catalogue::Build(config);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built));
  return std::get<std::shared_ptr<const Catalogue>>(built);
}

Principal One(Role role, const std::string& agency) {
  return Principal{absl::StrCat(RoleName(role), ".x"), {Grant{role, agency}}, {}};
}

TEST(AuthorizationTableTest, EveryPermissionIsDocumentedOnceWithAUniqueName) {
  EXPECT_EQ(std::size(kAllPermissions), DocumentedTable().size());
  for (Permission permission : kAllPermissions) {
    const std::string name(PermissionName(permission));
    EXPECT_EQ(DocumentedTable().count(name), 1u) << name;
    EXPECT_EQ(ParsePermission(name), permission) << name;
  }
  EXPECT_EQ(ParsePermission("delete_everything"), std::nullopt);
  for (Role role : kAllRoles) EXPECT_EQ(ParseRole(RoleName(role)), role);
  EXPECT_EQ(ParseRole("root"), std::nullopt);
}

enum class Scope { kInScope, kOutOfScope, kGlobal };

struct MatrixCase {
  Permission permission;
  Role role;
  Scope scope;
};

std::string CaseName(const ::testing::TestParamInfo<MatrixCase>& info) {
  static constexpr const char* kScopes[] = {"in_scope", "out_of_scope", "global"};
  return absl::StrCat(PermissionName(info.param.permission), "_", RoleName(info.param.role), "_",
                      kScopes[static_cast<int>(info.param.scope)]);
}

std::vector<MatrixCase> AllCases() {
  std::vector<MatrixCase> cases;
  for (Permission permission : kAllPermissions) {
    for (Role role : kAllRoles) {
      for (Scope scope : {Scope::kInScope, Scope::kOutOfScope, Scope::kGlobal}) {
        cases.push_back({permission, role, scope});
      }
    }
  }
  return cases;
}

class AuthorizationMatrixTest : public ::testing::TestWithParam<MatrixCase> {
 protected:
  std::shared_ptr<const Catalogue> catalogue_ = TestCatalogue();
};

// The grant is the district; in scope is a commune below it, out of scope
// the province above it.
TEST_P(AuthorizationMatrixTest, MatchesTheDocumentedTable) {
  const MatrixCase& c = GetParam();
  const Principal principal = One(c.role, testing::kDistrict);
  std::vector<std::string> targets;
  if (c.scope == Scope::kInScope) targets = {testing::kCommune};
  if (c.scope == Scope::kOutOfScope) targets = {testing::kProvince};
  const absl::Status status = Authorize(principal, c.permission, targets, *catalogue_);
  const bool held = Documented(c.role, c.permission);
  EXPECT_EQ(RoleHolds(c.role, c.permission), held);
  EXPECT_EQ(ActsOnTheWholeDaemon(c.permission), DocumentedAsWholeDaemon(c.permission));
  if (!held) {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied,
                                 HasSubstr(absl::StrCat(principal.id, " may not ",
                                                        PermissionName(c.permission), ": that is "))));
  } else if (DocumentedAsWholeDaemon(c.permission)) {
    // The grant is the district's: not a top-level agency, in any scope.
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied,
                                 HasSubstr(absl::StrCat("it acts on the whole daemon, for an admin "
                                                        "of a top-level agency (yours: ",
                                                        testing::kDistrict, ")"))));
  } else if (c.scope == Scope::kOutOfScope) {
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied,
                                 HasSubstr(absl::StrCat(testing::kProvince,
                                                        ": it is outside your agencies (",
                                                        testing::kDistrict, ")"))));
  } else {
    EXPECT_THAT(status, IsOk());
  }
  // The visible set follows the same rule: the district's subtree or nothing.
  const std::vector<std::string> visible = VisibleAgencies(principal, c.permission, *catalogue_);
  if (held) {
    EXPECT_THAT(visible, ElementsAre(testing::kDistrict, testing::kCommune, testing::kOtherCommune));
  } else {
    EXPECT_TRUE(visible.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(AllPermissionsRolesScopes, AuthorizationMatrixTest,
                         ::testing::ValuesIn(AllCases()), CaseName);

class AuthorizationTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Catalogue> catalogue_ = TestCatalogue();
};

TEST_F(AuthorizationTest, OnlyATopLevelAdminActsOnTheWholeDaemon) {
  const Principal province = One(Role::kAdmin, testing::kProvince);
  const Principal commune = One(Role::kAdmin, testing::kCommune);
  // Holding a top-level grant besides a local one is enough.
  Principal both = commune;
  both.grants.push_back(Grant{Role::kAdmin, testing::kProvince});
  for (Permission permission : kAllPermissions) {
    if (!ActsOnTheWholeDaemon(permission)) continue;
    EXPECT_THAT(Authorize(province, permission, {}, *catalogue_), IsOk());
    EXPECT_THAT(Authorize(both, permission, {}, *catalogue_), IsOk());
    EXPECT_THAT(Authorize(commune, permission, {}, *catalogue_),
                StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("whole daemon")));
  }
  // Other global operations stay the role's alone.
  EXPECT_THAT(Authorize(commune, Permission::kReadClock, {}, *catalogue_), IsOk());
  EXPECT_THAT(Authorize(commune, Permission::kImportDossiers, {}, *catalogue_), IsOk());
  EXPECT_THAT(Authorize(commune, Permission::kManageTokens, {}, *catalogue_), IsOk());
}

TEST_F(AuthorizationTest, MessagesNameTheRoleOrTheAgencies) {
  const Principal clerk{"clerk.lienson", {Grant{Role::kClerk, testing::kCommune}}, {}};
  EXPECT_THAT(Authorize(clerk, Permission::kRecordDecision, {testing::kCommune}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "clerk.lienson may not record_decision: that is an officer's action"));
  EXPECT_THAT(Authorize(clerk, Permission::kAcceptDossier, {testing::kOtherCommune}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "clerk.lienson may not accept_dossier on 000.31.02.H15: it is outside "
                       "your agencies (000.31.01.H15)"));
  EXPECT_THAT(Authorize(clerk, Permission::kForwardDossier, {}, *catalogue_), IsOk());
  EXPECT_THAT(Authorize(clerk, Permission::kGetDossier, {}, *catalogue_), IsOk());
  EXPECT_THAT(Authorize(clerk, Permission::kWatchEvents, {}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("that is a supervisor's or a service's action")));
}

TEST_F(AuthorizationTest, SiblingParentAndUnknownAgenciesAreOutOfScope) {
  const Principal clerk = One(Role::kClerk, testing::kCommune);
  for (const char* target : {testing::kOtherCommune, testing::kDistrict, testing::kProvince,
                             "999.99.99.X00", ""}) {
    EXPECT_THAT(Authorize(clerk, Permission::kAcceptDossier, {target}, *catalogue_),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << target;
  }
}

TEST_F(AuthorizationTest, AnyTargetAgencyInScopeSuffices) {
  const Principal officer = One(Role::kOfficer, testing::kDistrict);
  EXPECT_THAT(Authorize(officer, Permission::kRecordDecision,
                        {testing::kProvince, testing::kOtherCommune}, *catalogue_),
              IsOk());
  EXPECT_THAT(Authorize(officer, Permission::kRecordDecision,
                        {testing::kProvince, "999.99.99.X00"}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("on 000.00.00.H15, 999.99.99.X00: they are outside")));
}

TEST_F(AuthorizationTest, OneGrantMustHoldBothThePermissionAndTheScope) {
  // Clerk at the commune, officer at the other commune: no decision at the
  // first, no acceptance at the second.
  const Principal both{"both", {Grant{Role::kClerk, testing::kCommune},
                                Grant{Role::kOfficer, testing::kOtherCommune}}, {}};
  EXPECT_THAT(Authorize(both, Permission::kAcceptDossier, {testing::kCommune}, *catalogue_), IsOk());
  EXPECT_THAT(Authorize(both, Permission::kRecordDecision, {testing::kOtherCommune}, *catalogue_),
              IsOk());
  EXPECT_THAT(Authorize(both, Permission::kRecordDecision, {testing::kCommune}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("outside your agencies (000.31.02.H15)")));
  EXPECT_THAT(Authorize(both, Permission::kAcceptDossier, {testing::kOtherCommune}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("outside your agencies (000.31.01.H15)")));
  EXPECT_THAT(VisibleAgencies(both, Permission::kListDossiers, *catalogue_),
              ElementsAre(testing::kCommune, testing::kOtherCommune));
}

TEST_F(AuthorizationTest, NoGrantsDeniesEverything) {
  const Principal nobody{"nobody", {}, {}};
  for (Permission permission : kAllPermissions) {
    EXPECT_THAT(Authorize(nobody, permission, {}, *catalogue_),
                StatusIs(absl::StatusCode::kPermissionDenied))
        << PermissionName(permission);
  }
}

TEST_F(AuthorizationTest, ServiceWritesAddOnlyGrantableDossierWritesToServiceGrants) {
  int grantable = 0;
  for (Permission permission : kAllPermissions) {
    const bool expected = DocumentedTable().at(std::string(PermissionName(permission))) !=
                              "COSV" &&
                          !RoleHolds(Role::kAdmin, permission) &&
                          !RoleHolds(Role::kSupervisor, permission);
    // Grantable: the dossier writes (held by clerks or officers) and import.
    const bool write = permission == Permission::kImportDossiers || expected;
    EXPECT_EQ(IsGrantableServiceWrite(permission), write) << PermissionName(permission);
    grantable += write;
    Principal service{"svc", {Grant{Role::kService, testing::kDistrict}}, {permission}};
    const absl::Status status = Authorize(service, permission, {testing::kCommune}, *catalogue_);
    if (write || RoleHolds(Role::kService, permission)) {
      EXPECT_THAT(status, IsOk()) << PermissionName(permission);
    } else {
      EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied))
          << PermissionName(permission);
    }
    // Outside the service grant's subtree the write is still refused.
    if (write) {
      EXPECT_THAT(Authorize(service, permission, {testing::kProvince}, *catalogue_),
                  StatusIs(absl::StatusCode::kPermissionDenied));
    }
  }
  EXPECT_EQ(grantable, 20);  // 18 + attach_component, attach_result_document
  // A clerk's grant gains nothing from service_writes.
  const Principal clerk{"c", {Grant{Role::kClerk, testing::kDistrict}},
                        {Permission::kRecordDecision}};
  EXPECT_THAT(Authorize(clerk, Permission::kRecordDecision, {testing::kCommune}, *catalogue_),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(AuthorizationTest, SupplementPermissionDependsOnThePhase) {
  EXPECT_EQ(SupplementPermission(onestop::v1::DOSSIER_STATUS_NEW),
            Permission::kRequestSupplementAtReception);
  EXPECT_EQ(SupplementPermission(onestop::v1::DOSSIER_STATUS_PROCESSING),
            Permission::kRequestSupplementInProcessing);
}

TEST(PrivacyTest, MaskKeepsTheLastFourCharacters) {
  EXPECT_EQ(MaskDigits("001234565678"), "********5678");
  EXPECT_EQ(MaskDigits("0912345678"), "******5678");
  EXPECT_EQ(MaskDigits("12345"), "*2345");
  EXPECT_EQ(MaskDigits("1234"), "****");
  EXPECT_EQ(MaskDigits("12"), "**");
  EXPECT_EQ(MaskDigits(""), "");
  EXPECT_EQ(MaskDigits("ĐĐ123456"), "****3456");
}

TEST(PrivacyTest, MaskPersonalDataMasksIdAndPhoneOnly) {
  onestop::v1::Dossier dossier;
  dossier.set_code("X-1");
  dossier.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  dossier.mutable_applicant()->set_personal_id("066190001234");
  dossier.mutable_applicant()->set_phone("0912345678");
  MaskPersonalData(&dossier);
  EXPECT_EQ(dossier.applicant().personal_id(), "********1234");
  EXPECT_EQ(dossier.applicant().phone(), "******5678");
  EXPECT_EQ(dossier.applicant().full_name(), "Nguyễn Thị Hằng");
  EXPECT_EQ(dossier.code(), "X-1");
}

TEST(PrivacyTest, PolicyDecidesWhoSeesPersonalData) {
  const std::shared_ptr<const Catalogue> catalogue = TestCatalogue();
  for (Role role : kAllRoles) {
    const bool expected = role == Role::kClerk || role == Role::kOfficer;
    EXPECT_EQ(MaySeePersonalData(One(role, testing::kCommune), {}, *catalogue), expected)
        << RoleName(role);
    EXPECT_EQ(MaySeePersonalData(One(role, testing::kCommune),
                                 PrivacyPolicy{{Role::kSupervisor}}, *catalogue),
              role == Role::kSupervisor)
        << RoleName(role);
  }
  EXPECT_FALSE(MaySeePersonalData(Principal{"n", {}, {}}, {}, *catalogue));
  // A clerk grant on a desk that left the catalogue unmasks nothing.
  Principal supervisor = One(Role::kSupervisor, testing::kDistrict);
  supervisor.grants.push_back(Grant{Role::kClerk, "000.31.99.H15"});
  EXPECT_FALSE(MaySeePersonalData(supervisor, {}, *catalogue));
}

TEST(PrivacyTest, LastFourMatchesPhoneOrIdDigits) {
  onestop::v1::Applicant applicant;
  applicant.set_phone("+84 912 345 678");
  applicant.set_personal_id("066190001234");
  EXPECT_TRUE(MatchesLastFour(applicant, "5678"));
  EXPECT_TRUE(MatchesLastFour(applicant, "1234"));
  EXPECT_FALSE(MatchesLastFour(applicant, "0000"));
  EXPECT_FALSE(MatchesLastFour(applicant, "678"));
  EXPECT_FALSE(MatchesLastFour(applicant, "5678 "));
  EXPECT_FALSE(MatchesLastFour(applicant, "56a8"));
  onestop::v1::Applicant short_numbers;
  short_numbers.set_phone("123");
  EXPECT_FALSE(MatchesLastFour(short_numbers, "0123"));
  EXPECT_FALSE(MatchesLastFour(onestop::v1::Applicant(), "0000"));
}

}  // namespace
}  // namespace onestop::core
