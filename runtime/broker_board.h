// What the origin of a run and the `flowrun worker` processes tell each
// other through the broker (issue 8), in JetStream key-value buckets:
//
//   flowrun_workers          the workers on this broker, and their jobs
//     w.<worker>             "slots=N host=H": put every kWorkerBeatMs by a
//                            live worker; older than kWorkerStaleNs: gone
//     job.<worker>.<run>     a run asks this worker to take its part: the
//                            slots it takes there, the run's description
//                            and placement (JobOffer); a run that ends
//                            without going through (interrupted, failed,
//                            its origin gone) puts JobStop there: the part
//                            ends its instances at once
//   flow_<run>               the run's own bucket (runtime/nats_run.h)
//     part.<worker>          that worker's part of the run: "up" (put every
//                            kPartBeatMs while it runs), then "done",
//                            "stopped" (by JobStop), "gone", kPartLeftWord
//                            or "failed: <message>"; each followed by
//                            a line per instance, "<node> <instance>
//                            <counters>": what it counted so far, or in all
//
// The origin's keeper reads the workers, places the instances, and watches
// the parts: a part that stops beating is lost (its machine died or was cut
// off), and the origin runs its instances itself.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nats/nats.h>

#include "runtime/nats_run.h"

namespace flow {

inline constexpr const char* kWorkersBucket = "flowrun_workers";
inline constexpr int64_t kWorkerBeatMs = 1000;
inline constexpr int64_t kWorkerStaleNs = 3'500'000'000;
inline constexpr int64_t kPartBeatMs = 250;
// A part's state when its worker ended it while the run goes on (SIGTERM
// to the worker, a part killed by a signal) and handed back at once what
// its instances held (runtime/hand_back_book.h): "gone", but whoever takes
// its instances over need not wait an ack wait for their batches.
inline constexpr const char* kPartLeftWord = "left";
// A part whose beat is older than this is lost: a few beats missed, well
// under the default ack wait (5 s), so that its instances run again on the
// origin by the time their batches come back.
inline constexpr int64_t kPartStaleNs = 1'500'000'000;
// A worker asked to join that has not said "up" by then is lost too.
inline constexpr int64_t kPartJoinNs = 10'000'000'000;

struct BoardEntry {
  std::string key;
  std::string value;
  int64_t created_ns = 0;  // when it was put, on the broker's clock
};

class BrokerBoard {
 public:
  // The bucket `name`, made when `create` and missing (file storage, one
  // value per key, values older than `ttl_ns` dropped: 0 keeps them).
  static std::unique_ptr<BrokerBoard> Open(NatsLink& link, const std::string& name, bool create, int64_t ttl_ns,
                                           std::string* error);
  ~BrokerBoard();
  BrokerBoard(const BrokerBoard&) = delete;
  BrokerBoard& operator=(const BrokerBoard&) = delete;

  bool Put(const std::string& key, const std::string& value, std::string* error);
  // False (no error) when the key has no value.
  bool Get(const std::string& key, std::string* value, int64_t* created_ns = nullptr);
  bool Delete(const std::string& key, std::string* error);
  // Every key's value, as it is now.
  std::vector<BoardEntry> Entries();

  // Watches the keys matching `pattern` ("job.w1.*"). Next waits up to
  // `timeout_ms` for a key put; false when there was none in that time.
  bool Watch(const std::string& pattern, std::string* error);
  bool Next(int64_t timeout_ms, std::string* key, std::string* value, int64_t* created_ns = nullptr);

 private:
  BrokerBoard(NatsLink& link, kvStore* kv) : link_(link), kv_(kv) {}
  NatsLink& link_;
  kvStore* kv_;
  kvWatcher* watcher_ = nullptr;
};

// The workers alive on the broker now, from flowrun_workers, each with the
// slots that the runs it works for have left free (WorkerOffer::slots).
struct WorkerOffer;
std::vector<WorkerOffer> LiveWorkers(BrokerBoard& workers);

// A job key's value: the slots the run takes on that worker, and what its
// part needs to start without asking the broker: the run's description
// (RunDescription), where each instance runs (Placement::Encode), and
// whether the run is made already (its edges and bucket: then its
// instances need not look, a request each as 24 of them start).
std::string JobOffer(int taken, const std::string& description, const std::string& placement, bool made = false);
// False when `value` is not one (the fields it finds are set all the same;
// null ones are not wanted).
bool ReadJobOffer(const std::string& value, int* taken, std::string* description, std::string* placement,
                  bool* made = nullptr);
// Empty when a job offer of `offer_bytes` fits in one message of the
// broker at `shown_url` (its max_payload, 1 MiB by default); else what is
// too large and what to change (the broker's own refusal names a job key
// the user never heard of). A program with large literals may not fit.
std::string OfferTooLarge(size_t offer_bytes, int64_t max_payload, const std::string& shown_url);
// What the keeper of a run that did not go through puts on the job keys
// of its parts: the origin has ended its own instances (after --grace, if
// it was interrupted), and theirs must not run on, waiting for an input
// that will never end, until the run's removal fails them.
std::string JobStop();
bool IsJobStop(const std::string& value);

int64_t WallClockNanos();

}  // namespace flow
