// The one small interface every standard-library stage implements (stdlib/,
// one stage per file). A stage sees records and an Emitter; it knows nothing
// of processes, queues, batches, restarts or statistics: the worker loop
// (runtime/worker.cc) does all of that around it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/queue.h"

namespace flow {

// Where a stage's records go (every output queue of the instance: a tee's
// two, or none for a sink).
class Emitter {
 public:
  virtual ~Emitter() = default;
  // Emits one record, numbered `nr` at its source. False when nothing
  // downstream wants more records (cancelled, or the run is stopping): the
  // stage should return from what it is doing.
  virtual bool Emit(std::string_view bytes, int64_t nr) = 0;
  // A source's Emit with its resume token: a number that grows with every
  // record and says where to start again after it (read: the byte offset
  // past the record). Plain Emit from a source uses `nr` as the token.
  virtual bool EmitAt(std::string_view bytes, int64_t nr, uint64_t token) {
    (void)token;
    return Emit(bytes, nr);
  }
  // OnRun's Emit: the one output of record `i` of the run (a run's stage
  // makes at most one output per record). False as Emit.
  virtual bool EmitOf(size_t i, std::string_view bytes, int64_t nr) {
    (void)i;
    return Emit(bytes, nr);
  }
  // OnRun's outputs of several records at once: for k < count,
  // EmitOf(which[k], bytes[k], nrs[k]) (`which` ascending), in order,
  // stopping after the first that returns false. Returns how many were
  // emitted: count, or k + 1 when the k-th returned false. One call where a
  // cheap stage would make one per record.
  virtual size_t EmitEachOf(const uint32_t* which, const std::string_view* bytes, const int64_t* nrs,
                            size_t count) {
    for (size_t k = 0; k < count; ++k)
      if (!EmitOf(which[k], bytes[k], nrs[k])) return k + 1;
    return count;
  }
  // Sends on what was emitted and is still gathered into a batch. A source
  // about to wait for input (a pipe, a terminal) calls it, so that records
  // that trickle in do not wait for a full batch.
  virtual void Flush() {}
};

// What a stage call ended with.
struct StageStatus {
  enum class Kind : uint8_t {
    kOk,
    kRecordError,  // this record failed: the worker applies [on_error]
    kFatal,        // the stage cannot go on (a file it cannot write): the run fails
  };
  Kind kind = Kind::kOk;
  std::string message;  // for errors: what happened, in words for the user

  static StageStatus Ok() { return {}; }
  static StageStatus RecordError(std::string message) { return {Kind::kRecordError, std::move(message)}; }
  static StageStatus Fatal(std::string message) { return {Kind::kFatal, std::move(message)}; }
  bool ok() const { return kind == Kind::kOk; }
};

class Stage {
 public:
  virtual ~Stage() = default;

  // Sources only: produce every record (or stop when Emit returns false or
  // StopRequested() turns true).
  virtual StageStatus Produce(Emitter& out) {
    (void)out;
    return StageStatus::Fatal("internal error: not a source");
  }

  // Transforms and sinks: one input record.
  virtual StageStatus OnRecord(const RecordView& record, Emitter& out) {
    (void)record;
    (void)out;
    return StageStatus::Fatal("internal error: a source takes no input");
  }

  // Transforms and sinks that make at most one output per record may also
  // take a run of records in one call (TakesRuns): no per-record call into
  // the stage and no per-record bookkeeping in the worker, which is most
  // of the cost of a short record through a cheap stage. OnRun goes
  // through the run in order, emitting record i's output with out.EmitOf(i,
  // ...), and returns how many records it finished: all of them, or fewer
  // when EmitOf returned false (it stops there) or when record i failed:
  // it then returns i with `*status` saying why, having emitted nothing for
  // record i, and the worker handles that record alone (retries, on_error:
  // with OnRecord) before it calls OnRun on the rest. The worker uses runs
  // only where per-record supervision is not needed (no timeout, a lease
  // not being redone after a death).
  virtual bool TakesRuns() const { return false; }
  virtual size_t OnRun(const RecordRun& run, Emitter& out, StageStatus* status) {
    (void)run;
    (void)out;
    *status = StageStatus::Fatal("internal error: the stage takes no runs");
    return 0;
  }

  // After the last input record (or, for a source, after Produce): emit
  // what is held back (count, sort, tail, ...) and flush what is written.
  virtual StageStatus Finish(Emitter& out) {
    (void)out;
    return StageStatus::Ok();
  }

  // True once the stage needs no more input (head(n) after n records): the
  // worker then cancels its upstream, calls Finish and ends its stream.
  virtual bool Satisfied() const { return false; }

  // Recovery after a worker died (runtime/recovery_book.h).
  // A source: skip to just after the record with this token, numbered `nr`
  // (false: it cannot; the worker then produces from the start and drops
  // what was published). A sink: cut the output back to `token`, as Sync
  // gave it (0: nothing was written); false when it cannot.
  virtual bool Resume(uint64_t token, int64_t nr) {
    (void)nr;
    return token == 0;
  }
  // Sinks: make what was written so far durable and say where it ends
  // (a file's length). False: this sink cannot be resumed.
  virtual bool Sync(uint64_t* token) {
    (void)token;
    return false;
  }
};

}  // namespace flow
