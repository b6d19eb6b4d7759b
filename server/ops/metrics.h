// A small metrics registry rendered in the Prometheus text exposition format
// (version 0.0.4). Debian 12 ships no Prometheus C++ client, so this is the
// one place that knows the format:
//
//   # HELP name help text (backslash and newline escaped)
//   # TYPE name counter|gauge|histogram
//   name{label="value",...} 12.5
//   name_bucket{...,le="0.1"} 3    (cumulative; the last bucket is le="+Inf")
//   name_sum{...} 0.42
//   name_count{...} 4              (equals the +Inf bucket)
//
// Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*; label names match
// [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; a histogram may not have
// a label named "le". Label values escape \ as \\, " as \" and newline as \n.
// Families render in registration order, then collector families in the
// order they were written; samples within a family in label-value order.
//
// Ownership: the registry owns its families; the Family pointers it returns
// live as long as the registry.
// Thread safety: every method of every class here may be called
// concurrently. Collectors run on the thread calling
// RenderPrometheusText(), one scrape at a time.
#ifndef ONESTOP_SERVER_OPS_METRICS_H_
#define ONESTOP_SERVER_OPS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace onestop::ops {

// True if `name` is a valid metric name.
bool IsValidMetricName(absl::string_view name);
// True if `name` is a valid label name (and not reserved: "__" prefix).
bool IsValidLabelName(absl::string_view name);
// `value` escaped for use inside a label value's double quotes.
std::string EscapeLabelValue(absl::string_view value);
// `text` escaped for a HELP line.
std::string EscapeHelp(absl::string_view text);
// `value` as the format writes it: shortest round-trip decimal, "+Inf",
// "-Inf" or "NaN".
std::string FormatSampleValue(double value);

// Default latency buckets in seconds: 0.5 ms … 10 s.
std::vector<double> DefaultLatencyBuckets();

// One label set of a counter family, resolved once (CounterFamily::Child):
// adding to it takes no lock, so per-RPC paths that keep the child (the
// RPC interceptor, the store's timers) never queue behind each other on
// the family's mutex.
class CounterChild {
 public:
  // A negative delta is ignored.
  void Add(double delta = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A counter with labels: only goes up.
class CounterFamily {
 public:
  // The child named by `label_values` (one per label name, in declaration
  // order), created at 0; it lives as long as the family. nullptr for the
  // wrong number of label values (a programming error; never fatal in a
  // daemon).
  CounterChild* Child(absl::Span<const std::string> label_values);
  // Adds `delta` to the child named by `label_values`, creating it at 0. A
  // negative delta, or the wrong number of label values, is ignored.
  void Add(absl::Span<const std::string> label_values, double delta = 1);
  // The child's value, 0 if it does not exist (for tests).
  double Value(absl::Span<const std::string> label_values) const;

 private:
  friend class MetricsRegistry;
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<CounterChild>> values_ ABSL_GUARDED_BY(mu_);
};

// A gauge with labels: set to any value.
class GaugeFamily {
 public:
  // Sets the child named by `label_values`. Wrong arity is ignored.
  void Set(absl::Span<const std::string> label_values, double value);
  // Adds `delta` (may be negative) to the child, creating it at 0.
  void Add(absl::Span<const std::string> label_values, double delta);
  double Value(absl::Span<const std::string> label_values) const;

 private:
  friend class MetricsRegistry;
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);
  void Render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, double> values_ ABSL_GUARDED_BY(mu_);
};

// One label set of a histogram family, resolved once
// (HistogramFamily::Child): observing takes no lock. A scrape renders
// `_count` as the buckets' total, so it always equals the +Inf bucket; an
// observation racing with a scrape may show in the buckets before `_sum`.
class HistogramChild {
 public:
  void Observe(double value);
  // Observations recorded so far.
  uint64_t Count() const;

 private:
  friend class HistogramFamily;
  explicit HistogramChild(const std::vector<double>* bounds);

  const std::vector<double>* const bounds_;  // the family's
  // Per bound, not cumulative; the last one counts values above every
  // bound (+Inf).
  const std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// A histogram with labels over fixed upper bounds.
class HistogramFamily {
 public:
  // The child named by `label_values`, created empty; it lives as long as
  // the family. nullptr for the wrong number of label values.
  HistogramChild* Child(absl::Span<const std::string> label_values);
  // Records one observation in the child named by `label_values`. Wrong
  // arity is ignored.
  void Observe(absl::Span<const std::string> label_values, double value);
  // Observations recorded in the child, 0 if none (for tests).
  uint64_t Count(absl::Span<const std::string> label_values) const;

 private:
  friend class MetricsRegistry;
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  void Render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // strictly increasing, finite
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<HistogramChild>> children_
      ABSL_GUARDED_BY(mu_);
};

// Receives the values a collector computes at scrape time (gauges whose
// truth lives elsewhere: the database, the change feed).
class MetricsWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  // Adds one gauge sample. Samples with the same `name` form one family
  // (the first call's help wins). Invalid names, or a name already used by
  // a registered family or with another type, drop the sample and are
  // counted in onestop_metrics_dropped_samples_total.
  void Gauge(absl::string_view name, absl::string_view help, const Labels& labels,
             double value);
  // As Gauge, for a counter the collector reads from elsewhere.
  void Counter(absl::string_view name, absl::string_view help, const Labels& labels,
               double value);

 private:
  friend class MetricsRegistry;
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, double> samples;  // rendered label set → value
  };
  void Add(absl::string_view type, absl::string_view name, absl::string_view help,
           const Labels& labels, double value);

  std::vector<std::string> reserved_;  // names of the registered families
  std::vector<std::string> order_;
  std::map<std::string, Family> families_;
  int dropped_ = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family. INVALID_ARGUMENT for a bad metric or label name
  // (or "le" on a histogram, or bounds that are empty, not finite or not
  // strictly increasing); ALREADY_EXISTS if the name is taken.
  absl::StatusOr<CounterFamily*> AddCounter(absl::string_view name, absl::string_view help,
                                            std::vector<std::string> label_names);
  absl::StatusOr<GaugeFamily*> AddGauge(absl::string_view name, absl::string_view help,
                                        std::vector<std::string> label_names);
  absl::StatusOr<HistogramFamily*> AddHistogram(absl::string_view name,
                                                absl::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds);

  // Adds a function called on every RenderPrometheusText(), after the
  // registered families are rendered. It must not call back into this
  // registry. May block (e.g. a cheap database read): scrapes are rare.
  void RegisterCollector(std::function<void(MetricsWriter&)> collector);

  // The whole registry in the text exposition format, ending in "\n".
  std::string RenderPrometheusText() const;

 private:
  absl::Status CheckNew(absl::string_view name, const std::vector<std::string>& label_names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  // One of the three pointers is set per entry.
  struct Entry {
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(MetricsWriter&)>> collectors_ ABSL_GUARDED_BY(mu_);
  // Serializes scrapes so collectors never run concurrently.
  mutable absl::Mutex scrape_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable int64_t dropped_total_ ABSL_GUARDED_BY(scrape_mu_) = 0;
};

}  // namespace onestop::ops

#endif  // ONESTOP_SERVER_OPS_METRICS_H_
