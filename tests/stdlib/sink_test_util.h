// What the tests of the sinks that write stdout (write, report) share:
// stdout pointed at a file or at a full device while a sink writes.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/stdlib/stage_test_util.h"

namespace flow::stagetest {

// Makes the sink under test, writing to "-" (stdout).
using MakeSink = std::function<std::unique_ptr<Stage>()>;

// Points stdout at `fd` while `body` runs.
template <class Body>
void WithStdout(int fd, Body body) {
  std::fflush(stdout);
  int saved = dup(STDOUT_FILENO);
  dup2(fd, STDOUT_FILENO);
  body();
  dup2(saved, STDOUT_FILENO);
  close(saved);
}

// Feeds `records` to the sink `make` makes while stdout is a fresh file;
// returns what the file then holds, the outcome in *outcome.
inline std::string FeedToStdout(const MakeSink& make, const std::vector<std::string>& records, Outcome* outcome) {
  TempDir dir;
  std::string path = dir.File("stdout.txt");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  WithStdout(fd, [&] { *outcome = Feed(*make(), records); });
  close(fd);
  return ReadFile(path);
}

// With stdout on a full device, the sink `make` makes is fed one record,
// then given another: the Fatal messages of the two, in *first and *again.
// False when there is no /dev/full here.
inline bool FailOnFullStdout(const MakeSink& make, std::string* first, std::string* again) {
  int fd = open("/dev/full", O_WRONLY);
  if (fd < 0) return false;
  WithStdout(fd, [&] {
    std::unique_ptr<Stage> stage = make();
    *first = Feed(*stage, {"a"}).fatal;
    CollectingEmitter out;
    *again = stage->OnRecord({"b", 2, 1}, out).message;
  });
  close(fd);
  return true;
}

}  // namespace flow::stagetest
