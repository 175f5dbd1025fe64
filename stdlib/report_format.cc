// The four table formats of report(); the rules are in report_format.h.
#include "stdlib/report_format.h"

#include <algorithm>

namespace flow {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// The length of the well-formed UTF-8 sequence that starts `s` (Unicode's
// table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or
// 0 when none does. Python's strict UTF-8 decoder accepts exactly these.
size_t Utf8SequenceLength(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) high = 0x9F;  // the surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  return length;
}

void AppendUnicodeEscape(unsigned char byte, std::string& out) {
  const char escape[] = {'\\', 'u', '0', '0', kHexDigits[byte >> 4], kHexDigits[byte & 15]};
  out.append(escape, sizeof escape);
}

class TsvFormatter : public ReportFormatter {
 public:
  void AddRecord(std::string_view record, std::string& out) override {
    out.append(record);
    out.push_back('\n');
  }
  void Finish(std::string&, const std::function<bool()>&) override {}
};

class CsvFormatter : public ReportFormatter {
 public:
  void AddRecord(std::string_view record, std::string& out) override {
    bool first = true;
    for (std::string_view field : SplitTabs(record)) {
      if (!first) out.push_back(',');
      first = false;
      AppendCsvField(field, out);
    }
    out.append("\r\n");
  }
  void Finish(std::string&, const std::function<bool()>&) override {}
};

class JsonFormatter : public ReportFormatter {
 public:
  explicit JsonFormatter(bool header) : header_(header) {}

  void AddRecord(std::string_view record, std::string& out) override {
    std::vector<std::string_view> fields = SplitTabs(record);
    if (header_ && !have_names_) {
      names_.assign(fields.begin(), fields.end());
      have_names_ = true;
      return;
    }
    out.append(rows_++ == 0 ? "[\n  " : ",\n  ");
    if (!header_) {
      out.push_back('[');
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out.append(", ");
        AppendJsonString(fields[i], out);
      }
      out.push_back(']');
      return;
    }
    out.push_back('{');
    size_t width = std::max(names_.size(), fields.size());
    for (size_t i = 0; i < width; ++i) {
      if (i > 0) out.append(", ");
      if (i < names_.size())
        AppendJsonString(names_[i], out);
      else
        AppendJsonString(std::to_string(i + 1), out);
      out.append(": ");
      AppendJsonString(i < fields.size() ? fields[i] : std::string_view(), out);
    }
    out.push_back('}');
  }

  void Finish(std::string& out, const std::function<bool()>&) override { out.append(rows_ == 0 ? "[]\n" : "\n]\n"); }

 private:
  bool header_;
  bool have_names_ = false;
  std::vector<std::string> names_;  // the header's fields
  int64_t rows_ = 0;                // rows written, the header not counted
};

class MarkdownFormatter : public ReportFormatter {
 public:
  explicit MarkdownFormatter(bool header) : header_(header) {}

  void AddRecord(std::string_view record, std::string&) override {
    width_ = std::max(width_, SplitTabs(record).size());
    records_.emplace_back(record);
  }

  void Finish(std::string& out, const std::function<bool()>& spill) override {
    if (records_.empty()) return;
    // A table needs a column, even when every record is empty.
    size_t width = std::max<size_t>(width_, 1);
    size_t body = 0;
    if (header_) {
      AppendRow(SplitTabs(records_[0]), width, true, out);
      body = 1;
    } else {
      AppendRow({}, width, true, out);
    }
    out.push_back('|');
    for (size_t i = 0; i < width; ++i) out.append(" --- |");
    out.push_back('\n');
    for (size_t i = body; i < records_.size(); ++i) {
      AppendRow(SplitTabs(records_[i]), width, false, out);
      if (!spill()) return;
    }
  }

 private:
  // One table row of `width` cells; a cell past `cells` is its column
  // number in the header row and empty in the body.
  static void AppendRow(const std::vector<std::string_view>& cells, size_t width, bool is_header, std::string& out) {
    out.push_back('|');
    for (size_t i = 0; i < width; ++i) {
      out.push_back(' ');
      if (i < cells.size())
        AppendMarkdownCell(cells[i], out);
      else if (is_header)
        out.append(std::to_string(i + 1));
      out.append(" |");
    }
    out.push_back('\n');
  }

  bool header_;
  size_t width_ = 0;                  // the widest record's field count
  std::vector<std::string> records_;  // held until the width is known
};

}  // namespace

std::vector<std::string_view> SplitTabs(std::string_view record) {
  std::vector<std::string_view> fields;
  if (record.empty()) return fields;
  for (size_t start = 0;;) {
    size_t tab = record.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(record.substr(start));
      return fields;
    }
    fields.push_back(record.substr(start, tab - start));
    start = tab + 1;
  }
}

void AppendCsvField(std::string_view field, std::string& out) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void AppendJsonString(std::string_view bytes, std::string& out) {
  out.push_back('"');
  size_t i = 0;
  while (i < bytes.size()) {
    // Plain printable ASCII goes over in runs.
    size_t run = i;
    while (run < bytes.size()) {
      unsigned char c = static_cast<unsigned char>(bytes[run]);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
      ++run;
    }
    out.append(bytes.substr(i, run - i));
    i = run;
    if (i == bytes.size()) break;
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          AppendUnicodeEscape(c, out);
        } else if (size_t length = Utf8SequenceLength(bytes.substr(i)); length > 0) {
          out.append(bytes.substr(i, length));
          i += length;
          continue;
        } else {
          AppendUnicodeEscape(c, out);  // not UTF-8: the byte read as Latin-1
        }
    }
    ++i;
  }
  out.push_back('"');
}

void AppendMarkdownCell(std::string_view cell, std::string& out) {
  for (size_t i = 0; i < cell.size(); ++i) {
    char c = cell[i];
    if (c == '|') {
      out.append("\\|");
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < cell.size() && cell[i + 1] == '\n') ++i;
      out.append("<br>");
    } else {
      out.push_back(c);
    }
  }
}

std::unique_ptr<ReportFormatter> MakeReportFormatter(std::string_view format, bool header) {
  if (format == "tsv") return std::make_unique<TsvFormatter>();
  if (format == "csv") return std::make_unique<CsvFormatter>();
  if (format == "json") return std::make_unique<JsonFormatter>(header);
  if (format == "markdown") return std::make_unique<MarkdownFormatter>(header);
  return nullptr;
}

}  // namespace flow
