// A core NATS subscription read when its owner is ready (the origin's
// watches: the broker's max-delivery advisories, the workers' log lines;
// the turns of an [ordered] stage on a broker): synchronous,
// without libnats's pending limits (a burst must not lose messages), read
// without waiting, unsubscribed at the end. On failure it sees nothing.
#pragma once

#include <cstdint>
#include <string>

typedef struct __natsSubscription natsSubscription;

namespace flow {

class NatsLink;

class NatsSubscription {
 public:
  // Subscribes to `subject` on the link's connection; on failure ok() is
  // false and error() has libnats's reason.
  NatsSubscription(NatsLink& link, const std::string& subject);
  ~NatsSubscription();
  NatsSubscription(const NatsSubscription&) = delete;
  NatsSubscription& operator=(const NatsSubscription&) = delete;

  bool ok() const { return sub_ != nullptr; }
  const std::string& error() const { return error_; }

  // A round trip to the broker (within the link's API wait): what it sent
  // before has come after it. Nothing when not subscribed.
  void Flush();
  // The next message into *data, waiting up to `wait_ms` for one; false
  // when none came (or not subscribed).
  bool Next(std::string* data, int64_t wait_ms = 0);
  // The same, with the subject the message came on.
  bool Next(std::string* data, std::string* subject, int64_t wait_ms);

 private:
  NatsLink& link_;
  natsSubscription* sub_ = nullptr;
  std::string error_;
};

}  // namespace flow
