#include "runtime/broker_board.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "runtime/placement.h"
#include "runtime/run_description.h"

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
    *error = JetStreamApiError(link, "cannot open the bucket '" + name + "'", s);
    return nullptr;
  }
  return std::unique_ptr<BrokerBoard>(new BrokerBoard(link, kv));
}

BrokerBoard::~BrokerBoard() {
  if (watcher_ != nullptr) link_.Retire(watcher_);  // not destroyed at once: NatsLink::Retire says why
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

std::vector<BoardEntry> BrokerBoard::Entries() {
  std::vector<BoardEntry> entries;
  // One watch that delivers every value there is and then a null entry:
  // one consumer made and dropped, where listing the keys and getting
  // each would cost a request per key (on the critical path of a run's
  // start, LiveWorkers).
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.IgnoreDeletes = true;
  kvWatcher* watcher = nullptr;
  if (kvStore_WatchAll(&watcher, kv_, &options) != NATS_OK) return entries;
  for (;;) {
    kvEntry* entry = nullptr;
    if (kvWatcher_Next(&entry, watcher, link_.api_wait_ms()) != NATS_OK || entry == nullptr) break;
    const char* data = static_cast<const char*>(kvEntry_Value(entry));
    entries.push_back({kvEntry_Key(entry), std::string(data != nullptr ? data : "", static_cast<size_t>(kvEntry_ValueLen(entry))),
                       kvEntry_Created(entry)});
    kvEntry_Destroy(entry);
  }
  link_.Retire(watcher);  // not destroyed at once: NatsLink::Retire says why
  return entries;
}

bool BrokerBoard::Watch(const std::string& pattern, std::string* error) {
  kvWatchOptions options;
  kvWatchOptions_Init(&options);
  options.IgnoreDeletes = true;
  const natsStatus s = kvStore_Watch(&watcher_, kv_, pattern.c_str(), &options);
  if (s != NATS_OK) *error = link_.Describe("cannot watch '" + pattern + "' on the broker", s);
  return s == NATS_OK;
}

bool BrokerBoard::Next(int64_t timeout_ms, std::string* key, std::string* value, int64_t* created_ns) {
  kvEntry* entry = nullptr;
  // A null entry with NATS_OK marks the end of the values that were there
  // when the watch began; the next call waits for new ones.
  if (kvWatcher_Next(&entry, watcher_, timeout_ms) != NATS_OK || entry == nullptr) return false;
  const bool put = kvEntry_Operation(entry) == kvOp_Put;
  *key = kvEntry_Key(entry);
  const char* data = static_cast<const char*>(kvEntry_Value(entry));
  value->assign(data != nullptr ? data : "", static_cast<size_t>(kvEntry_ValueLen(entry)));
  if (created_ns != nullptr) *created_ns = kvEntry_Created(entry);
  kvEntry_Destroy(entry);
  return put;
}

std::string JobOffer(int taken, const std::string& description, const std::string& placement, bool made) {
  Fields fields = {{"taken", std::to_string(taken)}, {"job", description}, {"place", placement}};
  if (made) fields.push_back({"made", "1"});
  return EncodeFields(fields);
}

bool ReadJobOffer(const std::string& value, int* taken, std::string* description, std::string* placement,
                  bool* made) {
  Fields fields;
  if (!DecodeFields(value, &fields)) return false;
  bool has_taken = false, has_job = false, has_place = false;
  if (made != nullptr) *made = false;  // an offer without the field: the instances look
  for (const auto& [name, text] : fields) {
    if (name == "made" && made != nullptr) *made = text == "1";
    if (name == "taken") {
      has_taken = true;
      if (taken != nullptr) *taken = std::atoi(text.c_str());
    } else if (name == "job") {
      has_job = true;
      if (description != nullptr) *description = text;
    } else if (name == "place") {
      has_place = true;
      if (placement != nullptr) *placement = text;
    }
  }
  return has_taken && has_job && has_place;
}

std::string OfferTooLarge(size_t offer_bytes, int64_t max_payload, const std::string& shown_url) {
  if (max_payload <= 0 || static_cast<int64_t>(offer_bytes) <= max_payload) return "";
  return "the program and its parameters take " + std::to_string(offer_bytes) +
         " bytes to send to the workers, more than the broker at '" + shown_url + "' takes in one message (" +
         std::to_string(max_payload) + " bytes): raise max_payload in its configuration, or run without --broker";
}

std::string JobStop() { return EncodeFields({{"stop", "1"}}); }

bool IsJobStop(const std::string& value) {
  Fields fields;
  return DecodeFields(value, &fields) && fields.size() == 1 && fields[0].first == "stop";
}

std::vector<WorkerOffer> LiveWorkers(BrokerBoard& workers) {
  std::vector<WorkerOffer> live;
  const int64_t now = WallClockNanos();
  const std::vector<BoardEntry> entries = workers.Entries();
  for (const BoardEntry& e : entries) {
    if (e.key.rfind("w.", 0) != 0 || e.created_ns + kWorkerStaleNs < now) continue;
    WorkerOffer offer;
    offer.id = e.key.substr(2);
    std::istringstream fields(e.value);
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
  for (const BoardEntry& e : entries) {
    const size_t dot = e.key.find('.', 4);
    if (e.key.rfind("job.", 0) != 0 || dot == std::string::npos) continue;
    int taken = 0;
    if (!ReadJobOffer(e.value, &taken, nullptr, nullptr)) taken = std::atoi(e.value.c_str());
    for (WorkerOffer& offer : live) {
      if (offer.id == e.key.substr(4, dot - 4)) offer.slots = std::max(0, offer.slots - taken);
    }
  }
  return live;
}

}  // namespace flow
