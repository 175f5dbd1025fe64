#include "compiler/stage_text.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace flow {

std::string FormatCount(int64_t n) {
  // Through the unsigned magnitude so INT64_MIN has one too.
  uint64_t magnitude = n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(magnitude);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 0) return "-" + FormatBytes(bytes == INT64_MIN ? INT64_MAX : -bytes);
  size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes >= (int64_t{1} << (10 * (unit + 1)))) ++unit;
  int64_t scale = int64_t{1} << (10 * unit);
  if (bytes % scale == 0) return fmt::format("{} {}", bytes / scale, kUnits[unit]);
  double tenths = std::round(static_cast<double>(bytes) / static_cast<double>(scale) * 10);
  // 1023.96 MiB rounds to 1024.0: say 1 GiB instead.
  if (tenths >= 10240 && unit + 1 < std::size(kUnits)) {
    ++unit;
    tenths = std::round(tenths / 1024);
  }
  if (std::fmod(tenths, 10) == 0) return fmt::format("{} {}", tenths / 10, kUnits[unit]);
  return fmt::format("{:.1f} {}", tenths / 10, kUnits[unit]);
}

std::string CountOf(int64_t count, const std::string& noun) {
  if (count == 1) return "1 " + noun;
  return FormatCount(count) + " " + noun + (noun.ends_with('s') ? "es" : "s");
}

namespace {

// The length of the valid UTF-8 sequence at the start of `text`, 0 if it is
// not one (a stray continuation byte, an overlong form, a surrogate, a cut).
size_t Utf8SequenceLength(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (lead < 0xC2 || lead > 0xF4 || text.size() < length) return 0;
  // The second byte's range is narrower after some lead bytes (RFC 3629).
  unsigned char low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  unsigned char high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  return length;
}

}  // namespace

std::string QuoteText(std::string_view text, size_t max_bytes) {
  bool cut = text.size() > max_bytes;
  if (cut) {
    size_t end = max_bytes;
    // Back up over (at most three) UTF-8 continuation bytes so no character is split.
    for (int k = 0; k < 3 && end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80; ++k) --end;
    text = text.substr(0, end);
  }
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\0': out += "\\0"; break;
      default:
        if (byte >= 0x80) {
          // Valid UTF-8 is shown as it is; any other byte as \xHH, so the
          // text stays valid UTF-8 for terminals, dot and browsers.
          size_t length = Utf8SequenceLength(text.substr(i));
          if (length == 0) {
            out += fmt::format("\\x{:02X}", byte);
          } else {
            out.append(text.substr(i, length));
            i += length - 1;
          }
        } else if (byte < 0x20 || byte == 0x7F) {
          out += fmt::format("\\x{:02X}", byte);
        } else {
          out += c;
        }
    }
  }
  if (cut) out += "…";
  out += '"';
  return out;
}

namespace {

std::string ArgText(const Value& value, size_t max_string_bytes) {
  return value.type() == Type::kStr ? QuoteText(value.as_str(), max_string_bytes) : value.ToText();
}

bool Shown(const Value& value, const std::optional<Value>& default_value, CallDetail detail) {
  if (detail == CallDetail::kFirstString && value.type() != Type::kStr) return false;
  return !default_value || !(*default_value == value);
}

}  // namespace

std::string StageArgsText(const StageNode& node, CallDetail detail, size_t max_string_bytes,
                          bool positional_first) {
  std::vector<std::string> shown;
  auto add = [&](const std::string& name, const Value& value, bool positional) {
    shown.push_back((positional ? "" : name + "=") + ArgText(value, max_string_bytes));
  };
  if (node.signature != nullptr) {
    const std::vector<ParamSignature>& params = node.signature->params;
    for (size_t i = 0; i < params.size(); ++i) {
      auto arg = node.args.find(params[i].name);
      if (params[i].type == ParamType::kPipeline || arg == node.args.end()) continue;
      if (!Shown(arg->second, params[i].default_value, detail)) continue;
      // A required first parameter reads best unnamed, as it is written: read("x.log").
      add(params[i].name, arg->second, positional_first && i == 0 && !params[i].default_value);
      if (detail == CallDetail::kFirstString) break;
    }
  } else {
    for (const auto& [name, value] : node.args) {
      if (!Shown(value, std::nullopt, detail)) continue;
      add(name, value, false);
      if (detail == CallDetail::kFirstString) break;
    }
  }
  return fmt::format("{}", fmt::join(shown, ", "));
}

std::string StageCallText(const StageNode& node, CallDetail detail, size_t max_string_bytes) {
  std::string args = StageArgsText(node, detail, max_string_bytes, true);
  return args.empty() ? node.label : node.label + "(" + args + ")";
}

std::string StageOptionsText(const StageNode& node) {
  const StageOptionsSet& o = node.options;
  const StageOptionsSet defaults;
  std::vector<std::string> parts;
  if (o.ordered) parts.push_back("ordered");
  if (o.retries != defaults.retries) parts.push_back(fmt::format("retries={}", o.retries));
  if (o.timeout_ns != 0) parts.push_back("timeout=" + FormatDuration(Duration{o.timeout_ns}));
  if (o.on_error != defaults.on_error) parts.push_back(std::string("on_error=") + OnErrorName(o.on_error));
  if (o.queue_records != 0) parts.push_back(fmt::format("queue={}", o.queue_records));
  if (o.queue_bytes != 0) parts.push_back("queue=" + FormatSize(Size{o.queue_bytes}));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string InstanceRange(const StageNode& node) {
  if (node.replicas <= 1) return node.label + "#1";
  return fmt::format("{}#1..{}", node.label, node.replicas);
}

namespace {

size_t DisplayWidth(std::string_view text) {
  return std::count_if(text.begin(), text.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

}  // namespace

std::string FormatTable(const std::vector<std::vector<std::string>>& rows, std::string_view align,
                        int indent) {
  std::vector<size_t> widths(align.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c)
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  std::string out;
  for (const auto& row : rows) {
    std::string line(static_cast<size_t>(indent), ' ');
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      std::string pad(widths[c] - DisplayWidth(row[c]), ' ');
      if (c > 0) line += "  ";
      line += align[c] == 'r' ? pad + row[c] : row[c] + pad;
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

}  // namespace flow
