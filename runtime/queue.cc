#include "runtime/queue.h"

#include <cassert>

namespace flow {

bool RecordBatch::Add(std::string_view bytes, int64_t nr, int64_t seq) {
  if (bytes.size() > kMaxRecordBytes) return false;
  nr_.push_back(nr);
  seq_.push_back(seq);
  data_.append(bytes);
  end_.push_back(data_.size());
  return true;
}

void RecordBatch::Clear() {
  nr_.clear();
  seq_.clear();
  end_.clear();
  data_.clear();
}

RecordView RecordBatch::operator[](size_t i) const {
  assert(i < size() && "record index out of range");
  uint64_t b = begin(i);
  return {std::string_view(data_.data() + b, end_[i] - b), nr_[i], seq_[i]};
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

RecordView Lease::operator[](size_t i) const {
  assert(i < size() && "record index out of range");
  // The view is made on each access, never stored: a moved lease keeps
  // working even when its own record sat in the string's inline buffer.
  if (owns_record_) return {record_, record_nr_, record_seq_};
  size_t k = first_ + i;
  uint32_t b = k == 0 ? 0 : ends_[k - 1];
  return {std::string_view(data_ + b, ends_[k] - b), nrs_[k], seqs_[k]};
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
