// Values typed on the command line: `--queue 4096`, `--queue 16MiB`, `--grace 5s`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace flow {

struct QueueCapacity {
  int64_t records = 0;  // exactly one of the two is set (> 0)
  int64_t bytes = 0;
};

// "4096" (records) or "16MiB" (bytes); nullopt when neither, or not > 0.
std::optional<QueueCapacity> ParseQueueCapacity(const std::string& text);
// "250ms", "5s", "2m", "1h" in nanoseconds; nullopt when malformed.
std::optional<int64_t> ParseDurationNanos(const std::string& text);

}  // namespace flow
