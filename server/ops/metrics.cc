#include "server/ops/metrics.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace onestop::ops {
namespace {

constexpr char kDroppedName[] = "onestop_metrics_dropped_samples_total";

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// `{a="x",b="y"}` for the names and values, with `extra` (already
// rendered, e.g. `le="0.1"`) last; "" if there are no labels at all.
std::string RenderLabels(const std::vector<std::string>& names,
                         const std::vector<std::string>& values,
                         absl::string_view extra = "") {
  if (names.empty() && extra.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out.append(extra.data(), extra.size());
  }
  out += '}';
  return out;
}

void RenderHeader(std::string& out, absl::string_view name, absl::string_view help,
                  absl::string_view type) {
  absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(help), "\n", "# TYPE ", name, " ",
                  type, "\n");
}

bool ArityOk(absl::Span<const std::string> values, const std::vector<std::string>& names) {
  return values.size() == names.size();
}

std::vector<std::string> Key(absl::Span<const std::string> values) {
  return std::vector<std::string>(values.begin(), values.end());
}

// `target += delta` without a lock (std::atomic<double> has no fetch_add
// before C++20).
void AddTo(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

}  // namespace

bool IsValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  if (!IsNameStart(name[0]) && name[0] != ':') return false;
  for (char c : name.substr(1)) {
    if (!IsNameStart(c) && !IsDigit(c) && c != ':') return false;
  }
  return true;
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') return false;
  for (char c : name.substr(1)) {
    if (!IsNameStart(c) && !IsDigit(c)) return false;
  }
  return true;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

// ---- CounterFamily ---------------------------------------------------------

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterChild::Add(double delta) {
  if (!(delta >= 0)) return;
  AddTo(value_, delta);
}

CounterChild* CounterFamily::Child(absl::Span<const std::string> label_values) {
  if (!ArityOk(label_values, label_names_)) return nullptr;
  absl::MutexLock lock(&mu_);
  std::unique_ptr<CounterChild>& child = values_[Key(label_values)];
  if (child == nullptr) child = std::make_unique<CounterChild>();
  return child.get();
}

void CounterFamily::Add(absl::Span<const std::string> label_values, double delta) {
  if (!(delta >= 0)) return;
  if (CounterChild* child = Child(label_values); child != nullptr) child->Add(delta);
}

double CounterFamily::Value(absl::Span<const std::string> label_values) const {
  absl::MutexLock lock(&mu_);
  auto it = values_.find(Key(label_values));
  return it == values_.end() ? 0 : it->second->Value();
}

void CounterFamily::Render(std::string& out) const {
  RenderHeader(out, name_, help_, "counter");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : values_) {
    absl::StrAppend(&out, name_, RenderLabels(label_names_, values), " ",
                    FormatSampleValue(child->Value()), "\n");
  }
}

// ---- GaugeFamily -----------------------------------------------------------

GaugeFamily::GaugeFamily(std::string name, std::string help,
                         std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void GaugeFamily::Set(absl::Span<const std::string> label_values, double value) {
  if (!ArityOk(label_values, label_names_)) return;
  absl::MutexLock lock(&mu_);
  values_[Key(label_values)] = value;
}

void GaugeFamily::Add(absl::Span<const std::string> label_values, double delta) {
  if (!ArityOk(label_values, label_names_)) return;
  absl::MutexLock lock(&mu_);
  values_[Key(label_values)] += delta;
}

double GaugeFamily::Value(absl::Span<const std::string> label_values) const {
  absl::MutexLock lock(&mu_);
  auto it = values_.find(Key(label_values));
  return it == values_.end() ? 0 : it->second;
}

void GaugeFamily::Render(std::string& out) const {
  RenderHeader(out, name_, help_, "gauge");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, value] : values_) {
    absl::StrAppend(&out, name_, RenderLabels(label_names_, values), " ",
                    FormatSampleValue(value), "\n");
  }
}

// ---- HistogramFamily -------------------------------------------------------

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

HistogramChild::HistogramChild(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void HistogramChild::Observe(double value) {
  // Bucket i counts observations ≤ bounds[i] (and > bounds[i-1]).
  size_t bucket = 0;
  while (bucket < bounds_->size() && !(value <= (*bounds_)[bucket])) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  AddTo(sum_, value);
}

uint64_t HistogramChild::Count() const {
  uint64_t count = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    count += buckets_[i].load(std::memory_order_relaxed);
  }
  return count;
}

HistogramChild* HistogramFamily::Child(absl::Span<const std::string> label_values) {
  if (!ArityOk(label_values, label_names_)) return nullptr;
  absl::MutexLock lock(&mu_);
  std::unique_ptr<HistogramChild>& child = children_[Key(label_values)];
  if (child == nullptr) child.reset(new HistogramChild(&bounds_));
  return child.get();
}

void HistogramFamily::Observe(absl::Span<const std::string> label_values, double value) {
  if (HistogramChild* child = Child(label_values); child != nullptr) child->Observe(value);
}

uint64_t HistogramFamily::Count(absl::Span<const std::string> label_values) const {
  absl::MutexLock lock(&mu_);
  auto it = children_.find(Key(label_values));
  return it == children_.end() ? 0 : it->second->Count();
}

void HistogramFamily::Render(std::string& out) const {
  RenderHeader(out, name_, help_, "histogram");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += child->buckets_[i].load(std::memory_order_relaxed);
      const std::string le =
          i < bounds_.size() ? FormatSampleValue(bounds_[i]) : std::string("+Inf");
      absl::StrAppend(&out, name_, "_bucket",
                      RenderLabels(label_names_, values, absl::StrCat("le=\"", le, "\"")), " ",
                      cumulative, "\n");
    }
    const std::string labels = RenderLabels(label_names_, values);
    absl::StrAppend(&out, name_, "_sum", labels, " ",
                    FormatSampleValue(child->sum_.load(std::memory_order_relaxed)), "\n");
    absl::StrAppend(&out, name_, "_count", labels, " ", cumulative, "\n");
  }
}

// ---- MetricsWriter ---------------------------------------------------------

void MetricsWriter::Gauge(absl::string_view name, absl::string_view help,
                          const Labels& labels, double value) {
  Add("gauge", name, help, labels, value);
}

void MetricsWriter::Counter(absl::string_view name, absl::string_view help,
                            const Labels& labels, double value) {
  Add("counter", name, help, labels, value);
}

void MetricsWriter::Add(absl::string_view type, absl::string_view name,
                        absl::string_view help, const Labels& labels, double value) {
  bool ok = IsValidMetricName(name);
  for (const std::string& reserved : reserved_) {
    if (reserved == name) ok = false;
  }
  for (const auto& [label, unused] : labels) {
    if (!IsValidLabelName(label)) ok = false;
  }
  auto it = families_.find(std::string(name));
  if (it != families_.end() && it->second.type != type) ok = false;
  if (!ok) {
    ++dropped_;
    return;
  }
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{std::string(help), std::string(type), {}})
             .first;
    order_.push_back(std::string(name));
  }
  std::string rendered;
  if (!labels.empty()) {
    rendered = "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) rendered += ',';
      absl::StrAppend(&rendered, labels[i].first, "=\"", EscapeLabelValue(labels[i].second),
                      "\"");
    }
    rendered += '}';
  }
  it->second.samples[rendered] = value;
}

// ---- MetricsRegistry -------------------------------------------------------

absl::Status MetricsRegistry::CheckNew(absl::string_view name,
                                       const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name \"", name, "\""));
  }
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, ": invalid label name \"", label, "\""));
    }
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    for (size_t j = i + 1; j < label_names.size(); ++j) {
      if (label_names[i] == label_names[j]) {
        return absl::InvalidArgumentError(
            absl::StrCat("metric ", name, ": label \"", label_names[i], "\" repeated"));
      }
    }
  }
  if (name == kDroppedName) {
    return absl::AlreadyExistsError(absl::StrCat("metric ", name, " is the registry's own"));
  }
  for (const std::string& existing : names_) {
    if (existing == name) {
      return absl::AlreadyExistsError(absl::StrCat("metric ", name, " already registered"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> MetricsRegistry::AddCounter(
    absl::string_view name, absl::string_view help, std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckNew(name, label_names); !s.ok()) return s;
  Entry entry;
  entry.counter.reset(
      new CounterFamily(std::string(name), std::string(help), std::move(label_names)));
  CounterFamily* family = entry.counter.get();
  names_.push_back(std::string(name));
  entries_.push_back(std::move(entry));
  return family;
}

absl::StatusOr<GaugeFamily*> MetricsRegistry::AddGauge(absl::string_view name,
                                                       absl::string_view help,
                                                       std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckNew(name, label_names); !s.ok()) return s;
  Entry entry;
  entry.gauge.reset(
      new GaugeFamily(std::string(name), std::string(help), std::move(label_names)));
  GaugeFamily* family = entry.gauge.get();
  names_.push_back(std::string(name));
  entries_.push_back(std::move(entry));
  return family;
}

absl::StatusOr<HistogramFamily*> MetricsRegistry::AddHistogram(
    absl::string_view name, absl::string_view help, std::vector<std::string> label_names,
    std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckNew(name, label_names); !s.ok()) return s;
  for (const std::string& label : label_names) {
    if (label == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", name, ": \"le\" is reserved for buckets"));
    }
  }
  if (bounds.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("histogram ", name, ": no buckets"));
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram ", name, ": bucket bounds must be finite and strictly increasing"));
    }
  }
  Entry entry;
  entry.histogram.reset(new HistogramFamily(std::string(name), std::string(help),
                                            std::move(label_names), std::move(bounds)));
  HistogramFamily* family = entry.histogram.get();
  names_.push_back(std::string(name));
  entries_.push_back(std::move(entry));
  return family;
}

void MetricsRegistry::RegisterCollector(std::function<void(MetricsWriter&)> collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::RenderPrometheusText() const {
  absl::MutexLock scrape(&scrape_mu_);
  std::string out;
  std::vector<std::function<void(MetricsWriter&)>> collectors;
  MetricsWriter writer;
  {
    absl::MutexLock lock(&mu_);
    for (const Entry& entry : entries_) {
      if (entry.counter) entry.counter->Render(out);
      if (entry.gauge) entry.gauge->Render(out);
      if (entry.histogram) entry.histogram->Render(out);
    }
    collectors = collectors_;
    writer.reserved_ = names_;
    writer.reserved_.push_back(kDroppedName);
  }
  // Collectors run without mu_: they may block on I/O.
  for (const auto& collector : collectors) collector(writer);
  for (const std::string& name : writer.order_) {
    const MetricsWriter::Family& family = writer.families_.at(name);
    RenderHeader(out, name, family.help, family.type);
    for (const auto& [labels, value] : family.samples) {
      absl::StrAppend(&out, name, labels, " ", FormatSampleValue(value), "\n");
    }
  }
  dropped_total_ += writer.dropped_;
  RenderHeader(out, kDroppedName,
               "Collector samples dropped for an invalid or conflicting name.", "counter");
  absl::StrAppend(&out, kDroppedName, " ", dropped_total_, "\n");
  return out;
}

}  // namespace onestop::ops
