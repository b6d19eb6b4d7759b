// gMock matchers for absl::Status and absl::StatusOr<T>, with the names and
// semantics of Abseil's absl/status/status_matchers.h (Abseil 20240722+),
// which Debian 12's Abseil 20220623 lacks. Swap them for the real ones on a
// newer LTS by changing the include and the namespace.
//
//   EXPECT_THAT(store->Get("x"), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(store->Get("x"), StatusIs(absl::StatusCode::kAborted,
//                                         HasSubstr("changed by someone else")));
//   EXPECT_THAT(store->LastRevision(), IsOkAndHolds(3));
//   ASSERT_THAT(status, IsOk());
//
// Every matcher works on both absl::Status and absl::StatusOr<T>, and
// explains a mismatch by printing the actual status.
#ifndef ONESTOP_TESTS_TESTING_STATUS_MATCHERS_H_
#define ONESTOP_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace onestop::testing {
namespace status_matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// IsOk(): matches an OK Status or a StatusOr holding a value.
class IsOkMatcher {
 public:
  template <typename StatusType>
  bool MatchAndExplain(const StatusType& actual, ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(actual);
    if (!status.ok()) *listener << "whose status is " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

// StatusIs(code, message): the status code and message both match.
class StatusIsMatcherCommonImpl {
 public:
  StatusIsMatcherCommonImpl(::testing::Matcher<absl::StatusCode> code_matcher,
                            ::testing::Matcher<const std::string&> message_matcher)
      : code_matcher_(std::move(code_matcher)), message_matcher_(std::move(message_matcher)) {}

  void DescribeTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_matcher_.DescribeTo(os);
    *os << ", and has an error message that ";
    message_matcher_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const {
    *os << "has a status code that ";
    code_matcher_.DescribeNegationTo(os);
    *os << ", or has an error message that ";
    message_matcher_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(const absl::Status& status, ::testing::MatchResultListener* listener) const {
    *listener << "whose status is " << status;
    ::testing::StringMatchResultListener inner;
    if (!code_matcher_.MatchAndExplain(status.code(), &inner)) {
      if (!inner.str().empty()) *listener << ", whose status code " << inner.str();
      return false;
    }
    if (!message_matcher_.Matches(std::string(status.message()))) {
      *listener << ", whose error message is wrong";
      return false;
    }
    return true;
  }

 private:
  const ::testing::Matcher<absl::StatusCode> code_matcher_;
  const ::testing::Matcher<const std::string&> message_matcher_;
};

template <typename T>
class MonoStatusIsMatcherImpl : public ::testing::MatcherInterface<T> {
 public:
  explicit MonoStatusIsMatcherImpl(StatusIsMatcherCommonImpl common) : common_(std::move(common)) {}
  void DescribeTo(std::ostream* os) const override { common_.DescribeTo(os); }
  void DescribeNegationTo(std::ostream* os) const override { common_.DescribeNegationTo(os); }
  bool MatchAndExplain(T actual, ::testing::MatchResultListener* listener) const override {
    return common_.MatchAndExplain(GetStatus(actual), listener);
  }

 private:
  StatusIsMatcherCommonImpl common_;
};

class StatusIsMatcher {
 public:
  template <typename CodeMatcher, typename MessageMatcher>
  StatusIsMatcher(CodeMatcher&& code_matcher, MessageMatcher&& message_matcher)
      : common_(::testing::MatcherCast<absl::StatusCode>(std::forward<CodeMatcher>(code_matcher)),
                ::testing::MatcherCast<const std::string&>(
                    std::forward<MessageMatcher>(message_matcher))) {}

  // Converts to a monomorphic matcher for absl::Status or absl::StatusOr<T>.
  template <typename StatusType>
  operator ::testing::Matcher<StatusType>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<StatusType>(new MonoStatusIsMatcherImpl<const StatusType&>(common_));
  }

 private:
  const StatusIsMatcherCommonImpl common_;
};

// IsOkAndHolds(m): a StatusOr<T> that is OK and whose value matches m.
template <typename StatusOrType>
class IsOkAndHoldsMatcherImpl : public ::testing::MatcherInterface<StatusOrType> {
 public:
  using value_type = typename std::remove_reference_t<StatusOrType>::value_type;

  template <typename InnerMatcher>
  explicit IsOkAndHoldsMatcherImpl(InnerMatcher&& inner_matcher)
      : inner_matcher_(::testing::SafeMatcherCast<const value_type&>(
            std::forward<InnerMatcher>(inner_matcher))) {}

  void DescribeTo(std::ostream* os) const override {
    *os << "is OK and has a value that ";
    inner_matcher_.DescribeTo(os);
  }
  void DescribeNegationTo(std::ostream* os) const override {
    *os << "isn't OK or has a value that ";
    inner_matcher_.DescribeNegationTo(os);
  }

  bool MatchAndExplain(StatusOrType actual,
                       ::testing::MatchResultListener* listener) const override {
    if (!actual.ok()) {
      *listener << "which has status " << actual.status();
      return false;
    }
    ::testing::StringMatchResultListener inner;
    const bool matches = inner_matcher_.MatchAndExplain(*actual, &inner);
    *listener << "which contains value " << ::testing::PrintToString(*actual);
    if (!inner.str().empty()) *listener << ", " << inner.str();
    return matches;
  }

 private:
  const ::testing::Matcher<const value_type&> inner_matcher_;
};

template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner_matcher)
      : inner_matcher_(std::move(inner_matcher)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT(google-explicit-constructor)
    return ::testing::Matcher<StatusOrType>(
        new IsOkAndHoldsMatcherImpl<const StatusOrType&>(inner_matcher_));
  }

 private:
  const InnerMatcher inner_matcher_;
};

}  // namespace status_matchers_internal

// Matches an OK absl::Status, or an absl::StatusOr<T> holding a value.
inline ::testing::PolymorphicMatcher<status_matchers_internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(status_matchers_internal::IsOkMatcher());
}

// Matches a Status or StatusOr whose code matches `code_matcher` (an
// absl::StatusCode or a matcher of one) and whose message matches
// `message_matcher` (a string or a string matcher such as HasSubstr).
template <typename CodeMatcher, typename MessageMatcher>
status_matchers_internal::StatusIsMatcher StatusIs(CodeMatcher&& code_matcher,
                                                   MessageMatcher&& message_matcher) {
  return status_matchers_internal::StatusIsMatcher(std::forward<CodeMatcher>(code_matcher),
                                                   std::forward<MessageMatcher>(message_matcher));
}

// As above, with any message.
template <typename CodeMatcher>
status_matchers_internal::StatusIsMatcher StatusIs(CodeMatcher&& code_matcher) {
  return StatusIs(std::forward<CodeMatcher>(code_matcher), ::testing::_);
}

// Matches an OK absl::StatusOr<T> whose value matches `inner_matcher`.
template <typename InnerMatcher>
status_matchers_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& inner_matcher) {
  return status_matchers_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(inner_matcher));
}

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_STATUS_MATCHERS_H_
