// What the parts of a NatsQueue share: the words its messages say, the
// clock, and the state of its producers (Books), consumers (Taker, Held) and
// end signals (Wakes). Internal to runtime/nats_queue*.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/nats_queue.h"

namespace flow {

// Once every producer has ended, a consumer that finds nothing to take
// within this long looks whether the edge is drained at once, instead of
// a poll later: the last replica to finish then sees the end, and says so.
// (Looked at again after twice as long, and so on: see Taker::tail_wait_ms.)
inline constexpr int64_t kTailPeekMs = 3;
// What an end signal says: producer p ended ("ended <p>"), or a consumer
// found the edge drained for good ("drained": every producer ended, nothing
// pending or unacknowledged, so nothing can come any more).
inline constexpr const char* kDrainedWord = "drained";
inline constexpr const char* kEndedWord = "ended";  // "ended <producer>"
// The signals' subjects, after the edge's prefix: a consumer listens to
// both ("s.*"), a producer to the stops.
inline constexpr const char* kEndSignal = "s.end";
inline constexpr const char* kStopSignal = "s.stop";
// How often a queue reads its edge's stop flag when it has the stop
// signals: for one that went by unheard (a reconnection). Before, every
// queue of every replica read it every poll_ms: a tenth of a run's
// messages on the broker, for a flag that is set once or never.
inline constexpr int64_t kStopLookMs = 1000;

// The acknowledgement protocol's words.
inline constexpr const char* kAckWord = "+ACK";
inline constexpr const char* kNakWord = "-NAK";
inline constexpr const char* kInProgressWord = "+WPI";
inline constexpr const char* kTermWord = "+TERM";
// Acknowledgements kept to be sent again after a reconnection
// (NatsQueue::AckAgainAfterReconnect): the last few seconds' worth.
inline constexpr size_t kAcksKept = 4096;

inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a lease points into: the message (kept until the Ack, which needs
// it) and the columns decoded from it; a large record's lease owns its bytes
// and remembers its pieces, purged after the Ack.
struct NatsQueue::Held {
  natsMsg* msg = nullptr;
  // Last told InProgress, or a time before it was delivered (0: not
  // known: told at once).
  int64_t touched_ms = 0;
  int note = -1;  // in NatsQueueOptions::hand_back
  std::vector<int64_t> nrs, seqs;
  std::vector<uint32_t> ends;
  std::string pieces;  // the pieces' subject filter; "" for a batch
};

struct NatsQueue::Taker {
  std::mutex mu;
  // "<inbox>.*": our pull requests' replies ("<inbox>.<n>") and the end
  // signals relayed to us ("<inbox>.w").
  natsSubscription* inbox = nullptr;
  std::string inbox_prefix;  // "<inbox>."
  uint64_t requests = 0;     // pull requests sent; the last one's number
  int64_t request_until_ms = 0;  // when the open request expires; 0: none open
  // When the inbox was last seen empty: what it holds now came after.
  int64_t drained_ms = 0;
  int request_left = 0;          // batches it may still bring
  uint64_t request_reconnects = 0;  // the link's reconnections when it was sent
  struct Fetched {
    natsMsg* msg;
    int64_t touched_ms;  // fetched, or last told InProgress
    // A time before it was delivered (its ack wait began): when the inbox
    // was last seen empty before it was fetched.
    int64_t delivered_after_ms;
    int note;  // in NatsQueueOptions::hand_back
  };
  std::deque<Fetched> buffer;
  // By (ticket, attempt): a batch redelivered to the consumer that still
  // holds it (it outlived its ack wait) is a second lease.
  std::map<std::pair<uint64_t, uint32_t>, Held> held;
  uint64_t signals_seen = 0;  // end signals already looked into
  int64_t end_checked_ms = 0;  // when the end of stream was last looked at
  // Every producer ended: how long to wait for a batch before looking at
  // the end of stream again. kTailPeekMs after a lease, doubled after each
  // look that finds the edge not drained yet, up to poll_ms.
  int64_t tail_wait_ms = kTailPeekMs;
  // Pop waits for batches without the lock (Collect), so that a lease it
  // handed out before is acknowledged meanwhile from another thread (a
  // worker finishing its last lease while it takes the next).
  bool waiting = false;
  // When AskAheadIn wants a pull request sent (NowUs); 0: not wanted.
  std::atomic<int64_t> ask_at_us{0};
  // Not before then (NowUs): the heartbeat found the taker busy, and tries
  // again a moment later. The heartbeat thread's only.
  int64_t ask_retry_us = 0;
  // When to look at the inbox for what an ask ahead brings (NowUs); 0: not
  // looked for. The heartbeat thread's only (NatsQueue::NoteAnswersDue).
  int64_t look_at_us = 0;
  int64_t look_every_us = 0;  // the wait before the next look, doubling
  int looks = 0;              // looks since the ask
  // A look at the end of stream was put off because a lease of this taker
  // was still being finished: its Ack wakes the Pop to look.
  bool look_after_ack = false;
};

// End signals come on libnats's thread: counted, and relayed to every
// taker's inbox, where a waiting Pop wakes. On the heap, so that a late
// callback finds it (see the destructor).
struct NatsQueue::Wakes {
  std::atomic<uint64_t> signals{0};
  std::atomic<uint64_t> stops{0};  // stop signals heard
  std::atomic<bool> drained{false};
  std::atomic<bool> upstream_drained{false};  // NatsQueueOptions::upstream_edge was found drained
  std::string upstream_subject;  // the end signals of NatsQueueOptions::upstream_edge, if any
  // Called on the first drained word of the upstream edge, on libnats's
  // thread: asks the heartbeat thread to look at the end now
  // (NatsQueue::LookAtEndEarly), while the wake travels.
  std::function<void()> upstream_drained_heard;
  std::mutex mu;
  natsConnection* connection = nullptr;
  std::vector<std::string> subjects;  // under mu
  // The takers' inboxes, under mu: once the edge is drained for good they
  // are closed (CloseInboxes), which wakes a Pop waiting on one at once.
  std::vector<natsSubscription*> inboxes;
  // Producers whose end signal ("ended <p>") came, under mu: each said so
  // after writing "ended" in its books, so the books need not be read
  // again (a request each: with 24 producers ending together, tens of ms).
  std::vector<bool> ended;
};

struct NatsQueue::Books {
  std::mutex mu;
  bool loaded = false;
  bool fresh = false;     // StartsFresh: nothing was published before, nothing to read
  ProducerProgress progress;
  uint64_t messages = 0;
  bool dirty = false;     // pushed since the last save
  int64_t saved_ms = 0;   // when last saved
};

}  // namespace flow
