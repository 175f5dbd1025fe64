#include "runtime/run_description.h"

#include <cstdlib>

namespace flow {

std::string EncodeFields(const Fields& fields) {
  std::string text;
  for (const auto& [name, value] : fields) text += name + " " + std::to_string(value.size()) + "\n" + value + "\n";
  return text;
}

bool DecodeFields(const std::string& text, Fields* fields) {
  fields->clear();
  size_t at = 0;
  while (at < text.size()) {
    const size_t space = text.find(' ', at);
    const size_t newline = text.find('\n', at);
    if (space == std::string::npos || newline == std::string::npos || space > newline) return false;
    char* end = nullptr;
    const unsigned long long length = std::strtoull(text.c_str() + space + 1, &end, 10);
    if (end != text.c_str() + newline || length > text.size() - newline - 1) return false;
    const size_t value_at = newline + 1;
    if (value_at + length >= text.size() || text[value_at + length] != '\n') return false;
    fields->emplace_back(text.substr(at, space - at), text.substr(value_at, length));
    at = value_at + length + 1;
  }
  return true;
}

std::string RunDescription::Encode() const {
  Fields fields = {{"program", program},
                   {"path", program_path},
                   {"queue_records", std::to_string(queue_records)},
                   {"queue_bytes", std::to_string(queue_bytes)},
                   {"cpus", std::to_string(online_cpus)},
                   {"auto_extra", std::to_string(auto_extra)},
                   {"no_jit", no_jit ? "1" : "0"},
                   {"shape", shape}};
  for (const auto& [name, value] : params) fields.emplace_back("param", name + "=" + value);
  for (const auto& [name, value] : environment) fields.emplace_back("env", name + "=" + value);
  return EncodeFields(fields);
}

bool RunDescription::Decode(const std::string& text, RunDescription* d) {
  Fields fields;
  if (!DecodeFields(text, &fields)) return false;
  *d = RunDescription();
  for (const auto& [name, value] : fields) {
    if (name == "program") d->program = value;
    else if (name == "path") d->program_path = value;
    else if (name == "queue_records") d->queue_records = std::atoll(value.c_str());
    else if (name == "queue_bytes") d->queue_bytes = std::atoll(value.c_str());
    else if (name == "cpus") d->online_cpus = std::atoi(value.c_str());
    else if (name == "auto_extra") d->auto_extra = std::atoi(value.c_str());
    else if (name == "no_jit") d->no_jit = value == "1";
    else if (name == "shape") d->shape = value;
    else if (name == "param" || name == "env") {
      const size_t eq = value.find('=');
      if (eq == std::string::npos) return false;
      (name == "param" ? d->params : d->environment)[value.substr(0, eq)] = value.substr(eq + 1);
    }
  }
  return !d->program.empty();
}

}  // namespace flow
