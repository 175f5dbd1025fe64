// exec("cmd {}"): runs a command per record (stdlib/command_template.h
// says how the record gets into it) and emits each line of its stdout as a
// record, with the input record's NR. Lines split as lines(s) splits them:
// "a\nb\n" and "a\nb" are both "a", "b"; no output emits nothing.
//
// The output is held until the command has exited 0 and only then emitted,
// so a record that fails (non-zero exit, death by a signal: a record error)
// emits nothing, and a record retried after its worker died never emits
// twice. The price: one command's whole output is held in memory.
#include "stdlib/child_process.h"
#include "stdlib/command_template.h"
#include "stdlib/record_split.h"
#include "stdlib/stages.h"

namespace flow {
namespace {

class ExecStage : public Stage {
 public:
  explicit ExecStage(CommandTemplate command) : command_(std::move(command)) {
    if (command_.direct()) spawn_.program = FindProgram(command_.program());
  }

  StageStatus OnRecord(const RecordView& record, Emitter& out) override {
    std::string error;
    if (!command_.Expand(record.bytes, &argv_, &error)) return StageStatus::RecordError(error);
    ChildProcess child;
    if (!child.Start(argv_, spawn_, &error)) return StageStatus::RecordError(error);
    output_.clear();
    const bool read_all = child.ReadStdoutToEnd(&output_, &error);
    // Closed before waiting: a command still writing after a failed read
    // gets EPIPE (or SIGPIPE) instead of blocking the wait forever.
    child.CloseStdout();
    ExitStatus status;
    std::string wait_error;
    if (!child.Wait(&status, &wait_error)) return StageStatus::Fatal(wait_error);
    if (!read_all) return StageStatus::Fatal(error);
    if (!status.Succeeded()) return StageStatus::RecordError(DescribeCommandExit(status));
    ForEachRecord(output_, "\n", [&](std::string_view line) { return out.Emit(line, record.nr); });
    return StageStatus::Ok();
  }

 private:
  CommandTemplate command_;
  SpawnOptions spawn_;  // its program found in PATH once, when direct()
  std::vector<std::string> argv_;  // reused: its strings keep their memory
  std::string output_;
};

}  // namespace

std::unique_ptr<Stage> MakeExecStage(std::string command_template, std::string* error) {
  CommandTemplate command;
  if (!command.Parse(command_template, error)) return nullptr;
  return std::make_unique<ExecStage>(std::move(command));
}

}  // namespace flow
