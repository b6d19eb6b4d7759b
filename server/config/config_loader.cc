#include "server/config/config_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "onestop/config/v1/config.pb.h"
#include "server/core/catalogue.h"

namespace onestop::config {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::google::protobuf::TextFormat;
using ::onestop::config::v1::Config;
using ::onestop::core::ConfigFieldPath;
using ::onestop::core::ConfigProblem;

// A 0-based position as protobuf's tokenizer reports it; line -1 = unknown.
struct Position {
  int line = -1;
  int column = -1;
};

// "FILE:LINE:COL: " with 1-based numbers, or "FILE: " when unknown.
std::string Prefix(absl::string_view file_name, Position pos) {
  if (pos.line < 0) return absl::StrCat(file_name, ": ");
  return absl::StrCat(file_name, ":", pos.line + 1, ":", pos.column + 1, ": ");
}

// Collects the parser's errors as "FILE:LINE:COL: message" lines. Warnings
// are not failures and are dropped.
class LineErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  explicit LineErrorCollector(absl::string_view file_name)
      : file_name_(file_name) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    lines_.push_back(absl::StrCat(
        Prefix(file_name_, Position{line, static_cast<int>(column)}),
        message));
  }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  std::string file_name_;
  std::vector<std::string> lines_;
};

// Returns the byte offset of the first byte of `text` that does not belong
// to a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos if `text` is valid.
size_t FindInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // overlong
      if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // overlong
      if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + len > n) return i;
    const auto b1 = static_cast<uint8_t>(text[i + 1]);
    if (b1 < lo || b1 > hi) return i;
    for (int k = 2; k < len; ++k) {
      const auto bk = static_cast<uint8_t>(text[i + k]);
      if (bk < 0x80 || bk > 0xBF) return i;
    }
    i += len;
  }
  return absl::string_view::npos;
}

// The tokenizer's 0-based position of byte `offset` (tabs to multiples of 8).
Position PositionOf(absl::string_view text, size_t offset) {
  Position pos{0, 0};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 0;
    } else if (text[i] == '\t') {
      pos.column += 8 - pos.column % 8;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

// Appends a problem for every string value in `message` (recursively) that
// is not valid UTF-8. `path` holds the steps down to `message`.
void CheckStringsAreUtf8(const Message& message, ConfigFieldPath& path,
                         std::vector<ConfigProblem>& problems) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const int count =
        field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      const int index = field->is_repeated() ? i : -1;
      if (field->type() == FieldDescriptor::TYPE_STRING) {
        std::string scratch;
        const std::string& value =
            field->is_repeated()
                ? reflection->GetRepeatedStringReference(message, field, i,
                                                         &scratch)
                : reflection->GetStringReference(message, field, &scratch);
        const size_t bad = FindInvalidUtf8(value);
        if (bad != absl::string_view::npos) {
          ConfigFieldPath here = path;
          here.steps.emplace_back(field->name(), index);
          problems.push_back(ConfigProblem{
              std::move(here),
              absl::StrCat("invalid UTF-8 in string value (byte ", bad + 1,
                           ")")});
        }
      } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        path.steps.emplace_back(field->name(), index);
        CheckStringsAreUtf8(
            field->is_repeated()
                ? reflection->GetRepeatedMessage(message, field, i)
                : reflection->GetMessage(message, field),
            path, problems);
        path.steps.pop_back();
      }
    }
  }
}

// Where `path` is written in the text: the deepest step that has a
// recorded location (the field itself, else its nearest enclosing element).
Position Locate(const TextFormat::ParseInfoTree& root,
                const ConfigFieldPath& path) {
  const Descriptor* descriptor = Config::descriptor();
  const TextFormat::ParseInfoTree* tree = &root;
  Position best;
  for (size_t i = 0; i < path.steps.size(); ++i) {
    const FieldDescriptor* field =
        descriptor->FindFieldByName(path.steps[i].first);
    if (field == nullptr) break;
    // ParseInfoTree wants -1 exactly for singular fields and an index for
    // repeated ones; a whole-list step points at its first element.
    int index = -1;
    if (field->is_repeated()) index = path.steps[i].second < 0 ? 0 : path.steps[i].second;
    const TextFormat::ParseLocation location = tree->GetLocation(field, index);
    if (location.line < 0) break;
    best = Position{location.line, location.column};
    if (i + 1 == path.steps.size()) break;
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) break;
    tree = tree->GetTreeForNested(field, index);
    if (tree == nullptr) break;
    descriptor = field->message_type();
  }
  return best;
}

// "agencies[3].parent_code".
std::string FormatPath(const ConfigFieldPath& path) {
  std::string out;
  for (const auto& [name, index] : path.steps) {
    if (!out.empty()) out += '.';
    out += name;
    if (index >= 0) absl::StrAppend(&out, "[", index, "]");
  }
  return out;
}

absl::Status ProblemsToStatus(absl::string_view file_name,
                              const TextFormat::ParseInfoTree& tree,
                              const std::vector<ConfigProblem>& problems) {
  struct Line {
    Position position;
    std::string text;
  };
  std::vector<Line> lines;
  lines.reserve(problems.size());
  for (const ConfigProblem& problem : problems) {
    const Position position = Locate(tree, problem.path);
    const std::string field = FormatPath(problem.path);
    lines.push_back(Line{position, absl::StrCat(Prefix(file_name, position), field,
                                                field.empty() ? "" : ": ",
                                                problem.message)});
  }
  // Top to bottom through the file, as an editor walks them; problems
  // without a position first; ties keep the validator's order.
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) {
                     return std::pair(a.position.line, a.position.column) <
                            std::pair(b.position.line, b.position.column);
                   });
  std::vector<std::string> texts;
  texts.reserve(lines.size());
  for (Line& line : lines) texts.push_back(std::move(line.text));
  return absl::InvalidArgumentError(absl::StrJoin(texts, "\n"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const core::Catalogue>> LoadConfigText(
    absl::string_view text, absl::string_view file_name) {
  // TextFormat accepts raw non-UTF-8 bytes inside strings and comments.
  if (const size_t bad = FindInvalidUtf8(text);
      bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        Prefix(file_name, PositionOf(text, bad)),
        "invalid UTF-8 (byte 0x",
        absl::Hex(static_cast<uint8_t>(text[bad]), absl::kZeroPad2),
        "); the configuration must be UTF-8"));
  }

  Config config;
  TextFormat::ParseInfoTree tree;
  LineErrorCollector errors(file_name);
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &config)) {
    if (errors.lines().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Prefix(file_name, Position{}), "cannot parse"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors.lines(), "\n"));
  }

  // Escapes ("\303", "\xff") can still produce invalid UTF-8 values.
  std::vector<ConfigProblem> encoding_problems;
  ConfigFieldPath root;
  CheckStringsAreUtf8(config, root, encoding_problems);
  if (!encoding_problems.empty()) {
    return ProblemsToStatus(file_name, tree, encoding_problems);
  }

  auto built = core::Catalogue::Build(config);
  if (auto* problems = std::get_if<std::vector<ConfigProblem>>(&built)) {
    if (problems->empty()) {
      return absl::InternalError(absl::StrCat(
          Prefix(file_name, Position{}),
          "configuration rejected without a reason"));
    }
    return ProblemsToStatus(file_name, tree, *problems);
  }
  return std::get<std::shared_ptr<const core::Catalogue>>(std::move(built));
}

absl::StatusOr<std::shared_ptr<const core::Catalogue>> LoadConfigFile(
    const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) {
    const int error = errno;
    std::string message =
        absl::StrCat("cannot open configuration file \"", path,
                     "\": ", std::generic_category().message(error));
    if (error == ENOENT || error == ENOTDIR) {
      return absl::NotFoundError(std::move(message));
    }
    return absl::FailedPreconditionError(std::move(message));
  }
  std::string contents;
  char buffer[1 << 16];
  while (true) {
    const size_t got = std::fread(buffer, 1, sizeof(buffer), file.get());
    contents.append(buffer, got);
    if (got < sizeof(buffer)) break;
  }
  if (std::ferror(file.get())) {
    const int error = errno;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read configuration file \"", path,
                     "\": ", std::generic_category().message(error)));
  }
  return LoadConfigText(contents, path);
}

}  // namespace onestop::config
