// The worker loop: everything one stage instance does around its Stage, in
// its own process. It takes leases from its input queue(s), hands each
// record to the stage, gathers what the stage emits into batches, pushes
// them to every output queue, applies [on_error], keeps its statistics, and
// ends its stream. The stage itself sees records and an Emitter only.
//
// The order of a lease's life is fixed, for the fault-tolerance layer:
// take, process, push every output of its records, acknowledge. A batch
// that fills up in the middle of a lease is pushed at once and reported
// with Queue::Progress; nothing emitted by a lease waits past its Ack.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <unistd.h>

#include "compiler/stage_graph.h"
#include "runtime/queue.h"
#include "runtime/recovery_book.h"
#include "runtime/run_control.h"
#include "runtime/run_stats.h"
#include "runtime/stage.h"

namespace flow {

// A batch is pushed when it holds this many records or bytes: large enough
// that a record's share of a push is small, small enough that the next
// stage starts early and a queue holds several batches.
inline constexpr size_t kBatchRecords = 4096;
inline constexpr uint64_t kBatchBytes = 256 * 1024;

// How the instance is wired. Every pointer is owned by the supervisor and
// was mapped before the fork.
struct WorkerSetup {
  std::string name;      // "map_2#3", for messages
  std::string location;  // "etl.flow:9:5": where the stage is called
  int instance = 0;      // 0-based: the producer index on the outputs, the consumer index on the inputs
  std::vector<Queue*> inputs;   // node.inputs order; empty: a source
  std::vector<Queue*> outputs;  // node.outputs order; empty: a sink
  // Per input: where this instance says how large its leases should be;
  // per output: how large the batches it pushes should be. Null entries
  // (or empty vectors): no hint, full batches.
  std::vector<BatchHint*> input_hints;
  std::vector<BatchHint*> output_hints;
  OrderTurns* order_gate = nullptr;    // [ordered] on a replicated stage
  // A slow stage (one record a lease) on a broker edge: each lease is
  // finished in the background while the next is worked on, when the
  // queue and the turns allow it (runtime/lease_finisher.h).
  bool finish_in_background = false;
  // Recovery (runtime/recovery_book.h): the edge ids of `inputs` (leases
  // are named by edge and ticket), the run's book and this instance's
  // journal in it. A null book: no recovery (unit tests of the loop).
  std::vector<size_t> input_edges;
  RecoveryBook* book = nullptr;
  InstanceJournal* journal = nullptr;
  // A record that fails is tried this many more times before on_error; a
  // stage with a timeout is killed (SIGALRM) when one record takes longer.
  int64_t retries = 0;
  int64_t timeout_ns = 0;
  OnError on_error = OnError::kFail;
  int dead_letter_fd = -1;             // open with O_APPEND, for kDeadLetter
  InstanceCounters* counters = nullptr;
  const std::atomic<bool>* stop_requested = nullptr;  // sources stop when set
  // A write("-") sink: when it fails because stdout was closed (`| head -1`)
  // it cancels its input and ends quietly, as a shell pipeline would.
  bool writes_stdout = false;
  int error_fd = STDERR_FILENO;  // where the one-line failure reports go
};

// Runs the instance to the end of its stream. Returns the process's exit
// code: 0, or 1 after a failure it has reported on `error_fd`.
int RunWorker(Stage& stage, const WorkerSetup& setup);

// A record as a failure report shows it: at most `limit` bytes, printable
// ASCII as is, \t \n \r \\ \" and \xHH for the rest, "..." when cut.
std::string EscapeRecord(std::string_view bytes, size_t limit);

}  // namespace flow
