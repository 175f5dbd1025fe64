#include "runtime/queue.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace flow {

void RecordBatch::Grow(size_t bytes) {
  if (size_ == records_room_) {
    const size_t room = std::max<size_t>(64, records_room_ * 2);
    auto nr = std::make_unique<int64_t[]>(room);
    auto seq = std::make_unique<int64_t[]>(room);
    auto end = std::make_unique<uint64_t[]>(room);
    if (size_ > 0) {
      std::memcpy(nr.get(), nr_.get(), size_ * sizeof(int64_t));
      std::memcpy(seq.get(), seq_.get(), size_ * sizeof(int64_t));
      std::memcpy(end.get(), end_.get(), size_ * sizeof(uint64_t));
    }
    nr_ = std::move(nr);
    seq_ = std::move(seq);
    end_ = std::move(end);
    records_room_ = room;
  }
  if (bytes > data_room_ - data_size_ || !data_) {  // data() is never null, even for empty records
    const uint64_t room = std::max<uint64_t>({uint64_t{4096}, data_room_ * 2, data_size_ + bytes});
    auto data = std::make_unique_for_overwrite<char[]>(room);
    if (data_size_ > 0) std::memcpy(data.get(), data_.get(), data_size_);
    data_ = std::move(data);
    data_room_ = room;
  }
}

RecordView RecordBatch::operator[](size_t i) const {
  assert(i < size() && "record index out of range");
  uint64_t b = begin(i);
  return {std::string_view(data_.get() + b, end_[i] - b), nr_[i], seq_[i]};
}

Lease Lease::OfColumns(uint64_t ticket, uint32_t attempt, uint32_t first, uint32_t count,
                       const int64_t* nrs, const int64_t* seqs, const uint32_t* ends,
                       const char* data) {
  assert(first <= count && "a lease starts inside its batch");
  Lease lease;
  lease.ticket_ = ticket;
  lease.attempt_ = attempt;
  lease.first_ = first;
  lease.count_ = count;
  lease.nrs_ = nrs;
  lease.seqs_ = seqs;
  lease.ends_ = ends;
  lease.data_ = data;
  return lease;
}

Lease Lease::OfRecord(uint64_t ticket, uint32_t attempt, std::string bytes, int64_t nr,
                      int64_t seq) {
  Lease lease;
  lease.ticket_ = ticket;
  lease.attempt_ = attempt;
  lease.count_ = 1;
  lease.owns_record_ = true;
  lease.record_ = std::move(bytes);
  lease.record_nr_ = nr;
  lease.record_seq_ = seq;
  return lease;
}

const char* QueueStatusName(QueueStatus status) {
  switch (status) {
    case QueueStatus::kOk: return "ok";
    case QueueStatus::kEnd: return "end";
    case QueueStatus::kEmpty: return "empty";
    case QueueStatus::kCancelled: return "cancelled";
    case QueueStatus::kClosed: return "closed";
  }
  return "?";
}

}  // namespace flow
