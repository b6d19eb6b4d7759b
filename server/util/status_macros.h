// Status propagation macros with the semantics of Abseil's later
// ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN (absent from Abseil 20220623);
// swap them for the real ones on a newer LTS.
#ifndef ONESTOP_SERVER_UTIL_STATUS_MACROS_H_
#define ONESTOP_SERVER_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function unless it is OK.
#define ONESTOP_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status onestop_status_ = (expr);           \
    if (!onestop_status_.ok()) return onestop_status_; \
  } while (0)

#define ONESTOP_STATUS_CONCAT_INNER_(a, b) a##b
#define ONESTOP_STATUS_CONCAT_(a, b) ONESTOP_STATUS_CONCAT_INNER_(a, b)

// `ONESTOP_ASSIGN_OR_RETURN(auto x, Foo());` declares/assigns `x` from the
// value of a StatusOr, or returns its error status.
#define ONESTOP_ASSIGN_OR_RETURN(lhs, expr)                                    \
  ONESTOP_ASSIGN_OR_RETURN_IMPL_(                                              \
      ONESTOP_STATUS_CONCAT_(onestop_statusor_, __LINE__), lhs, expr)

#define ONESTOP_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // ONESTOP_SERVER_UTIL_STATUS_MACROS_H_
