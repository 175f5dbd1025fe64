#include "runtime/broker_board.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "runtime/placement.h"

namespace flow {

int64_t WallClockNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<BrokerBoard> BrokerBoard::Open(NatsLink& link, const std::string& name, bool create, int64_t ttl_ns,
                                               std::string* error) {
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, link.js(), name.c_str());
  if (s != NATS_OK && create) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = name.c_str();
    cfg.History = 1;
    cfg.TTL = ttl_ns;
    cfg.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&kv, link.js(), &cfg);
    // Another process made it at the same moment: use theirs.
    if (s != NATS_OK) s = js_KeyValue(&kv, link.js(), name.c_str());
  }
  if (s != NATS_OK) {
    *error = link.Describe("cannot open the bucket '" + name + "'", s);
    return nullptr;
  }
  return std::unique_ptr<BrokerBoard>(new BrokerBoard(link, kv));
}

BrokerBoard::~BrokerBoard() {
  if (watcher_ != nullptr) kvWatcher_Destroy(watcher_);
  kvStore_Destroy(kv_);
}

bool BrokerBoard::Put(const std::string& key, const std::string& value, std::string* error) {
  const natsStatus s = kvStore_Put(nullptr, kv_, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) *error = link_.Describe("cannot write '" + key + "' on the broker", s);
  return s == NATS_OK;
}

bool BrokerBoard::Get(const std::string& key, std::string* value, int64_t* created_ns) {
  kvEntry* entry = nullptr;
  if (kvStore_Get(&entry, kv_, key.c_str()) != NATS_OK) return false;
  const char* data = static_cast<const char*>(kvEntry_Value(entry));
  value->assign(data != nullptr ? data : "", static_cast<size_t>(kvEntry_ValueLen(entry)));
  if (created_ns != nullptr) *created_ns = kvEntry_Created(entry);
  kvEntry_Destroy(entry);
  return true;
}

bool BrokerBoard::Delete(const std::string& key, std::string* error) {
  const natsStatus s = kvStore_Delete(kv_, key.c_str());
  if (s != NATS_OK) *error = link_.Describe("cannot remove '" + key + "' from the broker", s);
  return s == NATS_OK;
}

std::vector<std::string> BrokerBoard::Keys(const std::string& prefix) {
  std::vector<std::string> keys;
  kvKeysList list = {};
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.Timeout = link_.api_wait_ms();
  if (kvStore_Keys(&list, kv_, &options) != NATS_OK) return keys;  // NATS_NOT_FOUND: no key at all
  for (int i = 0; i < list.Count; ++i) {
    if (std::string(list.Keys[i]).compare(0, prefix.size(), prefix) == 0) keys.emplace_back(list.Keys[i]);
  }
  kvKeysList_Destroy(&list);
  return keys;
}

bool BrokerBoard::Watch(const std::string& pattern, std::string* error) {
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.IgnoreDeletes = true;
  const natsStatus s = kvStore_Watch(&watcher_, kv_, pattern.c_str(), &options);
  if (s != NATS_OK) *error = link_.Describe("cannot watch '" + pattern + "' on the broker", s);
  return s == NATS_OK;
}

bool BrokerBoard::Next(int64_t timeout_ms, std::string* key, std::string* value) {
  kvEntry* entry = nullptr;
  // A null entry with NATS_OK marks the end of the values that were there
  // when the watch began; the next call waits for new ones.
  if (kvWatcher_Next(&entry, watcher_, timeout_ms) != NATS_OK || entry == nullptr) return false;
  const bool put = kvEntry_Operation(entry) == kvOp_Put;
  *key = kvEntry_Key(entry);
  const char* data = static_cast<const char*>(kvEntry_Value(entry));
  value->assign(data != nullptr ? data : "", static_cast<size_t>(kvEntry_ValueLen(entry)));
  kvEntry_Destroy(entry);
  return put;
}

std::vector<WorkerOffer> LiveWorkers(BrokerBoard& workers) {
  std::vector<WorkerOffer> live;
  const int64_t now = WallClockNanos();
  for (const std::string& key : workers.Keys("w.")) {
    std::string value;
    int64_t created = 0;
    if (!workers.Get(key, &value, &created) || created + kWorkerStaleNs < now) continue;
    WorkerOffer offer;
    offer.id = key.substr(2);
    std::istringstream fields(value);
    std::string field;
    while (fields >> field) {
      if (field.rfind("slots=", 0) == 0) offer.slots = std::atoi(field.c_str() + 6);
      if (field.rfind("host=", 0) == 0) offer.host = field.substr(5);
    }
    if (offer.slots > 0) live.push_back(offer);
  }
  // Slots that other runs have taken: each run's keeper puts a job key
  // for each worker it placed instances on, with their number, and the
  // key goes when the part ends. Best effort: two runs that place at the
  // same moment may both count the same slots.
  for (const std::string& key : workers.Keys("job.")) {
    const size_t dot = key.find('.', 4);
    std::string value;
    if (dot == std::string::npos || !workers.Get(key, &value)) continue;
    for (WorkerOffer& offer : live) {
      if (offer.id == key.substr(4, dot - 4)) offer.slots = std::max(0, offer.slots - std::atoi(value.c_str()));
    }
  }
  return live;
}

}  // namespace flow
