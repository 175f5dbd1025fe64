// whois(server = "host:port"[, fields = "a,b"]): one RFC 3912 query per
// record, the record being the query; emits `query\tvalue…`, a value per
// field in the order of `fields`, "" where the answer lacks it. The network
// side is stdlib/whois_client.h. A query that fails (refused, reset, no
// answer within the stage's [timeout = d], or 10 s without one) is a record
// error naming the server: the worker applies [retries] and [on_error].
#include "stdlib/stages.h"
#include "stdlib/whois_client.h"

namespace flow {
namespace {

class WhoisStage : public Stage {
 public:
  explicit WhoisStage(WhoisSpec spec) : fields_(std::move(spec.fields)), client_(spec.server, spec.timeout_ns) {}

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    std::string problem = WhoisQueryProblem(record.bytes);
    if (!problem.empty()) return StageStatus::RecordError(std::move(problem));
    std::string error;
    if (!client_.Query(record.bytes, &answer_, &error)) return StageStatus::RecordError(std::move(error));
    line_.assign(record.bytes);
    for (const std::string& value : WhoisFieldValues(answer_, fields_)) {
      line_ += '\t';
      line_ += value;
    }
    out.Emit(line_, record.nr);
    return StageStatus::Ok();
  }

 private:
  std::vector<std::string> fields_;
  WhoisClient client_;
  std::string answer_;  // reused between records
  std::string line_;
};

}  // namespace

std::unique_ptr<Stage> MakeWhoisStage(WhoisSpec spec, std::string* error) {
  std::string host;
  std::string port;
  if (!SplitWhoisServer(spec.server, &host, &port, error)) return nullptr;
  for (const std::string& field : spec.fields) {
    if (field.find_first_not_of(" \t") == std::string::npos) {
      *error = "whois fields must be names separated by commas, not '" + field + "'";
      return nullptr;
    }
  }
  return std::make_unique<WhoisStage>(std::move(spec));
}

}  // namespace flow
