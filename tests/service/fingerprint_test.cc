// The idempotency fingerprint (server/service/fingerprint.h): what a retry
// with the same request_id must repeat. It ignores the request_id, tells
// methods and contents apart, and is empty without a request_id (nothing
// is recorded then).
#include "server/service/fingerprint.h"

#include <gtest/gtest.h>

#include "onestop/v1/dossier_service.pb.h"

namespace onestop::service {
namespace {

onestop::v1::SubmitDossierRequest Submit(const std::string& request_id) {
  onestop::v1::SubmitDossierRequest request;
  request.set_request_id(request_id);
  request.set_receiving_agency_code("000.00.01.H15");
  request.set_procedure_code("2.000488");
  request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
  return request;
}

TEST(FingerprintTest, IgnoresTheRequestIdButNotTheContentOrMethod) {
  const std::string first = Fingerprint("SubmitDossier", Submit("r-1"));
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(Fingerprint("SubmitDossier", Submit("r-2")), first);
  onestop::v1::SubmitDossierRequest other = Submit("r-1");
  other.mutable_applicant()->set_full_name("Nguyễn Thị Hằng ");
  EXPECT_NE(Fingerprint("SubmitDossier", other), first);
  EXPECT_NE(Fingerprint("OtherMethod", Submit("r-1")), first);
}

TEST(FingerprintTest, IsEmptyWithoutARequestId) {
  EXPECT_EQ(Fingerprint("SubmitDossier", Submit("")), "");
}

}  // namespace
}  // namespace onestop::service
