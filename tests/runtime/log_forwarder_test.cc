#include "runtime/log_forwarder.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "runtime/process.h"
#include "tests/runtime/process_test_support.h"

namespace flow {
namespace {

std::string Lines(LogLines& lines, std::initializer_list<std::string_view> chunks, bool finish) {
  std::string out;
  for (std::string_view chunk : chunks) lines.Add(chunk, &out);
  if (finish) lines.Finish(&out);
  return out;
}

// A pipe whose read end is non-blocking, as StartChild makes them.
void LogPipe(int fds[2]) {
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  REQUIRE(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
}

TEST_SUITE("process") {
  TEST_CASE("log lines: whole lines get the worker's prefix") {
    LogLines lines("whois#3");
    CHECK(Lines(lines, {"connection refused\nretrying\n"}, false) ==
          "[whois#3] connection refused\n[whois#3] retrying\n");
    CHECK(lines.pending() == 0);
  }

  TEST_CASE("log lines: a line written in pieces comes out once, whole") {
    LogLines lines("map#0");
    std::string out;
    lines.Add("hel", &out);
    CHECK(out.empty());
    lines.Add("lo\nwor", &out);
    CHECK(out == "[map#0] hello\n");
    lines.Add("ld", &out);
    CHECK(out == "[map#0] hello\n");
    CHECK(lines.pending() == 5);
    lines.Finish(&out);
    CHECK(out == "[map#0] hello\n[map#0] world\n");
    CHECK(lines.pending() == 0);
  }

  TEST_CASE("log lines: empty lines are kept, finishing without a partial line adds nothing") {
    LogLines lines("w");
    CHECK(Lines(lines, {"\n\nx\n"}, true) == "[w] \n[w] \n[w] x\n");
  }

  TEST_CASE("log lines: a 1 MiB line is cut into 64 KiB pieces") {
    LogLines lines("big");
    std::string line(1024 * 1024, 'x');
    std::string out = Lines(lines, {line, "\n"}, true);
    std::string piece = "[big] " + std::string(kMaxLogLine, 'x') + "\n";
    std::string expected;
    for (int i = 0; i < 16; ++i) expected += piece;
    CHECK(out.size() == expected.size());
    CHECK(out == expected);
  }

  TEST_CASE("log lines: cut exactly at the limit, whatever the chunking") {
    std::string limit(kMaxLogLine, 'a');
    // A line of exactly the limit is not cut, even when its newline comes
    // in a later chunk.
    LogLines exact("w");
    CHECK(Lines(exact, {limit, "\n"}, true) == "[w] " + limit + "\n");
    // One byte more: a full piece, then the byte.
    LogLines over("w");
    CHECK(Lines(over, {limit, "b\n"}, true) == "[w] " + limit + "\n[w] b\n");
    // Byte by byte: the buffer never holds more than the limit.
    LogLines bytes("w");
    std::string out;
    std::string input = limit + "bc\nd";
    for (char c : input) {
      bytes.Add(std::string_view(&c, 1), &out);
      CHECK(bytes.pending() <= kMaxLogLine);
    }
    bytes.Finish(&out);
    CHECK(out == "[w] " + limit + "\n[w] bc\n[w] d\n");
  }

  TEST_CASE("log forwarder: lines of several pipes, the partial last line flushed at end of file") {
    int out = testing::MemoryFile();
    REQUIRE(out >= 0);
    int a[2], b[2];
    LogPipe(a);
    LogPipe(b);
    {
      LogForwarder forwarder(out);
      forwarder.Add(a[0], "a#0");
      forwarder.Add(b[0], "b#1");
      testing::WriteText(a[1], "one\ntw");
      testing::WriteText(b[1], "x");
      CHECK(forwarder.Forward(a[0]));
      CHECK(forwarder.Forward(b[0]));
      CHECK(testing::ReadWhole(out) == "[a#0] one\n");
      testing::WriteText(a[1], "o\n");
      close(a[1]);
      CHECK_FALSE(forwarder.Forward(a[0]));  // end of file: closed
      CHECK(testing::ReadWhole(out) == "[a#0] one\n[a#0] two\n");
      testing::WriteText(b[1], "y");
      forwarder.Close(b[0]);  // the worker is dead: what is left comes out
      CHECK(testing::ReadWhole(out) == "[a#0] one\n[a#0] two\n[b#1] xy\n");
      CHECK(forwarder.write_error().empty());
    }
    close(b[1]);
    close(out);
  }

  TEST_CASE("log forwarder: a broken stderr is reported once and the pipes are still read") {
    // SIGPIPE blocked and swallowed as in the supervisor.
    SignalWatch watch;
    std::string err;
    REQUIRE(watch.Open(&err));
    int out[2], in[2];
    REQUIRE(pipe(out) == 0);
    close(out[0]);
    LogPipe(in);
    LogForwarder forwarder(out[1]);
    forwarder.Add(in[0], "w");
    testing::WriteText(in[1], "lost\n");
    CHECK(forwarder.Forward(in[0]));
    CHECK(forwarder.write_error() == "cannot write the workers' log: Broken pipe");
    testing::WriteText(in[1], "also lost\n");
    CHECK(forwarder.Forward(in[0]));
    char c;
    CHECK(read(in[0], &c, 1) < 0);  // drained: nothing left for a worker to block on
    CHECK(errno == EAGAIN);
    close(in[1]);
    close(out[1]);
  }
}

}  // namespace
}  // namespace flow
