#include "runtime/worker.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "runtime/lease_finisher.h"
#include "runtime/lease_pace.h"
#include "runtime/trace.h"
#include "runtime/worker_input.h"
#include "runtime/worker_output.h"

namespace flow {
namespace {

constexpr size_t kReportedRecordBytes = 200;
// Leases an [ordered] replica may hand to its finisher when it takes one
// more (RunConsumer), and how often it looks whether it should.
constexpr size_t kMostInHand = 8;
constexpr int64_t kStuckLookMs = 100;

void WriteAll(int fd, const std::string& text) {
  const char* data = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nobody to tell: the exit code still says it
    data += n;
    left -= static_cast<size_t>(n);
  }
}

// A message on one line: control bytes (tab, newline, ...) escaped, the
// rest (UTF-8 included) as it is.
std::string OneLine(std::string_view text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

// True when stdout is a pipe or socket whose reader has gone (`| head -1`).
bool StdoutClosed() {
  pollfd p = {STDOUT_FILENO, POLLOUT, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

// Everything that can go wrong in the loop, reported in one line each.
class Failures {
 public:
  explicit Failures(const WorkerSetup& setup) : setup_(setup) {}

  // The stage cannot go on: "etl.flow:9:5: error: 'map#2': message".
  int Fatal(const std::string& message) {
    WriteAll(setup_.error_fd, setup_.location + ": error: '" + setup_.name + "': " + OneLine(message) + "\n");
    return 1;
  }

  // A record failed: applies [on_error]. False when the worker must exit 1.
  bool OnRecordError(const std::string& message, const RecordView& record) {
    InstanceCounters& c = *setup_.counters;
    switch (setup_.on_error) {
      case OnError::kSkip:
        InstanceCounters::Add(c.skipped, 1);
        return true;
      case OnError::kDeadLetter:
        return DeadLetter(message, record);
      case OnError::kFail:
        break;
    }
    WriteAll(setup_.error_fd, setup_.location + ": error: '" + setup_.name + "' failed on record " +
                                  std::to_string(record.nr) + ": " + OneLine(message) + "; the record: \"" +
                                  EscapeRecord(record.bytes, kReportedRecordBytes) + "\"\n");
    return false;
  }

 private:
  // "reason\trecord\n", both escaped so that the line has exactly one tab
  // and one newline, in one write() on an O_APPEND descriptor: lines from
  // several workers never mix.
  bool DeadLetter(const std::string& message, const RecordView& record) {
    std::string line = OneLine(message) + "\t" +
                       EscapeRecord(record.bytes, std::string::npos) + "\n";
    ssize_t n;
    do {
      n = write(setup_.dead_letter_fd, line.data(), line.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(line.size())) {
      std::string why = n < 0 ? strerror(errno) : "short write";
      Fatal("cannot append to the dead-letter file: " + why);
      return false;
    }
    InstanceCounters::Add(setup_.counters->dead_letters, 1);
    return true;
  }

  const WorkerSetup& setup_;
};

// A sink writing to stdout that failed because stdout is gone ends like a
// shell pipeline's writer: quietly, and takes its upstream down with it.
bool QuietStdoutEnd(const WorkerSetup& setup, WorkerInput* input) {
  if (!setup.writes_stdout || !StdoutClosed()) return false;
  if (input != nullptr) input->CancelAll();
  return true;
}

// A source started again after its worker died: what the dead one
// published (the output queues' books say) is not sent again. The stage
// skips ahead if it can; else it produces from the start and the outputs
// drop what is below their floors. False when every output had ended.
bool ResumeSource(Stage& stage, const WorkerSetup& setup, WorkerOutput& out) {
  std::vector<uint64_t> floors(setup.outputs.size(), 0);
  bool published = false, all_ended = !setup.outputs.empty();
  ProducerProgress least;
  for (size_t k = 0; k < setup.outputs.size(); ++k) {
    const ProducerProgress p = setup.outputs[k]->PublishedBy(setup.instance);
    all_ended = all_ended && p.ended;
    if (p.records == 0) continue;
    floors[k] = static_cast<uint64_t>(p.last_seq) + 1;
    if (!published || p.last_seq < least.last_seq) least = p;
    published = true;
  }
  if (all_ended) return false;
  if (!published) return true;
  out.SetFloors(floors.data(), floors.size());
  // Only when every output has the same books can the stage skip them all.
  bool same = true;
  for (uint64_t floor : floors) same = same && floor == floors[0];
  if (same) stage.Resume(static_cast<uint64_t>(least.last_seq), least.last_nr);
  return true;
}

// Kills the worker (SIGALRM, whose default action ends the process) if the
// stage spends longer than `timeout_ns` on one record: the supervisor then
// replaces it and counts the death against the record. A timer and not a
// watchdog thread: nothing runs while the stage works, and a stage stuck
// in a system call is stopped as surely as one stuck in a loop. The kill
// comes a tenth (and 50ms) after the timeout, so that a stage that keeps
// the same timeout itself (whois) reports a record error first.
class RecordTimer {
 public:
  explicit RecordTimer(int64_t timeout_ns) : timeout_ns_(timeout_ns) {}
  void Arm() const {
    if (timeout_ns_ > 0) Set(timeout_ns_ + timeout_ns_ / 10 + 50'000'000);
  }
  void Disarm() const {
    if (timeout_ns_ > 0) Set(0);
  }

 private:
  void Set(int64_t ns) const {
    itimerval t{};
    t.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    t.it_value.tv_usec = static_cast<suseconds_t>(ns % 1000000000 / 1000);
    if (ns > 0 && t.it_value.tv_sec == 0 && t.it_value.tv_usec == 0) t.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &t, nullptr);
  }
  int64_t timeout_ns_;
};

int RunSource(Stage& stage, const WorkerSetup& setup, WorkerOutput& out, Failures& failures) {
  const uint64_t start = MonotonicNanos();
  if (!ResumeSource(stage, setup, out)) return 0;
  StageStatus status = stage.Produce(out);
  if (status.ok() && out.error().empty()) status = stage.Finish(out);
  if (!status.ok()) return failures.Fatal(status.message);
  if (!out.error().empty()) return failures.Fatal(out.error());
  out.Flush();
  out.EndOfStream();
  if (!out.error().empty()) return failures.Fatal(out.error());
  const uint64_t elapsed = MonotonicNanos() - start;
  InstanceCounters::Add(setup.counters->busy_ns, elapsed - std::min(elapsed, out.push_ns()));
  return 0;
}

// One lease's life: what a record is, what to skip and what to give up on.
struct LeaseRun {
  uint64_t key = 0;             // RecoveryKey of the lease
  RedoEntry* redo = nullptr;    // set when the lease is redone after a death
  bool sink_written = false;    // a sink's journal says the whole lease is out
  uint64_t poison = 0;          // index + 1 of a record its holders died on too often
};

// `may_be_redone`: WorkerInput::MayBeRedone of the lease.
LeaseRun BeginLease(const WorkerSetup& setup, WorkerOutput& out, const Lease& lease, size_t edge,
                    uint64_t position, bool may_be_redone) {
  LeaseRun run;
  run.key = RecoveryKey(edge, lease.ticket());
  if (setup.journal != nullptr) setup.journal->lease.store(run.key + 1, std::memory_order_relaxed);
  if (setup.book != nullptr && may_be_redone) run.redo = setup.book->Find(run.key);
  if (run.redo != nullptr) {
    uint64_t floors[kMaxRedoOutputs];
    for (size_t k = 0; k < kMaxRedoOutputs; ++k) floors[k] = run.redo->floors[k].load(std::memory_order_relaxed);
    if (setup.outputs.empty()) {
      run.sink_written = floors[0] == kWholeLease;
    } else {
      out.SetFloors(floors, kMaxRedoOutputs);
    }
    if (run.redo->deaths.load(std::memory_order_relaxed) > static_cast<uint64_t>(setup.retries))
      run.poison = run.redo->poison.load(std::memory_order_relaxed);
  }
  out.BeginLease(run.key + 1, position);
  return run;
}

// After a first attempt that did not succeed: a record error is tried
// again up to [retries] times, then handed to on_error.
enum class RecordOutcome { kDone, kStop, kFatal };
// Records per Stage::OnRun call: few enough that a push in the middle of a
// lease is reported (Queue::Progress) soon after, many enough that a call
// per run costs nothing per record.
constexpr size_t kRunRecords = 64;
RecordOutcome RetryRecord(Stage& stage, const WorkerSetup& setup, const RecordView& record, uint64_t index,
                          WorkerOutput& out, Failures& failures, const RecordTimer& timer, StageStatus result,
                          std::string* fatal) {
  for (int64_t retry = 0; retry < setup.retries && result.kind == StageStatus::Kind::kRecordError; ++retry) {
    out.BeginRecord(index);
    timer.Arm();
    result = stage.OnRecord(record, out);
    timer.Disarm();
  }
  if (result.ok()) return RecordOutcome::kDone;
  if (result.kind == StageStatus::Kind::kFatal) {
    *fatal = result.message;
    return RecordOutcome::kFatal;
  }
  return failures.OnRecordError(result.message, record) ? RecordOutcome::kDone : RecordOutcome::kStop;
}

// Whether a lease's outputs go out and it is acknowledged in the background
// while the next is worked on (runtime/lease_finisher.h says why and when):
// a slow stage's, and an [ordered] one's on a broker whatever its speed,
// since a replica waiting for a turn nobody passes on must be able to take
// one more lease (RunConsumer).
bool FinishesInBackground(const WorkerSetup& setup) {
  const bool ordered_on_broker = setup.order_gate != nullptr && setup.order_gate->StuckAfterMs() > 0;
  return (setup.finish_in_background || ordered_on_broker) && !setup.outputs.empty() && setup.inputs.size() == 1 &&
         setup.inputs[0]->AcksDuringPop() &&
         (setup.order_gate == nullptr || setup.order_gate->TakesWhileWaiting());
}

int RunConsumer(Stage& stage, const WorkerSetup& setup, WorkerOutput& first_out, Failures& failures) {
  WorkerInput input(setup);
  // Finishing in the background: each lease in hand has an output of its
  // own, the one worked on (`current`) and the one being finished; more
  // when an [ordered] replica takes one more (below).
  const bool in_background = FinishesInBackground(setup);
  std::vector<std::unique_ptr<WorkerOutput>> more_outs;  // beside first_out
  // What the finisher's thread hands back: the outputs it is done with,
  // the first failure it met, and whether its outputs want more.
  std::mutex finished_mu;
  std::vector<WorkerOutput*> free_outs;  // under finished_mu
  std::string finish_error;              // under finished_mu
  std::atomic<bool> finished_wants_more{true};
  // When the lease being finished began to wait for its turn; 0: it does
  // not wait.
  std::atomic<int64_t> turn_waited_since_ms{0};
  // A replica that takes one more must not wait for its turn in the
  // middle of a lease: its full batches wait with the lease.
  const int64_t stuck_after_ms = setup.order_gate != nullptr ? setup.order_gate->StuckAfterMs() : 0;
  const auto new_output = [&](WorkerOutput& o) -> WorkerOutput& {
    if (stuck_after_ms > 0) o.HoldBatchesUntilTurn();
    return o;
  };
  if (in_background) {
    new_output(first_out);
    more_outs.push_back(std::make_unique<WorkerOutput>(setup));
    free_outs.push_back(&new_output(*more_outs.back()));
  }
  WorkerOutput* current = &first_out;
  uint64_t handed_over = 0;  // the key of an unordered lease in the finisher
  // Declared after the outputs: destroyed first, once its leases are finished.
  LeaseFinisher finisher;
  const auto finish_failure = [&] {
    std::lock_guard lock(finished_mu);
    return finish_error;
  };
  // One more. A replica hands a lease to the finisher once the one before
  // is finished, so it holds two at most: one waiting for its turn, one
  // worked on. On a broker, a replica that died and is not replaced (added
  // on a worker that joined, then lost) leaves positions that come back
  // after their ack wait to whoever asks, and its siblings may all hold
  // later ones by then, asking for nothing. So a replica whose lease has
  // waited for its turn that long hands the next over at once and takes
  // one more: the broker hands out redeliveries first, and a position
  // below the one waiting goes out in line (LeaseFinisher::kGoesBefore).
  // Again after each such wait, up to kMostInHand; a sibling merely slow
  // costs a few leases taken early.
  size_t allowed_in_hand = 1;
  int64_t took_one_more_ms = 0;
  const auto one_more_due = [&] {
    const int64_t since = turn_waited_since_ms.load();
    const int64_t now = static_cast<int64_t>(MonotonicNanos() / 1'000'000);
    if (stuck_after_ms <= 0 || since == 0 || allowed_in_hand >= kMostInHand ||
        now - std::max(since, took_one_more_ms) < stuck_after_ms)
      return false;
    took_one_more_ms = now;
    return true;
  };
  // And at once when the position a turn waits for is back already, in this
  // replica's own hands: an ask ahead of the lease just worked brought it,
  // a redelivery, while that lease waited for its turn. Taken at the next
  // look, not at the next "one more" (an ack wait later: it was that long
  // on a dead worker machine, where the batches came back after one ack
  // wait into the asks of siblings that then waited for them).
  const auto earlier_in_hand = [&](uint64_t position) {
    return stuck_after_ms > 0 && allowed_in_hand < kMostInHand && input.HoldsEarlier(position + 1);
  };
  InstanceCounters& c = *setup.counters;
  const RecordTimer timer(setup.timeout_ns);
  const bool sink = setup.outputs.empty();
  const bool takes_runs = stage.TakesRuns() && setup.timeout_ns == 0;
  if (sink && setup.journal != nullptr) {
    // Started again after a death: the output is cut back to the last
    // point the journal vouches for (or to nothing).
    const uint64_t token = setup.journal->LastMark().second;
    if (!stage.Resume(token, 0)) return failures.Fatal("cannot resume the output where the dead worker left it");
  }
  uint64_t waiting_since = MonotonicNanos();
  uint64_t leases = 0;   // taken so far (for the trace)
  // The next lease asked for just before this one ends, where the input
  // comes from afar. Not by an [ordered] replica that finishes in line: it
  // asks once it has passed its turn on (below).
  LeasePace pace;
  const bool asks_by_pace = in_background || setup.order_gate == nullptr;
  for (;;) {
    WorkerOutput& out = *current;
    if (stage.Satisfied() || !out.wants_more() || !finished_wants_more.load()) {
      if (!out.wants_more() || !finished_wants_more.load()) out.AbandonOrder();
      input.CancelAll();
      break;
    }
    Lease lease;
    uint64_t position = 0;
    QueueStatus status = input.Next(&lease, &position);
    const uint64_t taken = MonotonicNanos();
    InstanceCounters::Add(c.wait_input_ns, taken - waiting_since);
    if (status == QueueStatus::kEnd || status == QueueStatus::kCancelled) {
      if (Tracing()) TraceEvent("instance " + setup.name + " input ended after " + std::to_string(leases) + " leases");
      break;
    }
    if (status == QueueStatus::kClosed) {
      const std::string why = input.Failure();
      return failures.Fatal(why.empty() ? "the run is shutting down" : why);
    }
    if (Tracing())  // with an [ordered] lease's position
      TraceEvent("instance " + setup.name + " lease" +
                 (setup.order_gate != nullptr ? " " + std::to_string(position) : std::string()));
    ++leases;
    if (asks_by_pace) input.AskAheadIn(pace.AskAfterUs());  // -1: no ask (nor one left from the last lease)

    const LeaseRun run = BeginLease(setup, out, lease, input.current_edge(), position, input.MayBeRedone(lease));
    const uint64_t pushed_before = out.push_ns();
    uint64_t flushes = out.flushes();
    uint64_t bytes = 0;
    uint64_t prefetched = 0;
    size_t done = 0;
    // Runs (Stage::OnRun) wherever no record needs watching on its own.
    // While the stage is inside a run the journal names no record: a death
    // there is blamed on none, and the lease, handed out again, is redone
    // record by record (a redo never goes in runs), which finds the record.
    const bool in_runs = takes_runs && !run.sink_written && run.poison == 0 && run.redo == nullptr;
    bool next_alone = false;  // the run stopped before this record: it goes alone
    StageStatus first_try;    // and this is what the run said about it
    while (done < lease.size()) {
      if (in_runs && !next_alone) {
        const size_t end = std::min(lease.size(), done + kRunRecords);
        RecordRun records;
        if (lease.Run(done, end, &records)) {
          lease.Prefetch(done, kRunRecords, &prefetched);
          if (setup.journal != nullptr) setup.journal->record.store(0, std::memory_order_relaxed);
          out.BeginRun(lease.first() + done);
          const size_t n = stage.OnRun(records, out, &first_try);
          bytes += records.begin(n) - records.base;
          done += n;
          if (!out.error().empty()) return failures.Fatal(out.error());
          if (stage.Satisfied() || !out.wants_more()) break;
          if (out.flushes() != flushes) {
            flushes = out.flushes();
            input.Progress(lease, out.flushed_index() - lease.first());
          }
          next_alone = n < records.size();
          continue;
        }
      }
      if (done % 8 == 0) lease.Prefetch(done, 8, &prefetched);
      const RecordView record = lease[done];
      const uint64_t index = lease.first() + done;
      bytes += record.bytes.size();
      ++done;
      if (run.sink_written) continue;
      if (setup.journal != nullptr) setup.journal->record.store(index + 1, std::memory_order_relaxed);
      if (run.poison == index + 1) {
        if (!failures.OnRecordError(std::string(run.redo->Reason()), record)) return 1;
      } else {
        out.BeginRecord(index);
        StageStatus result;
        if (next_alone && !first_try.ok()) {
          result = std::move(first_try);  // tried once already, in the run
          first_try = StageStatus::Ok();
        } else {
          timer.Arm();
          result = stage.OnRecord(record, out);
          timer.Disarm();
        }
        if (!result.ok()) {
          std::string fatal;
          switch (RetryRecord(stage, setup, record, index, out, failures, timer, std::move(result), &fatal)) {
            case RecordOutcome::kDone:
              break;
            case RecordOutcome::kStop:
              return 1;
            case RecordOutcome::kFatal:
              if (QuietStdoutEnd(setup, &input)) return 0;
              return failures.Fatal(fatal);
          }
        }
      }
      next_alone = false;
      if (!out.error().empty()) return failures.Fatal(out.error());
      if (stage.Satisfied() || !out.wants_more()) break;
      if (out.flushes() != flushes) {
        // A full batch went out during this record: the ones before are done.
        flushes = out.flushes();
        input.Progress(lease, done - 1);
      }
    }
    if (setup.journal != nullptr) setup.journal->record.store(0, std::memory_order_relaxed);
    InstanceCounters::Add(c.records_in, done);
    InstanceCounters::Add(c.bytes_in, bytes);
    if (Tracing()) TraceEvent("instance " + setup.name + " records done");
    pace.Took(MonotonicNanos() - taken);
    bool in_line = !in_background || run.redo != nullptr || run.poison != 0;
    const uint64_t key = setup.order_gate != nullptr ? position : handed_over;
    while (!in_line) {
      // Finished in the background while the next lease is taken and worked
      // on, once the one before is (one more: above). An [ordered] position
      // below the one being finished (a batch back from a dead replica, on
      // a broker) goes out first, in line: the finisher waits for a turn
      // that comes after this one's.
      if (finisher.in_hand() == 0) allowed_in_hand = 1;
      const auto look = std::chrono::milliseconds(stuck_after_ms > 0 ? kStuckLookMs : 60'000);
      const LeaseFinisher::Room room = finisher.AwaitRoom(allowed_in_hand - 1, key, look);
      if (room == LeaseFinisher::Room::kGoesBefore) {
        in_line = true;
        break;
      }
      if (room == LeaseFinisher::Room::kTimeout && !earlier_in_hand(key) && !one_more_due()) continue;
      if (room == LeaseFinisher::Room::kTimeout) {
        ++allowed_in_hand;
        if (Tracing()) TraceEvent("instance " + setup.name + " one more, waiting " + std::to_string(key));
      }
      const std::string failed = finish_failure();
      if (!failed.empty()) return failures.Fatal(failed);
      if (setup.journal != nullptr) setup.journal->lease.store(0, std::memory_order_relaxed);
      Queue* queue = setup.inputs[0];
      // What belongs to this lease by value: the finisher runs it after this
      // iteration is over (the references are the function's own).
      const bool handed = finisher.Start(key, [&, o = &out, queue, lease, key]() mutable {
        turn_waited_since_ms.store(static_cast<int64_t>(MonotonicNanos() / 1'000'000));
        o->WaitForTurn();
        turn_waited_since_ms.store(0);
        if (Tracing() && setup.order_gate != nullptr)
          TraceEvent("instance " + setup.name + " turn " + std::to_string(key));
        o->Flush();
        if (Tracing()) TraceEvent("instance " + setup.name + " outputs out");
        o->EndLease();
        queue->Ack(setup.instance, &lease);
        std::lock_guard lock(finished_mu);
        if (!o->wants_more()) finished_wants_more.store(false);
        if (finish_error.empty()) finish_error = o->error();
        free_outs.push_back(o);
      });
      if (!handed) {  // the finisher took a lease after this one's position meanwhile
        in_line = true;
        break;
      }
      ++handed_over;
      {
        std::lock_guard lock(finished_mu);
        if (free_outs.empty()) {
          more_outs.push_back(std::make_unique<WorkerOutput>(setup));
          current = &new_output(*more_outs.back());
        } else {
          current = free_outs.back();
          free_outs.pop_back();
        }
      }
      waiting_since = MonotonicNanos();
      const uint64_t busy = waiting_since - taken;
      InstanceCounters::Add(c.busy_ns, busy);
      input.ReportCost(done, busy);
      break;
    }
    if (!in_line) continue;
    // In line: after the leases in hand before it (all of them, unordered).
    finisher.WaitBelow(setup.order_gate != nullptr ? position : UINT64_MAX);
    if (const std::string failed = finish_failure(); !failed.empty()) return failures.Fatal(failed);
    // The next lease travels while this one's outputs go out (a queue on a
    // broker). Not for a stage that wants no more. An [ordered] one asks
    // once it has passed the turn on: asked before its turn, its next
    // position would wait for this one's turn, and the positions after it,
    // taken by free siblings, for it (the whois example 5% slower); asked
    // between its turn and passing it on, the pull would load the broker
    // on the turns' chain, whose links are what an [ordered] run waits for
    // (bench/trace_leases.py).
    if (setup.order_gate != nullptr) out.WaitForTurn();
    if (Tracing() && setup.order_gate != nullptr)
      TraceEvent("instance " + setup.name + " turn " + std::to_string(position));
    if (setup.order_gate == nullptr && !stage.Satisfied() && out.wants_more()) input.AskAhead();
    // Push, then acknowledge: a lease's outputs are out before it leaves.
    // A sink makes its output durable and says so in its journal first.
    // [ordered] lets the next position go before the Ack: a worker that
    // dies in between leaves a lease whose redo publishes nothing, while
    // one that died after the Ack and before letting go would stop the
    // order for good.
    out.Flush();
    uint64_t token = 0;
    if (sink && setup.journal != nullptr && stage.Sync(&token)) setup.journal->SetMark(run.key + 1, token);
    if (Tracing()) TraceEvent("instance " + setup.name + " outputs out");
    out.EndLease();
    if (setup.order_gate != nullptr && !stage.Satisfied() && out.wants_more()) input.AskAhead();
    input.Ack(&lease);
    if (setup.journal != nullptr) setup.journal->lease.store(0, std::memory_order_relaxed);
    if (run.redo != nullptr) RecoveryBook::Release(run.redo);
    waiting_since = MonotonicNanos();
    const uint64_t elapsed = waiting_since - taken;
    const uint64_t busy = elapsed - std::min(elapsed, out.push_ns() - pushed_before);
    InstanceCounters::Add(c.busy_ns, busy);
    input.ReportCost(done, busy);
  }
  finisher.Wait();
  if (const std::string failed = finish_failure(); !failed.empty()) return failures.Fatal(failed);
  WorkerOutput& out = *current;
  const uint64_t finish_start = MonotonicNanos();
  const uint64_t pushed_before = out.push_ns();
  StageStatus result = stage.Finish(out);
  if (!result.ok()) {
    if (QuietStdoutEnd(setup, nullptr)) return 0;
    return failures.Fatal(result.message);
  }
  if (!out.error().empty()) return failures.Fatal(out.error());
  out.Flush();
  out.EndOfStream();
  if (!out.error().empty()) return failures.Fatal(out.error());
  const uint64_t elapsed = MonotonicNanos() - finish_start;
  InstanceCounters::Add(c.busy_ns, elapsed - std::min(elapsed, out.push_ns() - pushed_before));
  return 0;
}

}  // namespace

int RunWorker(Stage& stage, const WorkerSetup& setup) {
  WorkerOutput out(setup);
  Failures failures(setup);
  if (setup.inputs.empty()) return RunSource(stage, setup, out, failures);
  return RunConsumer(stage, setup, out, failures);
}

std::string EscapeRecord(std::string_view bytes, size_t limit) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  const size_t n = std::min(bytes.size(), limit);
  out.reserve(n + 8);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
    }
  }
  if (n < bytes.size()) out += "...";
  return out;
}

}  // namespace flow
