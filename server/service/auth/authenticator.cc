#include "server/service/auth/authenticator.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/service/auth/principals.h"

namespace onestop::service::auth {

Authenticator::Authenticator(storage::SecurityStore* store, const Clock* clock,
                             AuthenticatorOptions options)
    : store_(store), clock_(clock) {
  for (CertificatePrincipal& mapping : options.certificate_principals) {
    by_common_name_.emplace(mapping.common_name,
                            std::make_shared<const core::Principal>(std::move(mapping.principal)));
  }
}

absl::StatusOr<PrincipalPtr> Authenticator::Convert(
    const storage::SharedPrincipal& stored) const {
  {
    absl::ReaderMutexLock lock(&conversions_mu_);
    const auto it = conversions_.find(stored.get());
    if (it != conversions_.end() && it->second.stored.lock() == stored) {
      return it->second.principal;
    }
  }
  absl::StatusOr<core::Principal> principal = PrincipalFromProto(*stored);
  if (!principal.ok()) {
    return absl::InternalError("a stored token's principal is invalid");
  }
  auto shared = std::make_shared<const core::Principal>(*std::move(principal));
  absl::MutexLock lock(&conversions_mu_);
  if (conversions_.size() >= kMaxConversions) conversions_.clear();
  conversions_.insert_or_assign(stored.get(), Conversion{stored, shared});
  return shared;
}

absl::StatusOr<PrincipalPtr> Authenticator::AuthenticateBearer(
    absl::string_view header) const {
  return *AnswerBearer(header, /*from_memory_only=*/false);
}

std::optional<absl::StatusOr<PrincipalPtr>> Authenticator::AnswerBearer(
    absl::string_view header, bool from_memory_only) const {
  constexpr absl::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme)) {
    return absl::UnauthenticatedError(
        "malformed authorization header: expected 'Bearer <token>'");
  }
  const absl::string_view secret = absl::StripAsciiWhitespace(header.substr(kScheme.size()));
  absl::StatusOr<storage::SharedPrincipal> stored;
  if (from_memory_only) {
    std::optional<absl::StatusOr<storage::SharedPrincipal>> cached =
        store_->AuthenticateFromMemory(secret, clock_->Now());
    if (!cached.has_value()) return std::nullopt;
    stored = *std::move(cached);
  } else {
    stored = store_->Authenticate(secret, clock_->Now());
  }
  if (!stored.ok()) return stored.status();
  return Convert(*stored);
}

absl::StatusOr<PrincipalPtr> Authenticator::AuthenticateCertificate(
    const std::vector<std::string>& common_names) const {
  for (const std::string& name : common_names) {
    const auto it = by_common_name_.find(name);
    if (it != by_common_name_.end()) return it->second;
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "client certificate \"", common_names.empty() ? "" : common_names.front(),
      "\" is not mapped to a principal; send 'authorization: Bearer <token>'"));
}

absl::StatusOr<PrincipalPtr> Authenticator::Authenticate(
    const grpc::ServerContextBase& context) const {
  return *Answer(context, /*from_memory_only=*/false);
}

std::optional<absl::StatusOr<PrincipalPtr>> Authenticator::AuthenticateFromMemory(
    const grpc::ServerContextBase& context) const {
  return Answer(context, /*from_memory_only=*/true);
}

std::optional<absl::StatusOr<PrincipalPtr>> Authenticator::Answer(
    const grpc::ServerContextBase& context, bool from_memory_only) const {
  const auto& metadata = context.client_metadata();
  const auto header = metadata.find("authorization");
  if (header != metadata.end()) {
    return AnswerBearer(absl::string_view(header->second.data(), header->second.size()),
                        from_memory_only);
  }
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<std::string> names;
    for (const grpc::string_ref& value : auth->FindPropertyValues("x509_common_name")) {
      names.emplace_back(value.data(), value.size());
    }
    if (!names.empty()) return AuthenticateCertificate(names);
  }
  return absl::UnauthenticatedError("no credentials: send 'authorization: Bearer <token>'");
}

}  // namespace onestop::service::auth
