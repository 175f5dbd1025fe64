#include "runtime/worker_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/broker_board.h"
#include "runtime/hand_back_book.h"
#include "runtime/nats_run.h"
#include "runtime/process.h"
#include "runtime/quiet_thread.h"
#include "runtime/remote_log.h"
#include "runtime/run_description.h"
#include "runtime/run_stats.h"
#include "runtime/trace.h"

namespace flow {
namespace {

void Say(int fd, const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  std::string host = name;
  for (char& c : host) {
    if (c == ' ' || c == '\n') c = '_';
  }
  return host;
}

// How long the daemon's loop waits for a job before it forwards its parts'
// logs and beats again. A part's end is seen at once, on a thread of its
// own (AwaitPartEnd), not by this loop: polling for it every 2 ms cost a
// millisecond on average at every run's end, and 500 wakeups a second.
constexpr int64_t kLoopWaitMs = 50;
// How long after a part starts the next run's part is started ahead
// (exec and loading the binary: about 4 ms of CPU). Not as the part
// starts (it would take the CPU from its instances' start), nor as it ends
// (from the end of its run, whose origin is still removing the run: on 2
// cores that took the CPU from it), when the next run may follow at once:
// in between, where a run of slow stages leaves the CPU idle. A part that
// ends sooner starts the spare as it ends.
constexpr int64_t kSpareAfterStartMs = 100;
// A part whose origin has not beaten (kBrokerHeartbeatMs) for this long
// ends, and says "gone": its origin crashed (SIGKILL, its machine lost),
// and its instances would otherwise wait for ever for inputs that no one
// ends, holding this worker's slots. Longer than a broker wait (10 s): an
// origin cut off from the broker only for a while beats again within it,
// or has failed the run by then (its own instances give up after it).
constexpr int64_t kOriginSilentMs = 15'000;
// How often the daemon looks at the heartbeat of each of its parts' runs.
constexpr int64_t kOriginLookMs = 1'000;
// How long a stopping worker gives its parts' instances to note what they
// hold before it looks whether they hold anything (HandBackBook::AskToLeave).
constexpr int64_t kLeaveNoteMs = 30;
// How often it looks then, until they hold nothing or the grace is over.
constexpr long kDrainLookMs = 5;

int64_t Millis() { return static_cast<int64_t>(MonotonicNanos() / 1'000'000); }

// One run's part on this worker.
struct Part {
  std::string run;
  pid_t pid = -1;
  int stderr_fd = -1;
  std::string partial;     // a log line read in part
  std::string first_error;  // the first line that says "error:": the cause, not its consequences
  std::unique_ptr<BrokerBoard> board;  // the run's bucket
  bool fenced = false;  // killed because the broker was out of reach
  bool stopped = false;  // killed because its run ended without going through (JobStop)
  bool orphaned = false;  // killed because its origin was silent for kOriginSilentMs
  // The origin's heartbeat (kNatsRunAliveKey) as last seen: when it was
  // put, on the broker's clock, and when that changed, on ours (the
  // machines' clocks need not agree).
  int64_t beat_created_ns = -1;
  int64_t beat_changed_ms = 0;
  std::string counters_path;  // where the part writes what its instances counted
  // The memfd where its instances note what they hold (HandBackBook), read
  // once the part is gone; -1 if it has none.
  int hand_back_fd = -1;
  std::thread waiter;  // AwaitPartEnd
  bool ended = false;  // reaped, and its end said: the loop drops it
};

std::string ReadFileText(const std::string& path) {
  std::string text;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  close(fd);
  return text;
}

class Daemon {
 public:
  explicit Daemon(const WorkerDaemonOptions& options) : options_(options) {}
  int Run();

 private:
  // A `flowrun worker-part` started ahead of the next run, waiting for its
  // handover on stdin: a run's part then starts without the cost of exec
  // and of loading the binary (tens of ms on a busy machine, on every
  // run's critical path). One at a time; a run that finds none starts one.
  struct Spare {
    pid_t pid = -1;
    int stdin_fd = -1;   // the handover goes here
    int stderr_fd = -1;  // its log, once it is a part
    int hand_back_fd = -1;  // its descriptor 3: Part::hand_back_fd
  };
  // Closes what a spare that never became a part holds.
  static void ForgetSpare(Spare* spare);
  // A part that is gone while its run goes on (this worker stops, or the
  // part was killed): what its instances held goes back to the broker at
  // once, for the run's other instances, instead of after its ack wait.
  // What the part's key then says: "gone" if it could not (the origin's
  // [ordered] replicas that take its instances over wait an ack wait for
  // them), else kPartLeftWord.
  std::string HandBackWhatItHeld(const Part& part);
  bool SpawnPart(Spare* spare, std::string* error);
  // The spare if it is alive (then no longer the spare), else a new one.
  bool TakeSpare(Spare* part, std::string* error);
  void DropSpare();

  // A job key put for `run`: an offer (JobOffer) starts its part; a stop
  // (JobStop) ends it.
  void OnJobKey(const std::string& run, const std::string& value);
  // `offer`: the job key's value (JobOffer), with the run's description
  // and placement.
  bool StartPart(const std::string& run, const std::string& offer);
  // Ends the part of `run` at once, as the origin ended its own instances;
  // nothing when there is none (a stop left by a run whose part is over).
  void StopPart(const std::string& run);
  void ForwardLog(Part& part, bool to_end);
  // On the part's own thread: waits for its end, then reaps it and says
  // how it went (EndPart), or, when the daemon is stopping, hands back
  // what its instances still held and says "left" (or "gone").
  void AwaitPartEnd(Part& part);
  // On SIGINT or SIGTERM: the parts' instances finish what they hold (up to
  // the grace, or another signal), taking nothing more.
  void Drain(const sigset_t& mask);
  void EndPart(Part& part, int status);
  void Beat();

  const WorkerDaemonOptions& options_;
  std::unique_ptr<NatsLink> link_;
  std::unique_ptr<BrokerBoard> workers_;
  std::string id_;
  std::string host_;
  std::vector<std::unique_ptr<Part>> parts_;  // the loop's alone; each Part also its waiter's
  // Over what a part and its waiter share (its log, its board, ended,
  // fenced, stopped, orphaned) and stopping_: a part is reaped with it
  // held, so that a kill made with it held never hits a reused pid.
  std::mutex mu_;
  bool stopping_ = false;
  bool draining_ = false;  // SIGINT or SIGTERM came: Drain, then stop
  Spare spare_;
  int64_t worker_beat_ms_ = 0;
  int64_t part_beat_ms_ = 0;
  int64_t origin_look_ms_ = 0;  // the last look at the parts' origins' heartbeats
  int64_t beat_ok_ms_ = 0;  // the last time the broker took a beat
  int64_t spare_due_ms_ = -1;  // when to start the next spare; -1: none due
};

bool Daemon::SpawnPart(Spare* spare, std::string* error) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    *error = std::string("cannot make a pipe: ") + strerror(errno);
    return false;
  }
  // Made here, not in the part: it must outlive the part, for this process
  // to read. Without it (no memfd), the part makes its own book.
  const int book = memfd_create("flowrun-hand-back", MFD_CLOEXEC);
  Child child;
  static_assert(kPartHandBackFd == 3, "SpawnProgram's fd3 is the child's descriptor 3");
  const bool started = SpawnProgram({options_.program, "worker-part"}, in[0], &child, error, book);
  close(in[0]);
  if (!started) {
    close(in[1]);
    if (book >= 0) close(book);
    return false;
  }
  spare->pid = child.pid;
  spare->stdin_fd = in[1];
  spare->stderr_fd = child.stderr_fd;
  spare->hand_back_fd = book;
  return true;
}

void Daemon::ForgetSpare(Spare* spare) {
  close(spare->stdin_fd);
  close(spare->stderr_fd);
  if (spare->hand_back_fd >= 0) close(spare->hand_back_fd);
  *spare = Spare();
}

bool Daemon::TakeSpare(Spare* part, std::string* error) {
  if (spare_.pid > 0) {
    int status = 0;
    if (waitpid(spare_.pid, &status, WNOHANG) == 0) {
      *part = spare_;
      spare_ = Spare();
      return true;
    }
    // It died waiting (killed by hand, or out of memory): a new one.
    ForgetSpare(&spare_);
  }
  return SpawnPart(part, error);
}

void Daemon::DropSpare() {
  if (spare_.pid <= 0) return;
  // Its stdin closed empty: it says "not a run's part" and ends; killed
  // rather than waited for.
  kill(spare_.pid, SIGKILL);
  waitpid(spare_.pid, nullptr, 0);
  ForgetSpare(&spare_);
}

void Daemon::OnJobKey(const std::string& run, const std::string& value) {
  if (IsJobStop(value)) {
    StopPart(run);
  } else {
    StartPart(run, value);
  }
}

void Daemon::StopPart(const std::string& run) {
  // With mu_ held: a part is reaped with it held, so the pid is still ours.
  std::lock_guard lock(mu_);
  for (const auto& p : parts_) {
    if (p->run != run || p->ended) continue;
    TraceEvent("daemon part stopped");
    p->stopped = true;
    // Its instances die with it (PR_SET_PDEATHSIG), and the commands they
    // started with its group's leader (StartGroupLeader): as the origin's
    // pool ends its own once the grace is over, with SIGKILL.
    kill(p->pid, SIGKILL);
  }
}

bool Daemon::StartPart(const std::string& run, const std::string& offer) {
  for (const auto& p : parts_) {
    if (p->run == run) return true;  // the watch said it twice
  }
  TraceEvent("daemon job " + run);
  std::string error;
  auto part = std::make_unique<Part>();
  part->run = run;
  // The offer carries what the part needs: it starts without a request to
  // the broker, and the run's bucket is opened while it does.
  std::string job, place;
  bool made = false;
  if (!ReadJobOffer(offer, nullptr, &job, &place, &made)) {
    Say(options_.log_fd, "flowrun worker: run " + run + ": its job key is not an offer this flowrun reads; skipped");
    workers_->Delete("job." + id_ + "." + run, &error);
    return false;
  }
  const char* tmpdir = std::getenv("TMPDIR");
  part->counters_path = std::string(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp") + "/.flowrun-part-" + id_ +
                        "-" + run + ".counters";
  unlink(part->counters_path.c_str());
  Spare process;
  if (!TakeSpare(&process, &error)) {
    Say(options_.log_fd, "flowrun worker: run " + run + ": " + error);
    part->board = BrokerBoard::Open(*link_, NatsBucketName(run), false, 0, &error);
    if (part->board) part->board->Put("part." + id_, "failed: " + error, &error);
    return false;
  }
  const BrokerAccess& b = options_.broker;
  const std::string handover = EncodeFields({{"url", b.url},
                                             {"creds", b.creds_file},
                                             {"nkey", b.nkey_file},
                                             {"tls_ca", b.tls_ca_file},
                                             {"tls_cert", b.tls_cert_file},
                                             {"tls_key", b.tls_key_file},
                                             {"run", run},
                                             {"worker", id_},
                                             {"job", job},
                                             {"place", place},
                                             {"made", made ? "1" : ""},
                                             // SpawnPart put it there
                                             {"hand_back", process.hand_back_fd >= 0 ? "1" : ""},
                                             {"counters", part->counters_path}});
  // The part reads all of it before anything else: no deadlock on a pipe
  // smaller than the program.
  WriteAll(process.stdin_fd, handover);
  close(process.stdin_fd);
  part->pid = process.pid;
  part->stderr_fd = process.stderr_fd;
  part->hand_back_fd = process.hand_back_fd;
  part->beat_changed_ms = Millis();
  part->board = BrokerBoard::Open(*link_, NatsBucketName(run), false, 0, &error);
  if (!part->board) {
    // The run went meanwhile (its origin crashed): so does the part.
    kill(part->pid, SIGKILL);
    waitpid(part->pid, nullptr, 0);
    close(part->stderr_fd);
    if (part->hand_back_fd >= 0) close(part->hand_back_fd);
    Say(options_.log_fd, "flowrun worker: run " + run + " is gone from the broker; skipped");
    workers_->Delete("job." + id_ + "." + run, &error);
    return false;
  }
  part->board->Put("part." + id_, "up", &error);
  TraceEvent("daemon part spawned");
  Say(options_.log_fd, "flowrun worker: joined run " + run);
  Part* started = part.get();
  parts_.push_back(std::move(part));
  started->waiter = QuietThread([this, started] { AwaitPartEnd(*started); });
  if (spare_.pid <= 0) spare_due_ms_ = Millis() + kSpareAfterStartMs;
  return true;
}

void Daemon::ForwardLog(Part& part, bool to_end) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(part.stderr_fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      part.partial.append(buffer, static_cast<size_t>(n));
      size_t newline;
      while ((newline = part.partial.find('\n')) != std::string::npos) {
        const std::string line = part.partial.substr(0, newline);
        part.partial.erase(0, newline + 1);
        if (part.first_error.empty() && line.find("error: ") != std::string::npos) part.first_error = line;
        Say(options_.log_fd, "[run " + part.run + "] " + line);
        // And to the origin (runtime/remote_log.h); buffered, never waited for.
        natsConnection_PublishString(link_->connection(), NatsLogSubject(part.run).c_str(),
                                     (host_ + "\t" + line).c_str());
      }
      continue;
    }
    if (n == 0 || !to_end) break;  // end of file, or nothing more for now
    if (errno == EAGAIN) {
      pollfd p = {part.stderr_fd, POLLIN, 0};
      poll(&p, 1, 1000);  // the part has ended; its children may still hold the pipe
      if ((p.revents & (POLLIN | POLLHUP)) == 0) break;
      continue;
    }
    break;
  }
}

void Daemon::AwaitPartEnd(Part& part) {
  // Waited for without reaping it: until it is reaped (below, with mu_
  // held), its pid is not reused.
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(part.pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mu_);
  int status = 0;
  waitpid(part.pid, &status, 0);
  if (stopping_) {
    // Our instances run again on their origins once they see us gone; the
    // sooner we say so, the sooner.
    std::string error;
    ForwardLog(part, false);
    close(part.stderr_fd);
    unlink(part.counters_path.c_str());
    part.board->Put("part." + id_, HandBackWhatItHeld(part), &error);
  } else {
    EndPart(part, status);
  }
  if (part.hand_back_fd >= 0) close(part.hand_back_fd);
  part.ended = true;
}

std::string Daemon::HandBackWhatItHeld(const Part& part) {
  if (part.hand_back_fd < 0 || !link_->connected()) return "gone";
  std::string error;
  std::unique_ptr<HandBackBook> book = HandBackBook::Read(part.hand_back_fd, &error);
  if (!book) return error.empty() ? kPartLeftWord : "gone";  // never sized: it ran nothing
  const size_t handed = HandBack(*link_, book->TakeAll());
  TraceEvent("daemon part handed back " + std::to_string(handed));
  if (handed > 0) {
    Say(options_.log_fd, "flowrun worker: run " + part.run + ": handed back the " + std::to_string(handed) +
                             " batch" + (handed == 1 ? "" : "es") + " its instances held, for the run's others");
  }
  return kPartLeftWord;
}

void Daemon::EndPart(Part& part, int status) {
  TraceEvent("daemon part ended");
  ForwardLog(part, true);
  close(part.stderr_fd);
  std::string error;
  ExitStatus exit;
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  else exit.code = WEXITSTATUS(status);
  std::string value = "done";
  if (part.stopped) {
    // Its run is over; what it counted until then still goes to the origin.
    value = "stopped";
  } else if (exit.signal == 0 && exit.code == kPartCannotJoin) {
    // Its reason is in our log; the origin runs the instances.
    value = "gone";
  } else if (part.fenced || part.orphaned || exit.signal != 0) {
    // We killed it, or something did (the OOM killer): not the program's
    // failure, so the origin runs its instances itself. Killed by a
    // signal while its run goes on, its batches go back before it says so.
    // (Fenced, the broker is out of reach; orphaned, nobody is left to
    // take them.)
    value = part.fenced || part.orphaned ? "gone" : HandBackWhatItHeld(part);
  } else if (!exit.Succeeded()) {
    value = "failed: " + (part.first_error.empty() ? "the part " + DescribeExit(exit) : part.first_error);
  }
  // With what its instances counted, a line each: the origin's keeper
  // hears it as it is put, the run's end waits for it.
  const std::string counters = ReadFileText(part.counters_path);
  unlink(part.counters_path.c_str());
  part.board->Put("part." + id_, value + "\n" + counters, &error);
  TraceEvent("daemon part said " + value.substr(0, value.find(':')));
  workers_->Delete("job." + id_ + "." + part.run, &error);
  std::string said = exit.Succeeded() ? "done" : value;
  if (value == kPartLeftWord) said = "gone: the part " + DescribeExit(exit);
  if (part.stopped) said = "stopped, as its origin ended it";
  if (part.orphaned) {
    said = "stopped: its origin has not been heard from for " + std::to_string(kOriginSilentMs / 1000) +
           " s (it crashed, or lost the broker)";
  }
  Say(options_.log_fd, "flowrun worker: run " + part.run + ": " + said);
}

void Daemon::Beat() {
  const int64_t now = Millis();
  std::string error;
  bool ok = true;
  if (!draining_ && now - worker_beat_ms_ >= kWorkerBeatMs) {
    ok = workers_->Put("w." + id_, "slots=" + std::to_string(options_.slots) + " host=" + host_, &error);
    worker_beat_ms_ = now;
  }
  std::lock_guard lock(mu_);
  if (now - part_beat_ms_ >= kPartBeatMs) {
    // With what its instances counted so far (the part writes them every
    // kPartBeatMs), for the origin's --progress. Not after its end: "up"
    // would hide its "done".
    for (const auto& p : parts_) {
      if (!p->ended) ok = p->board->Put("part." + id_, "up\n" + ReadFileText(p->counters_path), &error) && ok;
    }
    part_beat_ms_ = now;
  }
  if (now - origin_look_ms_ >= kOriginLookMs) {
    for (const auto& p : parts_) {
      if (p->ended || p->orphaned) continue;
      std::string value;
      int64_t created = -1;
      // Not found (the run removed) or not answered counts as not heard.
      if (p->board->Get(kNatsRunAliveKey, &value, &created) && created != p->beat_created_ns) {
        p->beat_created_ns = created;
        p->beat_changed_ms = now;
      } else if (now - p->beat_changed_ms > kOriginSilentMs) {
        TraceEvent("daemon part orphaned");
        kill(p->pid, SIGKILL);  // its instances with it, as for JobStop
        p->orphaned = true;
      }
    }
    origin_look_ms_ = now;
  }
  if (ok) {
    beat_ok_ms_ = now;
    return;
  }
  // Cut off from the broker: the origin takes our instances back once our
  // beats stop, so ours must stop too, before it does.
  if (now - beat_ok_ms_ > kPartStaleNs / 1'000'000 / 2) {
    for (const auto& p : parts_) {
      if (p->ended) continue;
      kill(p->pid, SIGKILL);
      p->fenced = true;
    }
  }
}

void Daemon::Drain(const sigset_t& mask) {
  // Each part's instances note what an ask ahead brought them, and ask for
  // nothing more (HandBackBook::AskToLeave): so nothing reaches them that a
  // kill would leave unnoted, and they finish what they hold.
  std::vector<std::unique_ptr<HandBackBook>> books;
  {
    std::lock_guard lock(mu_);
    for (const auto& p : parts_) {
      if (p->ended || p->hand_back_fd < 0) continue;
      std::string unread;  // (a book that cannot be mapped: its batches wait their ack wait)
      if (std::unique_ptr<HandBackBook> book = HandBackBook::Read(p->hand_back_fd, &unread)) {
        book->AskToLeave();
        books.push_back(std::move(book));
      }
    }
  }
  if (books.empty()) return;
  // Waking, taking the taker's lock and reading the inbox: well under a
  // millisecond each, on a busy machine a few; until then a book may look
  // empty while an instance holds an answer it has not read.
  std::this_thread::sleep_for(std::chrono::milliseconds(kLeaveNoteMs));
  const int64_t grace_ms = options_.grace.count();
  const int64_t until = Millis() + grace_ms;
  bool said = false;
  while (std::any_of(books.begin(), books.end(), [](const auto& b) { return b->Holds(); })) {
    if (Millis() >= until) return;  // what is left is handed back
    if (!said) {
      const int64_t g = grace_ms;
      const std::string grace = g % 1000 == 0 ? std::to_string(g / 1000) + " s" : std::to_string(g) + " ms";
      Say(options_.log_fd, "flowrun worker: stopping once the records in flight are done (at most " + grace +
                               "; again to stop now)");
      said = true;
    }
    Beat();  // the parts' beats: the origins must not take them for lost meanwhile
    timespec wait = {0, kDrainLookMs * 1'000'000};
    const int sig = sigtimedwait(&mask, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) return;
  }
}

int Daemon::Run() {
  // Before any libnats call: its threads inherit this mask, so SIGINT and
  // SIGTERM wait for sigtimedwait below instead of killing a thread; not
  // those our caller ignores (`flowrun worker &` in a script).
  sigset_t mask = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);

  id_ = NewRunId().substr(0, 12);
  host_ = HostName();
  NatsLinkOptions link_options;
  link_options.broker = options_.broker;
  link_options.name = "flowrun worker " + id_ + " on " + host_;
  // A beat that cannot get through must fail fast: the parts are killed
  // (fenced) within kPartStaleNs / 2 of the last beat taken, before the
  // origin, at kPartStaleNs, starts their instances again.
  link_options.api_wait_ms = 400;
  std::string error;
  link_ = NatsLink::Connect(link_options, &error);
  // Job keys that an origin which crashed left behind go after an hour.
  if (link_) workers_ = BrokerBoard::Open(*link_, kWorkersBucket, true, 3600LL * 1'000'000'000, &error);
  if (!workers_ || !workers_->Watch("job." + id_ + ".*", &error)) {
    Say(options_.log_fd, "flowrun: error: " + error);
    return 1;
  }
  Beat();
  if (!SpawnPart(&spare_, &error)) Say(options_.log_fd, "flowrun worker: no part started ahead: " + error);
  Say(options_.log_fd, "flowrun worker: " + id_ + " on " + host_ + ", " + std::to_string(options_.slots) +
                           " slots, at " + link_->url());
  int exit_code = 0;
  for (;;) {
    std::string key, value;
    int64_t wait_ms = kLoopWaitMs;
    // (libnats waits 1 ms at least.)
    if (spare_due_ms_ >= 0) wait_ms = std::max<int64_t>(1, std::min(wait_ms, spare_due_ms_ - Millis()));
    if (workers_->Next(wait_ms, &key, &value)) {
      const std::string prefix = "job." + id_ + ".";
      if (key.compare(0, prefix.size(), prefix) == 0) OnJobKey(key.substr(prefix.size()), value);
    }
    std::vector<std::unique_ptr<Part>> over;
    {
      std::lock_guard lock(mu_);
      for (auto& p : parts_) {
        if (!p->ended) ForwardLog(*p, false);
      }
      for (size_t i = 0; i < parts_.size();) {
        if (parts_[i]->ended) {
          over.push_back(std::move(parts_[i]));
          parts_.erase(parts_.begin() + static_cast<long>(i));
          // The next run's, if it was not started during this one (see
          // kSpareAfterStartMs).
          if (spare_.pid <= 0) spare_due_ms_ = Millis();
        } else {
          ++i;
        }
      }
    }
    for (auto& p : over) p->waiter.join();
    if (spare_due_ms_ >= 0 && Millis() >= spare_due_ms_) {
      spare_due_ms_ = -1;
      if (spare_.pid <= 0 && !SpawnPart(&spare_, &error))
        Say(options_.log_fd, "flowrun worker: no part started ahead: " + error);
    }
    Beat();
    timespec zero = {0, 0};
    const int sig = sigtimedwait(&mask, nullptr, &zero);
    if (sig == SIGINT || sig == SIGTERM) {
      exit_code = 128 + sig;
      break;
    }
  }
  DropSpare();
  // No run places instances here any more; the parts' beats go on while
  // they finish what they hold.
  draining_ = true;
  workers_->Delete("w." + id_, &error);
  Drain(mask);
  {
    // Each waiter reaps its part, hands back what its instances still held
    // and says "left" (AwaitPartEnd).
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (const auto& p : parts_) {
      if (!p->ended) kill(p->pid, SIGKILL);
    }
  }
  for (const auto& p : parts_) p->waiter.join();
  Say(options_.log_fd, "flowrun worker: stopped");
  return exit_code;
}

}  // namespace

int RunWorkerDaemon(const WorkerDaemonOptions& options) {
  Daemon daemon(options);
  return daemon.Run();
}

}  // namespace flow
