// The text of report()'s four table formats, apart from any file: the
// report stage (report_stage.cc) feeds records in and writes out what comes
// back. Each record is a row of tab-separated fields; an empty record is a
// row of no fields (as its NF is 0).
//
//   tsv       every record as it is, ending in '\n'.
//   csv       RFC 4180: a field is quoted when it holds a comma, a double
//             quote, CR or LF, its quotes doubled; every line ends in CRLF,
//             as RFC 4180 says and Python's csv module writes.
//   json      an array of rows, one per line. Without a header each row is
//             an array of strings. With header = true the first record
//             names the columns and every later row is an object; a field
//             missing from a short row is "", a field beyond the header's
//             is named by its column number ("4"), so nothing is lost.
//             Names are written as they are: a name the header repeats is
//             a repeated key (valid JSON; Python keeps the last value).
//             Valid UTF-8 is kept as it is; control bytes are escaped, and
//             each byte that is not part of valid UTF-8 is written \u00XX
//             (the byte read as Latin-1), so the output is always JSON.
//   markdown  a GitHub table as wide as the widest row, short rows padded
//             with empty cells; with header = true the first record is the
//             header row (a column it does not name is named by its
//             number), else the header is the column numbers "1 | 2 | ...".
//             '|' in a cell is written '\|', a line break "<br>"; other
//             Markdown (`*`, '\', '<') is left as it is. The whole
//             table is held until Finish, because its width is known only
//             then.
// An empty input gives "[]\n" in json and nothing in the other formats.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flow {

class ReportFormatter {
 public:
  virtual ~ReportFormatter() = default;
  // Appends the text for one record to `out` (maybe nothing yet).
  virtual void AddRecord(std::string_view record, std::string& out) = 0;
  // Appends what ends the document. A long ending (markdown's whole table)
  // calls `spill` after each row, so that the caller may write out what is
  // in `out` and clear it; when `spill` returns false (a write failed) the
  // formatter stops there.
  virtual void Finish(std::string& out, const std::function<bool()>& spill) = 0;
};

// Null for a format that is not one of the four.
std::unique_ptr<ReportFormatter> MakeReportFormatter(std::string_view format, bool header);

// The pieces, exposed for tests.
std::vector<std::string_view> SplitTabs(std::string_view record);  // "" gives no fields
void AppendCsvField(std::string_view field, std::string& out);
void AppendJsonString(std::string_view bytes, std::string& out);  // with its quotes
void AppendMarkdownCell(std::string_view cell, std::string& out);

}  // namespace flow
