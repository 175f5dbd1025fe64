// What the sinks that write a file or stdout (write, report) share: writing
// a whole buffer, and saying what went wrong in the same words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace flow {

// Writes all `size` bytes to `fd`: an interrupted write goes on, and a
// non-blocking fd (a stdout shared with a process that set O_NONBLOCK) is
// waited for. Adds what went out to `*written`. False with errno set.
bool WriteFully(int fd, const char* data, size_t size, uint64_t* written);

// The error for a failed write, close or sync of `fd`, the sink's output
// for `target`: "stdout closed" (EPIPE on stdout: the runner then ends
// quietly, as `cmd | head` does), "cannot write to stdout: ...", or
// "cannot write 'out.txt': No space left on device".
std::string SinkError(int fd, const std::string& target, int error);

}  // namespace flow
