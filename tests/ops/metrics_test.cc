// The registry's output against the Prometheus text exposition format's
// rules: HELP/TYPE lines, name rules, label escaping, cumulative histogram
// buckets ending in +Inf, _sum and _count, collectors.
#include "server/ops/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "tests/testing/status_matchers.h"

namespace onestop::ops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::StatusIs;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  EXPECT_EQ(lines.back(), "") << "the exposition must end with a newline";
  lines.pop_back();
  return lines;
}

TEST(MetricNamesTest, FollowTheFormatRules) {
  EXPECT_TRUE(IsValidMetricName("grpc_server_handled_total"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_TRUE(IsValidMetricName("_x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName("a b"));
  EXPECT_FALSE(IsValidMetricName("hồ_sơ"));

  EXPECT_TRUE(IsValidLabelName("grpc_code"));
  EXPECT_TRUE(IsValidLabelName("_x"));
  EXPECT_FALSE(IsValidLabelName("__name__"));  // reserved
  EXPECT_FALSE(IsValidLabelName("a:b"));       // colons only in metric names
  EXPECT_FALSE(IsValidLabelName("9a"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(EscapingTest, LabelValuesEscapeBackslashQuoteNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(a\b"c)" "\n" "d"), R"(a\\b\"c\nd)");
  EXPECT_EQ(EscapeLabelValue("Đắk Lắk"), "Đắk Lắk");  // UTF-8 passes through
}

TEST(EscapingTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  EXPECT_EQ(EscapeHelp("a\\b\n\"c\""), "a\\\\b\\n\"c\"");
}

TEST(FormatTest, ValuesRoundTripAndSpellSpecials) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(3), "3");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(-2.5), "-2.5");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(FormatSampleValue(1.0 / 3)), 1.0 / 3);
}

TEST(RegistryTest, RejectsBadNamesAndDuplicates) {
  MetricsRegistry registry;
  EXPECT_THAT(registry.AddCounter("bad-name", "h", {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddCounter("ok_total", "h", {"__reserved"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddGauge("g", "h", {"a", "a"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddHistogram("h_seconds", "h", {"le"}, {1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddHistogram("h_seconds", "h", {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddHistogram("h_seconds", "h", {}, {1, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(registry.AddHistogram("h_seconds", "h", {}, {1, std::nan("")}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_TRUE(registry.AddCounter("x_total", "h", {}).ok());
  EXPECT_THAT(registry.AddGauge("x_total", "h", {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(RegistryTest, RendersCounterWithHelpTypeAndEscapedLabels) {
  MetricsRegistry registry;
  auto counter = registry.AddCounter("requests_total", "Requests.\nBy \\path.", {"path", "code"});
  ASSERT_TRUE(counter.ok());
  (*counter)->Add({"/a\"b", "OK"}, 2);
  (*counter)->Add({"/a\"b", "OK"});
  (*counter)->Add({"/x\ny", "NOT_FOUND"}, 0.5);
  (*counter)->Add({"/a\"b", "OK"}, -1);        // ignored: counters only go up
  (*counter)->Add({"only-one-value"}, 1);      // ignored: wrong arity
  EXPECT_EQ((*counter)->Value({"/a\"b", "OK"}), 3);

  const std::vector<std::string> lines = Lines(registry.RenderPrometheusText());
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "# HELP requests_total Requests.\\nBy \\\\path.");
  EXPECT_EQ(lines[1], "# TYPE requests_total counter");
  EXPECT_EQ(lines[2], "requests_total{path=\"/a\\\"b\",code=\"OK\"} 3");
  EXPECT_EQ(lines[3], "requests_total{path=\"/x\\ny\",code=\"NOT_FOUND\"} 0.5");
}

TEST(RegistryTest, RendersGaugeWithoutLabelsWithoutBraces) {
  MetricsRegistry registry;
  auto gauge = registry.AddGauge("temperature", "T.", {});
  ASSERT_TRUE(gauge.ok());
  (*gauge)->Set({}, 21.5);
  (*gauge)->Add({}, -1.5);
  EXPECT_THAT(Lines(registry.RenderPrometheusText()),
              ::testing::IsSupersetOf({"# TYPE temperature gauge", "temperature 20"}));
}

TEST(RegistryTest, HistogramBucketsAreCumulativeAndEndInInf) {
  MetricsRegistry registry;
  auto histogram = registry.AddHistogram("latency_seconds", "L.", {"method"}, {0.25, 1});
  ASSERT_TRUE(histogram.ok());
  for (double v : {0.125, 0.25, 0.5, 3.0}) (*histogram)->Observe({"Get"}, v);
  EXPECT_EQ((*histogram)->Count({"Get"}), 4u);

  EXPECT_THAT(Lines(registry.RenderPrometheusText()),
              ElementsAre("# HELP latency_seconds L.", "# TYPE latency_seconds histogram",
                          "latency_seconds_bucket{method=\"Get\",le=\"0.25\"} 2",  // ≤ is inclusive
                          "latency_seconds_bucket{method=\"Get\",le=\"1\"} 3",
                          "latency_seconds_bucket{method=\"Get\",le=\"+Inf\"} 4",
                          "latency_seconds_sum{method=\"Get\"} 3.875",
                          "latency_seconds_count{method=\"Get\"} 4",
                          "# HELP onestop_metrics_dropped_samples_total Collector samples "
                          "dropped for an invalid or conflicting name.",
                          "# TYPE onestop_metrics_dropped_samples_total counter",
                          "onestop_metrics_dropped_samples_total 0"));
}

TEST(RegistryTest, HistogramWithoutLabelsPutsOnlyLeInBraces) {
  MetricsRegistry registry;
  auto histogram = registry.AddHistogram("h", "H.", {}, {1});
  ASSERT_TRUE(histogram.ok());
  (*histogram)->Observe({}, 2);
  const std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n"));
}

TEST(RegistryTest, EveryFamilyHasOneHelpAndOneTypeBeforeItsSamples) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddCounter("a_total", "A.", {"x"}).ok());
  auto b = registry.AddGauge("b", "B.", {"x"});
  ASSERT_TRUE(b.ok());
  (*b)->Set({"1"}, 1);
  (*b)->Set({"2"}, 2);
  const std::vector<std::string> lines = Lines(registry.RenderPrometheusText());
  int types_b = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i] == "# TYPE b gauge") {
      ++types_b;
      EXPECT_EQ(lines[i - 1], "# HELP b B.");
      EXPECT_EQ(lines[i + 1], "b{x=\"1\"} 1");
      EXPECT_EQ(lines[i + 2], "b{x=\"2\"} 2");
    }
    // Every line is a comment or "name[{labels}] value".
    if (lines[i][0] != '#') {
      EXPECT_THAT(lines[i], ::testing::MatchesRegex("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*\\})? .+"));
    }
  }
  EXPECT_EQ(types_b, 1);
  // A family with no samples still declares itself.
  EXPECT_THAT(lines, ::testing::Contains("# TYPE a_total counter"));
}

TEST(RegistryTest, CollectorsAddScrapeTimeFamiliesAndBadSamplesAreDropped) {
  MetricsRegistry registry;
  ASSERT_TRUE(registry.AddGauge("registered", "R.", {}).ok());
  int calls = 0;
  registry.RegisterCollector([&calls](MetricsWriter& out) {
    ++calls;
    out.Gauge("dossiers", "Dossiers by status.", {{"status", "RECEIVED"}}, 7);
    out.Gauge("dossiers", "ignored help", {{"status", "PROCESSING"}}, 3);
    out.Gauge("bad-name", "x", {}, 1);                  // dropped
    out.Gauge("registered", "x", {}, 1);                // dropped: name taken
    out.Counter("dossiers", "x", {}, 1);                // dropped: type clash
    out.Gauge("fine", "x", {{"__bad", "v"}}, 1);        // dropped: label name
  });
  const std::string text = registry.RenderPrometheusText();
  EXPECT_EQ(calls, 1);
  EXPECT_THAT(text, HasSubstr("# HELP dossiers Dossiers by status.\n# TYPE dossiers gauge\n"
                              "dossiers{status=\"PROCESSING\"} 3\n"
                              "dossiers{status=\"RECEIVED\"} 7\n"));
  EXPECT_THAT(text, Not(HasSubstr("bad-name")));
  EXPECT_THAT(text, Not(HasSubstr("fine")));
  EXPECT_THAT(text, HasSubstr("onestop_metrics_dropped_samples_total 4\n"));
  // The dropped counter is cumulative across scrapes.
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr("onestop_metrics_dropped_samples_total 8\n"));
}

TEST(RegistryTest, ChildrenAreResolvedOnceAndShareTheFamilysSeries) {
  MetricsRegistry registry;
  auto counter = registry.AddCounter("writes_total", "W.", {"op", "outcome"});
  auto histogram = registry.AddHistogram("write_seconds", "S.", {"op"}, {0.25, 1});
  ASSERT_TRUE(counter.ok() && histogram.ok());

  CounterChild* created = (*counter)->Child({"create", "ok"});
  ASSERT_NE(created, nullptr);
  EXPECT_EQ((*counter)->Child({"create", "ok"}), created);  // the same series
  EXPECT_NE((*counter)->Child({"create", "error"}), created);
  EXPECT_EQ((*counter)->Child({"create"}), nullptr);  // wrong arity
  created->Add();
  created->Add(2.5);
  created->Add(-1);  // ignored: a counter only goes up
  (*counter)->Add({"create", "ok"});  // by labels, into the same child
  EXPECT_EQ(created->Value(), 4.5);
  EXPECT_EQ((*counter)->Value({"create", "ok"}), 4.5);

  HistogramChild* timed = (*histogram)->Child({"create"});
  ASSERT_NE(timed, nullptr);
  EXPECT_EQ((*histogram)->Child({"create"}), timed);
  EXPECT_EQ((*histogram)->Child({}), nullptr);
  for (double v : {0.125, 0.5, 3.0}) timed->Observe(v);
  (*histogram)->Observe({"create"}, 0.25);
  EXPECT_EQ(timed->Count(), 4u);
  EXPECT_EQ((*histogram)->Count({"create"}), 4u);

  const std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("writes_total{op=\"create\",outcome=\"ok\"} 4.5\n"));
  EXPECT_THAT(text, HasSubstr("writes_total{op=\"create\",outcome=\"error\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("write_seconds_bucket{op=\"create\",le=\"0.25\"} 2\n"
                              "write_seconds_bucket{op=\"create\",le=\"1\"} 3\n"
                              "write_seconds_bucket{op=\"create\",le=\"+Inf\"} 4\n"
                              "write_seconds_sum{op=\"create\"} 3.875\n"
                              "write_seconds_count{op=\"create\"} 4\n"));
}

TEST(RegistryTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  auto counter = registry.AddCounter("c_total", "C.", {"t"});
  auto histogram = registry.AddHistogram("h", "H.", {}, {1});
  ASSERT_TRUE(counter.ok() && histogram.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      // Half through the labels, half through a child resolved once: the
      // lock-free adds must lose nothing either way.
      CounterChild* child = (*counter)->Child({"x"});
      HistogramChild* observed = (*histogram)->Child({});
      for (int i = 0; i < 1000; ++i) {
        if (i % 2 == 0) {
          (*counter)->Add({"x"});
          (*histogram)->Observe({}, 0.5);
        } else {
          child->Add();
          observed->Observe(0.5);
        }
        if (i % 100 == 0) registry.RenderPrometheusText();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ((*counter)->Value({"x"}), 4000);
  EXPECT_EQ((*histogram)->Count({}), 4000u);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("h_sum 2000\nh_count 4000\n"));
}

}  // namespace
}  // namespace onestop::ops
