#include "runtime/remote_log.h"

namespace flow {

std::string NatsLogSubject(std::string_view run) { return "flow." + std::string(run) + ".log"; }

std::string RemoteLogLine(std::string_view text) {
  const size_t tab = text.find('\t');
  if (tab == std::string_view::npos) return std::string(text);
  const std::string_view host = text.substr(0, tab);
  const std::string_view line = text.substr(tab + 1);
  const size_t close = line.find("] ");
  if (!line.empty() && line[0] == '[' && close != std::string_view::npos)
    return std::string(line.substr(0, close)) + "@" + std::string(host) + std::string(line.substr(close));
  return "[" + std::string(host) + "] " + std::string(line);
}

// A chatty part must not lose lines to libnats's default limits: the
// subscription has none.
RemoteLogWatch::RemoteLogWatch(NatsLink& link, const std::string& run) : lines_(link, NatsLogSubject(run)) {}

std::vector<std::string> RemoteLogWatch::Take(bool final) {
  std::vector<std::string> texts;
  if (final) lines_.Flush();
  std::string text;
  while (lines_.Next(&text)) texts.push_back(std::move(text));
  return texts;
}

}  // namespace flow
