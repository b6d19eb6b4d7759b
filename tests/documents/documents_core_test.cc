// The pure rules of digitised components: in which statuses an attachment
// is legal (table over every status × kind), what attach_component changes,
// how a declaration is checked, and the catalogue's component lists.
#include "server/core/documents.h"

#include <memory>
#include <string>
#include <variant>

#include <google/protobuf/text_format.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/catalogue.h"
#include "server/core/workflow.h"
#include "server/util/error_info.h"
#include "tests/testing/status_matchers.h"

namespace onestop::core {
namespace {

using ::onestop::testing::IsOk;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;
namespace v1 = onestop::v1;

constexpr char kConfig[] = R"pb(
  levels { code: "commune" name: "Cấp xã" }
  agencies { code: "000.31.01.H15" name: "UBND thị trấn Liên Sơn" level: "commune" }
  procedures {
    code: "1.001193" name: "Đăng ký khai sinh" level: "commune"
    deadline { amount: 3 unit: DEADLINE_UNIT_WORKING_DAYS }
    components { code: "to_khai" name: "Tờ khai đăng ký khai sinh" }
    components { code: "giay_chung_sinh" name: "Giấy chứng sinh" }
    components { code: "giay_khai_sinh" name: "Giấy khai sinh (bản chính)" result: true }
  }
  procedures {
    code: "2.000908" name: "Chứng thực bản sao" level: "commune"
    deadline { amount: 1 unit: DEADLINE_UNIT_WORKING_DAYS }
  }
)pb";

const std::string kSha = std::string(64, 'a');

std::shared_ptr<const Catalogue> Build(const std::string& text) {
  onestop::config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  auto built = Catalogue::Build(config);
  if (auto* problems = std::get_if<std::vector<ConfigProblem>>(&built)) {
    for (const auto& p : *problems) ADD_FAILURE() << p.message;
    return nullptr;
  }
  return std::get<std::shared_ptr<const Catalogue>>(built);
}

v1::Dossier DossierIn(v1::DossierStatus status, const std::string& procedure = "1.001193") {
  v1::Dossier dossier;
  dossier.set_code("000.31.01.H15-200106-0001");
  dossier.set_etag(3);
  dossier.set_procedure_code(procedure);
  dossier.set_receiving_agency_code("000.31.01.H15");
  dossier.set_holder_agency_code("000.31.01.H15");
  dossier.set_status(status);
  dossier.set_portal_status_code(static_cast<int>(status));
  for (int i = 1; i <= 2; ++i) dossier.add_history()->set_sequence(i);
  return dossier;
}

ComponentDeclaration Declared(const std::string& type = "to_khai",
                              DocumentKind kind = DocumentKind::kApplicant) {
  ComponentDeclaration d;
  d.component_type = type;
  d.file_name = "Tờ khai khai sinh – Nguyễn Thị Hằng.pdf";
  d.mime_type = "application/pdf";
  d.size_bytes = 1234;
  d.sha256 = kSha;
  d.kind = kind;
  return d;
}

// Every status × both kinds: the stage it lands in, or refused.
TEST(AttachStageTest, TableOverEveryStatus) {
  struct Row {
    v1::DossierStatus status;
    v1::ComponentStage applicant;  // UNSPECIFIED = refused
    v1::ComponentStage result;
  };
  const Row rows[] = {
      {v1::DOSSIER_STATUS_NEW, v1::COMPONENT_STAGE_RECEPTION, v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_RECEIVED, v1::COMPONENT_STAGE_RECEPTION,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_REFUSED, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_PROCESSING, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED, v1::COMPONENT_STAGE_SUPPLEMENT,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_WITHDRAWN, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_STOPPED, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_UNSPECIFIED},
      {v1::DOSSIER_STATUS_RESULT_READY, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_RESULT},
      {v1::DOSSIER_STATUS_RETURNED, v1::COMPONENT_STAGE_UNSPECIFIED,
       v1::COMPONENT_STAGE_UNSPECIFIED},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(StatusName(row.status));
    const v1::Dossier dossier = DossierIn(row.status);
    for (const auto& [kind, expected] :
         {std::pair{DocumentKind::kApplicant, row.applicant},
          std::pair{DocumentKind::kResult, row.result}}) {
      absl::StatusOr<v1::ComponentStage> stage = AttachStage(dossier, kind);
      if (expected == v1::COMPONENT_STAGE_UNSPECIFIED) {
        EXPECT_THAT(stage, StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr(absl::StrCat(StatusName(row.status), " (",
                                                           StatusLabelVi(row.status), ")"))));
        EXPECT_EQ(ErrorReason(stage.status()), "ILLEGAL_TRANSITION");
        EXPECT_FALSE(GetErrorDetails(stage.status()).message_vi.empty());
      } else {
        EXPECT_THAT(stage, ::onestop::testing::IsOkAndHolds(expected));
      }
    }
  }
}

TEST(AttachStageTest, MessagesSayWhereAttachingIsAllowed) {
  EXPECT_THAT(AttachStage(DossierIn(v1::DOSSIER_STATUS_PROCESSING), DocumentKind::kApplicant),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "cannot attach a component: dossier 000.31.01.H15-200106-0001 is "
                       "PROCESSING (Đang xử lý); the applicant's components are attached at "
                       "reception (NEW, RECEIVED) or while a requested supplement is awaited "
                       "(SUPPLEMENT_REQUESTED)"));
  EXPECT_THAT(AttachStage(DossierIn(v1::DOSSIER_STATUS_NEW), DocumentKind::kResult),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("result documents are attached when the result is ready "
                                 "(RESULT_READY)")));
  v1::Dossier full = DossierIn(v1::DOSSIER_STATUS_NEW);
  for (int i = 0; i < kMaxComponentsPerDossier; ++i) full.add_components();
  EXPECT_THAT(AttachStage(full, DocumentKind::kApplicant),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already holds 200 components")));
}

class AttachActionTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Catalogue> catalogue_ = Build(kConfig);
  const absl::Time now_ = absl::FromUnixSeconds(1578300000);

  absl::StatusOr<Transition> Attach(const v1::Dossier& dossier, ComponentDeclaration d,
                                    const std::string& note = "") {
    Action action;
    action.kind = v1::ACTION_KIND_ATTACH_COMPONENT;
    action.component = std::move(d);
    action.note = note;
    return ApplyAction(dossier, action, *catalogue_, {now_, "clerk.lienson"});
  }
};

TEST_F(AttachActionTest, AppendsTheComponentAndOneHistoryEntryWithoutChangingStatus) {
  const v1::Dossier dossier = DossierIn(v1::DOSSIER_STATUS_RECEIVED);
  ComponentDeclaration d = Declared();
  d.sha256 = std::string(64, 'F');
  absl::StatusOr<Transition> t = Attach(dossier, d);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->dossier.status(), v1::DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(t->dossier.etag(), 3);  // the store bumps it
  ASSERT_EQ(t->dossier.components_size(), 1);
  const v1::DossierComponent& c = t->dossier.components(0);
  EXPECT_EQ(c.id(), "1");
  EXPECT_EQ(c.component_type(), "to_khai");
  EXPECT_EQ(c.file_name(), "Tờ khai khai sinh – Nguyễn Thị Hằng.pdf");
  EXPECT_EQ(c.mime_type(), "application/pdf");
  EXPECT_EQ(c.size_bytes(), 1234);
  EXPECT_EQ(c.sha256(), std::string(64, 'f'));  // normalised
  EXPECT_EQ(c.attached_time().seconds(), 1578300000);
  EXPECT_EQ(c.attached_by(), "clerk.lienson");
  EXPECT_EQ(c.stage(), v1::COMPONENT_STAGE_RECEPTION);
  EXPECT_EQ(t->entry.sequence(), 3);
  EXPECT_EQ(t->entry.action(), v1::ACTION_KIND_ATTACH_COMPONENT);
  EXPECT_EQ(t->entry.from_status(), v1::DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(t->entry.to_status(), v1::DOSSIER_STATUS_RECEIVED);
  EXPECT_EQ(t->entry.actor(), "clerk.lienson");
  EXPECT_THAT(t->entry.note(), HasSubstr("attached reception component 1 (to_khai)"));
  ASSERT_EQ(t->dossier.history_size(), 3);

  // The next one gets the next id; the clerk's note replaces the default.
  absl::StatusOr<Transition> second = Attach(t->dossier, Declared("giay_chung_sinh"), "bản scan");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->dossier.components(1).id(), "2");
  EXPECT_EQ(second->entry.note(), "bản scan");
  // attach_component is not a status transition: AllowedActions ignores it.
  for (v1::ActionKind kind : AllowedActions(second->dossier)) {
    EXPECT_NE(kind, v1::ACTION_KIND_ATTACH_COMPONENT);
  }
  EXPECT_EQ(ActionName(v1::ACTION_KIND_ATTACH_COMPONENT), "attach_component");
}

TEST_F(AttachActionTest, StagesFollowTheStatus) {
  auto supplement = Attach(DossierIn(v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED), Declared());
  ASSERT_THAT(supplement, IsOk());
  EXPECT_EQ(supplement->dossier.components(0).stage(), v1::COMPONENT_STAGE_SUPPLEMENT);
  auto result = Attach(DossierIn(v1::DOSSIER_STATUS_RESULT_READY),
                       Declared("giay_khai_sinh", DocumentKind::kResult));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->dossier.components(0).stage(), v1::COMPONENT_STAGE_RESULT);
  EXPECT_THAT(Attach(DossierIn(v1::DOSSIER_STATUS_PROCESSING), Declared()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Attach(DossierIn(v1::DOSSIER_STATUS_RETURNED),
                     Declared("giay_khai_sinh", DocumentKind::kResult)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("RETURNED")));
}

TEST_F(AttachActionTest, ComponentTypesComeFromTheProcedure) {
  const v1::Dossier dossier = DossierIn(v1::DOSSIER_STATUS_NEW);
  EXPECT_THAT(Attach(dossier, Declared("ho_chieu")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "procedure 1.001193 has no component of type \"ho_chieu\"; known: "
                       "to_khai, giay_chung_sinh"));
  EXPECT_THAT(Attach(dossier, Declared("giay_khai_sinh")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is a result document: upload it with result_document set")));
  EXPECT_THAT(Attach(DossierIn(v1::DOSSIER_STATUS_RESULT_READY),
                     Declared("to_khai", DocumentKind::kResult)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is handed in by the applicant, not a result document")));
  EXPECT_THAT(Attach(dossier, Declared("")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.component_type is required")));
  // A procedure without a list accepts any well-formed type.
  EXPECT_THAT(Attach(DossierIn(v1::DOSSIER_STATUS_NEW, "2.000908"), Declared("bat_ky")), IsOk());
  EXPECT_THAT(Attach(DossierIn(v1::DOSSIER_STATUS_NEW, "2.000908"), Declared("bất kỳ")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("printable ASCII characters without spaces")));
  Action bare;
  bare.kind = v1::ACTION_KIND_ATTACH_COMPONENT;
  EXPECT_THAT(ApplyAction(dossier, bare, *catalogue_, {now_, "x"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header")));
}

TEST(ValidateDeclarationTest, FileNameMimeSizeAndHash) {
  const auto catalogue = Build(kConfig);
  const v1::Procedure& procedure = *catalogue->FindProcedure("1.001193");
  const ComponentPolicy policy{.max_size_bytes = 10 << 20,
                               .allowed_mime_types = {"application/pdf", "image/jpeg"}};
  auto check = [&](auto mutate) {
    ComponentDeclaration d = Declared();
    mutate(d);
    return ValidateDeclaration(d, procedure, &policy).status();
  };
  EXPECT_THAT(check([](ComponentDeclaration&) {}), IsOk());
  // File names: deliberate about bytes, not only characters.
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = "to\xff" "khai.pdf"; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "header.file_name is not valid UTF-8 text (bad byte at offset 2)"));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = "\xc3\x28.pdf"; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid UTF-8")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = "../../etc/passwd"; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("without a slash")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = "a\\b.pdf"; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("backslash")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = ".."; }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = "a\nb.pdf"; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("control character")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = ""; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is required")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.file_name = std::string(257, 'a'); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too long")));
  // MIME types.
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.mime_type = "application/x-msdownload"; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "files of type application/x-msdownload are not accepted; allowed: "
                       "application/pdf, image/jpeg"));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.mime_type = "Application/PDF"; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lower case")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.mime_type = ""; }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("required")));
  // Sizes.
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.size_bytes = (10 << 20) + 1; }),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "the file is 10485761 bytes; files up to 10 MiB are accepted"));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.size_bytes = 10 << 20; }), IsOk());
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.size_bytes = 0; }), IsOk());
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.size_bytes = -1; }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Hashes.
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.sha256 = std::string(63, 'a'); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64 hex digits")));
  EXPECT_THAT(check([](ComponentDeclaration& d) { d.sha256 = std::string(64, 'g'); }),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Errors name the field for google.rpc.BadRequest.
  const absl::Status bad = check([](ComponentDeclaration& d) { d.mime_type = "text/html"; });
  ASSERT_EQ(GetErrorDetails(bad).field_violations.size(), 1u);
  EXPECT_EQ(GetErrorDetails(bad).field_violations[0].field, "header.mime_type");
  // Without a policy (the workflow's re-check) MIME and size are free.
  ComponentDeclaration big = Declared();
  big.size_bytes = int64_t{1} << 40;
  big.mime_type = "text/html";
  EXPECT_THAT(ValidateDeclaration(big, procedure, nullptr), IsOk());
}

TEST(CatalogueComponentsTest, CodesMustBeWellFormedAndUnique) {
  onestop::config::v1::Config config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
  auto* procedure = config.mutable_procedures(0);
  procedure->add_components()->set_code("to_khai");
  procedure->mutable_components(3)->set_name("Trùng");
  auto* bad = procedure->add_components();
  bad->set_code("có dấu");
  bad->set_name("X");
  procedure->add_components()->set_code("khong_ten");
  auto built = Catalogue::Build(config);
  auto* problems = std::get_if<std::vector<ConfigProblem>>(&built);
  ASSERT_NE(problems, nullptr);
  std::vector<std::string> messages;
  for (const auto& p : *problems) messages.push_back(p.message);
  EXPECT_THAT(messages,
              ::testing::ElementsAre(
                  HasSubstr("duplicate component code \"to_khai\""),
                  HasSubstr("component code \"có dấu\" must be 1-64 printable ASCII"),
                  HasSubstr("component khong_ten: name is required")));
  EXPECT_EQ((*problems)[0].path.steps[1], (std::pair<std::string, int>{"components", 3}));
}

}  // namespace
}  // namespace onestop::core
