#include "runtime/run_bucket.h"

#include <cstring>

namespace flow {

RunBucket::RunBucket(NatsLink& link, const std::string& bucket)
    : link_(link), bucket_(bucket), stream_("KV_" + bucket) {}

natsStatus RunBucket::Get(const std::string& key, std::string* value) const {
  // The last message on the key's subject, from whichever server holds the
  // stream (the bucket allows direct gets, as libnats makes buckets).
  const std::string subject = KeySubject(key);
  jsDirectGetMsgOptions options;
  jsDirectGetMsgOptions_Init(&options);
  options.LastBySubject = subject.c_str();
  natsMsg* msg = nullptr;
  natsStatus s = js_DirectGetMsg(&msg, link_.js(), stream_.c_str(), nullptr, &options);
  if (s != NATS_OK) return s;
  // A deleted or purged key is a marker message, as kvStore_Get sees it.
  const char* operation = nullptr;
  if (natsMsgHeader_Get(msg, "KV-Operation", &operation) == NATS_OK && operation != nullptr &&
      (std::strcmp(operation, "DEL") == 0 || std::strcmp(operation, "PURGE") == 0)) {
    s = NATS_NOT_FOUND;
  } else if (value != nullptr) {
    value->assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  }
  natsMsg_Destroy(msg);
  return s;
}

natsStatus RunBucket::Put(const std::string& key, const std::string& value) const {
  return Publish(key, value, false);
}

natsStatus RunBucket::Create(const std::string& key, const std::string& value) const {
  return Publish(key, value, true);
}

void RunBucket::PutUnanswered(const std::string& key, const std::string& value) const {
  natsConnection_Publish(link_.connection(), KeySubject(key).c_str(), value.data(), static_cast<int>(value.size()));
}

natsStatus RunBucket::Publish(const std::string& key, const std::string& value, bool only_if_new) const {
  jsPubOptions options;
  jsPubOptions_Init(&options);
  options.ExpectNoMessage = only_if_new;
  jsPubAck* ack = nullptr;
  const natsStatus s = js_Publish(&ack, link_.js(), KeySubject(key).c_str(), value.data(),
                                  static_cast<int>(value.size()), &options, nullptr);
  jsPubAck_Destroy(ack);
  return s;
}

}  // namespace flow
