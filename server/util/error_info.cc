#include "server/util/error_info.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace onestop {
namespace {

// One payload holds all details. The encoding is private to this file:
// length-prefixed strings ("<n>:<bytes>") in a fixed order, so any byte
// (newlines, UTF-8) survives.
constexpr absl::string_view kTypeUrl = "type.onestop.gov.vn/onestop.ErrorDetails";

void Put(std::string& out, absl::string_view s) {
  absl::StrAppend(&out, s.size(), ":", s);
}

class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  std::optional<std::string> Next() {
    const size_t colon = in_.find(':');
    if (colon == absl::string_view::npos) return std::nullopt;
    size_t n = 0;
    if (!absl::SimpleAtoi(in_.substr(0, colon), &n) || n > in_.size() - colon - 1) {
      return std::nullopt;
    }
    std::string s(in_.substr(colon + 1, n));
    in_.remove_prefix(colon + 1 + n);
    return s;
  }

  std::optional<size_t> Count() {
    std::optional<std::string> s = Next();
    size_t n = 0;
    if (!s || !absl::SimpleAtoi(*s, &n) || n > in_.size()) return std::nullopt;
    return n;
  }

  bool Done() const { return in_.empty(); }

 private:
  absl::string_view in_;
};

std::string Encode(const ErrorDetails& d) {
  std::string out;
  Put(out, d.reason);
  Put(out, d.message_vi);
  Put(out, absl::StrCat(d.metadata.size()));
  for (const auto& [k, v] : d.metadata) {
    Put(out, k);
    Put(out, v);
  }
  Put(out, absl::StrCat(d.field_violations.size()));
  for (const FieldViolation& f : d.field_violations) {
    Put(out, f.field);
    Put(out, f.description);
  }
  Put(out, absl::StrCat(d.precondition_violations.size()));
  for (const PreconditionViolation& p : d.precondition_violations) {
    Put(out, p.type);
    Put(out, p.subject);
    Put(out, p.description);
  }
  return out;
}

std::optional<ErrorDetails> Decode(absl::string_view in) {
  Reader r(in);
  ErrorDetails d;
  std::optional<std::string> reason = r.Next();
  std::optional<std::string> vi = r.Next();
  if (!reason || !vi) return std::nullopt;
  d.reason = *std::move(reason);
  d.message_vi = *std::move(vi);
  std::optional<size_t> n = r.Count();
  if (!n) return std::nullopt;
  for (size_t i = 0; i < *n; ++i) {
    std::optional<std::string> k = r.Next(), v = r.Next();
    if (!k || !v) return std::nullopt;
    d.metadata.emplace_back(*std::move(k), *std::move(v));
  }
  if (!(n = r.Count())) return std::nullopt;
  for (size_t i = 0; i < *n; ++i) {
    std::optional<std::string> f = r.Next(), desc = r.Next();
    if (!f || !desc) return std::nullopt;
    d.field_violations.push_back({*std::move(f), *std::move(desc)});
  }
  if (!(n = r.Count())) return std::nullopt;
  for (size_t i = 0; i < *n; ++i) {
    std::optional<std::string> t = r.Next(), s = r.Next(), desc = r.Next();
    if (!t || !s || !desc) return std::nullopt;
    d.precondition_violations.push_back({*std::move(t), *std::move(s), *std::move(desc)});
  }
  if (!r.Done()) return std::nullopt;
  return d;
}

template <typename Edit>
absl::Status Modify(absl::Status status, Edit edit) {
  if (status.ok()) return status;
  ErrorDetails details = GetErrorDetails(status);
  edit(details);
  status.SetPayload(kTypeUrl, absl::Cord(Encode(details)));
  return status;
}

}  // namespace

std::string DossierSubject(absl::string_view code) { return absl::StrCat("dossier/", code); }
std::string AgencySubject(absl::string_view code) { return absl::StrCat("agency/", code); }
std::string ProcedureSubject(absl::string_view code) {
  return absl::StrCat("procedure/", code);
}

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  return Modify(std::move(status), [&](ErrorDetails& d) { d.reason = std::string(reason); });
}

absl::Status WithDefaultReason(absl::Status status, absl::string_view reason) {
  return Modify(std::move(status), [&](ErrorDetails& d) {
    if (d.reason.empty()) d.reason = std::string(reason);
  });
}

absl::Status WithMetadata(absl::Status status, absl::string_view key, absl::string_view value) {
  return Modify(std::move(status), [&](ErrorDetails& d) {
    d.metadata.emplace_back(std::string(key), std::string(value));
  });
}

absl::Status WithFieldViolation(absl::Status status, absl::string_view field,
                                absl::string_view description) {
  return Modify(std::move(status), [&](ErrorDetails& d) {
    d.field_violations.push_back({std::string(field), std::string(description)});
  });
}

absl::Status WithPreconditionViolation(absl::Status status, absl::string_view type,
                                       absl::string_view subject,
                                       absl::string_view description) {
  return Modify(std::move(status), [&](ErrorDetails& d) {
    d.precondition_violations.push_back(
        {std::string(type), std::string(subject), std::string(description)});
  });
}

absl::Status WithMessageVi(absl::Status status, absl::string_view message_vi) {
  return Modify(std::move(status),
                [&](ErrorDetails& d) { d.message_vi = std::string(message_vi); });
}

absl::Status InvalidFieldError(absl::string_view field, absl::string_view message) {
  return Modify(absl::InvalidArgumentError(message), [&](ErrorDetails& d) {
    d.reason = std::string(kReasonFieldInvalid);
    d.field_violations.push_back({std::string(field), std::string(message)});
  });
}

absl::Status PreconditionError(absl::string_view reason, absl::string_view type,
                               absl::string_view subject, absl::string_view message) {
  return Modify(absl::FailedPreconditionError(message), [&](ErrorDetails& d) {
    d.reason = std::string(reason);
    d.precondition_violations.push_back(
        {std::string(type), std::string(subject), std::string(message)});
  });
}

ErrorDetails GetErrorDetails(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kTypeUrl);
  if (!payload.has_value()) return {};
  std::optional<ErrorDetails> details = Decode(std::string(*payload));
  return details.has_value() ? *std::move(details) : ErrorDetails{};
}

std::string ErrorReason(const absl::Status& status) { return GetErrorDetails(status).reason; }

}  // namespace onestop
