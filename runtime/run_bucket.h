// A run's key-value bucket (NatsBucketName) as a stage instance uses it:
// keys read, put and created straight on the bucket's stream, as libnats's
// kvStore_Get, kvStore_Put and kvStore_Create do, but without js_KeyValue's
// lookup of the stream first. That lookup was a request on every
// instance's way to its first lease, 24 of them as a whois run starts on
// 2 cores, where nats-server and the instances share the CPUs.
//
// The bucket is made by the run's keeper (CreateNatsRun) before any
// instance opens it; a bucket that is not there makes every call fail
// (NATS_NOT_FOUND from a read, an error from a write), as a kvStore's
// would once its stream is gone.
#pragma once

#include <string>

#include <nats/nats.h>

#include "runtime/nats_run.h"

namespace flow {

class RunBucket {
 public:
  RunBucket(NatsLink& link, const std::string& bucket);

  // NATS_OK with the value in *value (when not null); NATS_NOT_FOUND when
  // the key has none (never put, or deleted); another status when the
  // broker did not answer or refused.
  natsStatus Get(const std::string& key, std::string* value = nullptr) const;
  // Stored when the broker says so.
  natsStatus Put(const std::string& key, const std::string& value) const;
  // Stored only if the key has no value yet; NATS_ERR (the broker's "wrong
  // last sequence") if it has one.
  natsStatus Create(const std::string& key, const std::string& value) const;
  // A plain publish on the key's subject, without waiting for the broker's
  // answer (a round trip less, where nobody looks at the answer). Stored
  // after what the connection sent before it; lost with the connection, as
  // a failed put is.
  void PutUnanswered(const std::string& key, const std::string& value) const;

  // "$KV.<bucket>.<key>": where the key's values are stored.
  std::string KeySubject(const std::string& key) const { return NatsKeySubject(bucket_, key); }
  const std::string& stream() const { return stream_; }  // KV_<bucket>

 private:
  natsStatus Publish(const std::string& key, const std::string& value, bool only_if_new) const;

  NatsLink& link_;
  std::string bucket_;
  std::string stream_;  // KV_<bucket>
};

}  // namespace flow
