#include "runtime/nats_subscription.h"

#include <nats/nats.h>

#include "runtime/nats_run.h"

namespace flow {

NatsSubscription::NatsSubscription(NatsLink& link, const std::string& subject) : link_(link) {
  if (natsConnection_SubscribeSync(&sub_, link_.connection(), subject.c_str()) != NATS_OK) {
    sub_ = nullptr;
    error_ = nats_GetLastError(nullptr);
    return;
  }
  natsSubscription_SetPendingLimits(sub_, -1, -1);
}

NatsSubscription::~NatsSubscription() {
  if (sub_ != nullptr) link_.Retire(sub_);  // not destroyed at once: NatsLink::Retire says why
}

void NatsSubscription::Flush() {
  if (sub_ != nullptr) natsConnection_FlushTimeout(link_.connection(), link_.api_wait_ms());
}

bool NatsSubscription::Next(std::string* data, int64_t wait_ms) {
  std::string ignored;
  return Next(data, &ignored, wait_ms);
}

bool NatsSubscription::Next(std::string* data, std::string* subject, int64_t wait_ms) {
  natsMsg* msg = nullptr;
  if (sub_ == nullptr || natsSubscription_NextMsg(&msg, sub_, wait_ms) != NATS_OK) return false;
  data->assign(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  subject->assign(natsMsg_GetSubject(msg));
  natsMsg_Destroy(msg);
  return true;
}

}  // namespace flow
