#include "compiler/planner.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "compiler/stage_text.h"
#include "tests/compiler/hand_graph.h"

namespace flow {
namespace {

using testing::HandGraph;
using testing::Str;

// A file system of a few paths: files map to "" (readable) or their error,
// directories to "" (writable) or their error.
class FakeProbe : public PathProbe {
 public:
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> dirs;

  std::string ReadableFileError(const std::string& path) override {
    if (dirs.count(path)) return "Is a directory";
    auto it = files.find(path);
    return it == files.end() ? "No such file or directory" : it->second;
  }
  std::string WritableDirError(const std::string& dir) override {
    auto it = dirs.find(dir);
    if (it != dirs.end()) return it->second;
    return files.count(dir) ? "Not a directory" : "No such file or directory";
  }
  bool IsDirectory(const std::string& path) override { return dirs.count(path) > 0; }
  std::vector<std::string> Glob(const std::string& pattern) override {
    std::vector<std::string> matches;
    for (const auto& [path, error] : files)
      if (fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) matches.push_back(path);
    return matches;
  }
};

// Limits no plan here comes near, so each test trips only the one it lowers.
SystemLimits RoomyLimits() {
  SystemLimits limits;
  limits.max_processes = 127'431;
  limits.process_limit = ProcessLimit::kRlimitNproc;
  limits.current_user_processes = 212;
  limits.max_open_files = 1'048'576;
  limits.available_memory_bytes = int64_t{23} << 30;
  limits.online_cpus = 8;
  return limits;
}

// Every diagnostic as a line "line:col: message".
std::string Messages(const DiagnosticSink& sink) {
  std::string out;
  for (const Diagnostic& d : sink.diagnostics())
    out += std::to_string(d.loc.line) + ":" + std::to_string(d.loc.column) + ": " + d.message + "\n";
  return out;
}

std::string Lines(std::initializer_list<const char*> lines) {
  std::string out;
  for (const char* line : lines) out += std::string(line) + "\n";
  return out;
}

std::string Check(const StageGraph& graph, const SystemLimits& limits, PathProbe& probe,
                               bool* ok = nullptr) {
  DiagnosticSink sink(nullptr);
  bool passed = CheckPlanAgainst(BuildPlan(graph), graph, limits, probe, sink);
  CHECK(passed == !sink.has_errors());
  if (ok != nullptr) *ok = passed;
  return Messages(sink);
}

// read("access.log") | map | write("-")
HandGraph Linear() {
  HandGraph g;
  int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
  int map = g.Add("map", "map");
  int write = g.Add("write", "write", 1, {{"path", Str("-")}});
  g.Connect(read, map);
  g.Connect(map, write);
  return g;
}

FakeProbe ProbeWithAccessLog() {
  FakeProbe probe;
  probe.files["access.log"] = "";
  probe.dirs["."] = "";
  return probe;
}

TEST_SUITE("planner") {
  TEST_CASE("the plan as check prints it, without the machine's figures") {
    HandGraph g = testing::WhoisExample();
    g.node(4).options.queue_records = 1024;
    Plan plan = BuildPlan(g.graph);
    CHECK(FormatPlan(plan, g.graph, RoomyLimits(), {"whois.flow", false, {}}) == R"(stages
  stage     replicas  instances    source           waits for       arguments and options
  read             1  read#1       whois.flow:4:5   -               path="examples/data/access.log"
  map              1  map#1        whois.flow:4:5   1 end marker
  distinct         1  distinct#1   whois.flow:4:5   1 end marker
  whois           12  whois#1..12  whois.flow:8:5   1 end marker    server="127.0.0.1:4343", fields="netname,country" [ordered, timeout=5s]
  count_by         1  count_by#1   whois.flow:9:5   12 end markers  fs="\t" [queue=1024]
  sort             1  sort#1       whois.flow:10:5  1 end marker    key=2, numeric=true, reverse=true
  write            1  write#1      whois.flow:11:5  1 end marker    path="-"

queues
  from         to        records   bytes
  read      →  map         8,192   4 MiB
  map       →  distinct    8,192   4 MiB
  distinct  →  whois       8,192   4 MiB
  whois     →  count_by    1,024  16 MiB
  count_by  →  sort        8,192   4 MiB
  sort      →  write       8,192   4 MiB

processes     19 (18 stage instances, 1 supervisor)
queue memory  at most 36 MiB in 6 queues
open files    about 64 in the supervisor
)");
  }

  TEST_CASE("the plan with the limits it was checked against") {
    HandGraph g = Linear();
    Plan plan = BuildPlan(g.graph);
    SystemLimits limits = RoomyLimits();
    CHECK(FormatPlan(plan, g.graph, limits, {"", true, {}}) == R"(stages
  stage  replicas  instances  source  waits for     arguments and options
  read          1  read#1     1:5     -             path="access.log"
  map           1  map#1      2:5     1 end marker
  write         1  write#1    3:5     1 end marker  path="-"

queues
  from     to     records  bytes
  read  →  map      8,192  4 MiB
  map   →  write    8,192  4 MiB

processes     4 (3 stage instances, 1 supervisor)
queue memory  at most 8 MiB in 2 queues
open files    about 26 in the supervisor
limits        127,431 processes for this user (RLIMIT_NPROC, 212 running)
              1,048,576 open files (RLIMIT_NOFILE)
              23 GiB of memory available
              8 online CPUs
)");
    limits.max_processes = limits.max_open_files = limits.available_memory_bytes = SystemLimits::kUnlimited;
    limits.online_cpus = 1;
    std::string text = FormatPlan(plan, g.graph, limits, {"", true, {}});
    CHECK(text.substr(text.find("limits")) == R"(limits        no limit on processes
              no limit on open files
              available memory unknown
              1 online CPU
)");
  }

  TEST_CASE("the plan names auto replicas, child processes and long arguments") {
    // read(<a long path>) | sh("tr a-z A-Z") * auto [on_error=skip, retries=0] | discard
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("logs/2024/very/deep/directory/with/many/files/*.log.gz")}});
    int sh = g.Add("sh", "sh", 2, {{"cmd", Str("tr a-z A-Z")}});
    g.node(sh).replicas_auto = true;
    g.node(sh).options.on_error = OnError::kSkip;
    g.node(sh).options.retries = 0;
    g.node(sh).options.queue_bytes = 1 << 20;
    int discard = g.Add("discard", "discard");
    g.Connect(read, sh, 8192, 1 << 20);
    g.Connect(sh, discard);
    CHECK(FormatPlan(BuildPlan(g.graph), g.graph, RoomyLimits(), {"x.flow", false, {}}) == R"(stages
  stage    replicas  instances  source      waits for      arguments and options
  read            1  read#1     x.flow:1:5  -              path="logs/2024/very/deep/directory/with/many/…"
  sh       2 (auto)  sh#1..2    x.flow:2:5  1 end marker   cmd="tr a-z A-Z" [retries=0, on_error=skip, queue=1MiB]
  discard         1  discard#1  x.flow:3:5  2 end markers

queues
  from     to       records  bytes
  read  →  sh         8,192  1 MiB
  sh    →  discard    8,192  4 MiB

processes     7 (4 stage instances, 2 child processes of sh/exec, 1 supervisor)
queue memory  at most 5 MiB in 2 queues
open files    about 32 in the supervisor
)");
  }

  TEST_CASE("on a broker: where each stage runs, the edges as streams, the broker") {
    HandGraph g = Linear();
    g.node(1).replicas = 3;
    Plan plan = BuildPlan(g.graph);
    PlanFormatOptions options{"x.flow", false, BrokerPlacement{"nats://***@host:4222: answered", 64, {}, {}}};
    CHECK(FormatPlan(plan, g.graph, RoomyLimits(), options) == R"(stages
  stage  replicas  instances  runs on                source      waits for      arguments and options
  read          1  read#1     this machine (source)  x.flow:1:5  -              path="access.log"
  map           3  map#1..3   this machine           x.flow:2:5  1 end marker
  write         1  write#1    this machine (sink)    x.flow:3:5  3 end markers  path="-"

queues
  from     to     travels             holds
  read  →  map    on the broker  64 batches
  map   →  write  on the broker  64 batches

processes     7 (5 stage instances, 1 supervisor, 1 broker keeper)
runs on       this machine: all 5 stage instances (no `flowrun worker` takes any elsewhere yet)
queue memory  none here: 2 streams on the broker
broker        nats://***@host:4222: answered
open files    about 30 in the supervisor
)");
  }

  TEST_CASE("on a broker with workers: the summary counts the instances here and on the workers") {
    HandGraph g = Linear();
    g.node(1).replicas = 3;
    Plan plan = BuildPlan(g.graph);
    BrokerPlacement broker{"nats://host:4222: answered", 64, {}, {}, 2, 1};
    const std::string text = FormatPlan(plan, g.graph, RoomyLimits(), {"x.flow", false, broker});
    CHECK(text.find("\nruns on       3 stage instances on this machine, 2 on 1 worker\n") != std::string::npos);
  }

  TEST_CASE("on a broker: an edge between two stages that stay here is a shared-memory queue") {
    HandGraph g = Linear();
    Plan plan = BuildPlan(g.graph);
    BrokerPlacement broker{"nats://host:4222: answered", 64, {}, {true, false}};
    const std::string text = FormatPlan(plan, g.graph, RoomyLimits(), {"x.flow", false, broker});
    CHECK(text.find("  read  →  map    on the broker                    64 batches\n") != std::string::npos);
    CHECK(text.find("  map   →  write  in shared memory here  8,192 records, 4 MiB\n") != std::string::npos);
    CHECK(text.find("queue memory  at most 4 MiB in 1 queue here; 1 stream on the broker\n") != std::string::npos);
  }

  TEST_CASE("an empty plan") {
    StageGraph empty;
    Plan plan = BuildPlan(empty);
    CHECK(plan.errors.empty());
    CHECK(plan.total_processes == 1);
    CHECK(FormatPlan(plan, empty, RoomyLimits(), {"x.flow", false, {}}) == R"(stages
  stage  replicas  instances  source  waits for  arguments and options

queues
  none

processes     1 (0 stage instances, 1 supervisor)
queue memory  at most 0 B in 0 queues
open files    about 16 in the supervisor
)");
  }

  TEST_CASE("a linear pipeline: one process per stage, one marker per input") {
    HandGraph g = Linear();
    Plan plan = BuildPlan(g.graph);
    REQUIRE(plan.errors.empty());
    REQUIRE(plan.stages.size() == 3);
    CHECK(plan.stages[0].end_markers == 0);
    CHECK(plan.stages[1].end_markers == 1);
    CHECK(plan.stages[2].end_markers == 1);
    CHECK(plan.worker_processes == 3);
    CHECK(plan.total_processes == 4);
    CHECK(plan.queues == 2);
    CHECK(plan.queue_memory_bytes == 8 << 20);
    CHECK(plan.open_files == kSupervisorBaseFiles + 3 * kFilesPerProcess + 2 * kFilesPerQueue);
    FakeProbe probe = ProbeWithAccessLog();
    bool ok = false;
    CHECK(Check(g.graph, RoomyLimits(), probe, &ok) == "");
    CHECK(ok);
  }

  TEST_CASE("each instance waits for one marker from every producing instance") {
    // read | map * 4 | filter * 2 | write("-")
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int map = g.Add("map", "map", 4);
    int filter = g.Add("filter", "filter", 2);
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    g.Connect(read, map);
    g.Connect(map, filter);
    g.Connect(filter, write);
    Plan plan = BuildPlan(g.graph);
    REQUIRE(plan.errors.empty());
    CHECK(plan.stages[map].processes == 4);
    CHECK(plan.stages[map].end_markers == 1);
    CHECK(plan.stages[filter].end_markers == 4);
    CHECK(plan.stages[write].end_markers == 2);
    CHECK(plan.worker_processes == 8);
    CHECK(plan.total_processes == 9);
  }

  TEST_CASE("a merge waits for every instance of every pipeline it merges") {
    // merge(seq(10), lines("a") | map * 3) | write("-")
    HandGraph g;
    int seq = g.Add("seq", "seq", 1, {{"to", Value::Int(10)}});
    int lines = g.Add("lines", "lines", 1, {{"s", Str("a")}});
    int map = g.Add("map", "map", 3);
    int merge = g.Add("merge", "merge");
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    g.Connect(lines, map);
    g.Connect(seq, merge);
    g.Connect(map, merge);
    g.Connect(merge, write);
    Plan plan = BuildPlan(g.graph);
    REQUIRE(plan.errors.empty());
    CHECK(plan.stages[merge].end_markers == 4);
    CHECK(plan.stages[write].end_markers == 1);
    CHECK(plan.total_processes == 8);
  }

  TEST_CASE("a tee's branch and main line both end in sinks") {
    // read | tee(filter | write("a.txt")) | write("-")
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int tee = g.Add("tee", "tee");
    int filter = g.Add("filter", "filter");
    int branch_write = g.Add("write", "write", 1, {{"path", Str("a.txt")}});
    int write = g.Add("write", "write_2", 1, {{"path", Str("-")}});
    g.Connect(read, tee);
    g.Connect(tee, write);
    g.Connect(tee, filter);
    g.Connect(filter, branch_write);
    Plan plan = BuildPlan(g.graph);
    CHECK(plan.errors.empty());
    CHECK(plan.stages[filter].end_markers == 1);
    CHECK(plan.queues == 4);
    FakeProbe probe = ProbeWithAccessLog();
    CHECK(Check(g.graph, RoomyLimits(), probe) == "");
  }

  TEST_CASE("a stage no source reaches is refused by name") {
    HandGraph g = Linear();
    int orphan = g.Add("map", "map_2");
    int sink = g.Add("discard", "discard");
    g.Connect(orphan, sink);
    FakeProbe probe = ProbeWithAccessLog();
    CHECK(Check(g.graph, RoomyLimits(), probe) ==
          Lines({"4:5: stage 'map_2' is not reached from any source",
                                   "5:5: stage 'discard' is not reached from any source"}));
  }

  TEST_CASE("a stage that reaches no sink is refused by name") {
    // read | tee(map_2) | write("-"), the branch left without its sink.
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int tee = g.Add("tee", "tee");
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    int dead_end = g.Add("map", "map_2");
    g.Connect(read, tee);
    g.Connect(tee, write);
    g.Connect(tee, dead_end);
    FakeProbe probe = ProbeWithAccessLog();
    CHECK(Check(g.graph, RoomyLimits(), probe) ==
          Lines({"4:5: stage 'map_2' does not lead to any sink"}));
  }

  TEST_CASE("a cycle is refused, naming its stages in order") {
    // read | map -> filter -> map, filter -> write
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int map = g.Add("map", "map");
    int filter = g.Add("filter", "filter");
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    g.Connect(read, map);
    g.Connect(map, filter);
    g.Connect(filter, map);
    g.Connect(filter, write);
    FakeProbe probe = ProbeWithAccessLog();
    CHECK(Check(g.graph, RoomyLimits(), probe) ==
          Lines({"2:5: stages 'map' → 'filter' → 'map' form a cycle: none of them would "
                                   "ever see the end of its input"}));
  }

  TEST_CASE("a malformed graph is refused before any figure is checked") {
    HandGraph g = Linear();
    g.graph.edges[1].to = 7;
    SystemLimits tiny = RoomyLimits();
    tiny.max_processes = 1;
    FakeProbe probe;  // access.log is missing too: not reported
    CHECK(Check(g.graph, tiny, probe) ==
          Lines({"0:0: internal error: queue 1 joins a stage that does not exist"}));
  }

  TEST_CASE("too many processes: the figure and the limit that blocks") {
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int whois = g.Add("whois", "whois", 1'000'000, {{"server", Str("127.0.0.1:43")}}, 8);
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    g.Connect(read, whois);
    g.Connect(whois, write);
    FakeProbe probe = ProbeWithAccessLog();
    SystemLimits limits = RoomyLimits();
    limits.max_open_files = SystemLimits::kUnlimited;
    CHECK(Check(g.graph, limits, probe) ==
          Lines({"8:5: the plan needs 1,000,003 processes; the limit for this user is "
                                   "127,431 (RLIMIT_NPROC, 212 already running)"}));
  }

  TEST_CASE("the processes already running count against the limit") {
    HandGraph g = Linear();  // 4 processes
    FakeProbe probe = ProbeWithAccessLog();
    SystemLimits limits = RoomyLimits();
    limits.max_processes = 216;
    limits.current_user_processes = 212;
    CHECK(Check(g.graph, limits, probe) == "");
    limits.current_user_processes = 213;
    limits.process_limit = ProcessLimit::kThreadsMax;
    CHECK(Check(g.graph, limits, probe) ==
          Lines({"0:0: the plan needs 4 processes; the limit for the system is 216 "
                                   "(kernel.threads-max, 213 already running)"}));
    limits.max_processes = SystemLimits::kUnlimited;
    CHECK(Check(g.graph, limits, probe) == "");
  }

  TEST_CASE("sh and exec keep a child process per replica") {
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int sh = g.Add("sh", "sh", 3, {{"cmd", Str("tr a-z A-Z")}});
    int exec = g.Add("exec", "exec", 2, {{"cmd", Str("host {}")}});
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    g.Connect(read, sh);
    g.Connect(sh, exec);
    g.Connect(exec, write);
    Plan plan = BuildPlan(g.graph);
    CHECK(plan.stages[sh].child_processes == 3);
    CHECK(plan.stages[exec].child_processes == 2);
    CHECK(plan.child_processes == 5);
    CHECK(plan.total_processes == 7 + 5 + 1);
  }

  TEST_CASE("too many open files for the supervisor") {
    HandGraph g = Linear();  // 16 + 2 * 3 processes + 2 * 2 queues = 26
    FakeProbe probe = ProbeWithAccessLog();
    SystemLimits limits = RoomyLimits();
    limits.max_open_files = 26;
    CHECK(Check(g.graph, limits, probe) == "");
    limits.max_open_files = 25;
    CHECK(Check(g.graph, limits, probe) ==
          Lines({"0:0: the plan needs about 26 open files in the supervisor; the limit is 25 "
                                   "(RLIMIT_NOFILE; raise it with 'ulimit -n')"}));
  }

  TEST_CASE("queues that may hold more than the memory available") {
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("access.log")}});
    int map = g.Add("map", "map");
    int filter = g.Add("filter", "filter", 1, {}, 7);
    int write = g.Add("write", "write", 1, {{"path", Str("-")}});
    g.node(filter).options.queue_bytes = int64_t{32} << 30;
    g.Connect(read, map, 8192, int64_t{8} << 30);
    g.Connect(map, filter, 8192, int64_t{32} << 30);
    g.Connect(filter, write, 8192, int64_t{8} << 30);
    FakeProbe probe = ProbeWithAccessLog();
    SystemLimits limits = RoomyLimits();
    limits.available_memory_bytes = static_cast<int64_t>(23.1 * (int64_t{1} << 30));
    CHECK(Check(g.graph, limits, probe) ==
          Lines({"7:5: the queues may hold 48 GiB; only 23.1 GiB is available"}));
    limits.available_memory_bytes = SystemLimits::kUnlimited;
    CHECK(Check(g.graph, limits, probe) == "");
  }

  TEST_CASE("input files: missing, unreadable, stdin, globs") {
    FakeProbe probe;
    probe.files = {{"logs/a.gz", ""}, {"logs/b.gz", "Permission denied"}, {"logs/c.gz", "Permission denied"},
                   {"secret.log", "Permission denied"}, {"ok.log", ""}};
    probe.dirs["logs"] = "";
    CHECK(InputPathProblem("-", probe) == "");
    CHECK(InputPathProblem("ok.log", probe) == "");
    CHECK(InputPathProblem("x.log", probe) == "cannot read 'x.log': No such file or directory");
    CHECK(InputPathProblem("secret.log", probe) == "cannot read 'secret.log': Permission denied");
    CHECK(InputPathProblem("logs", probe) == "cannot read 'logs': Is a directory");
    CHECK(InputPathProblem("logs/*.gz", probe) ==
          "cannot read 'logs/b.gz' (a match of 'logs/*.gz'): Permission denied (1 more matches cannot be read)");
    CHECK(InputPathProblem("logs/a.*", probe) == "");
    CHECK(InputPathProblem("logs/*.zst", probe) == "no file matches 'logs/*.zst'");
    CHECK(InputPathProblem("logs/[ab].gz", probe) == "cannot read 'logs/b.gz' (a match of 'logs/[ab].gz'): "
                                                     "Permission denied");
  }

  TEST_CASE("output files: stdout, missing or unwritable directories") {
    FakeProbe probe;
    probe.dirs = {{".", ""}, {"out", ""}, {"locked", "Permission denied"}, {"/", ""}};
    probe.files["plain"] = "";
    CHECK(OutputPathProblem("-", probe) == "");
    CHECK(OutputPathProblem("r.tsv", probe) == "");
    CHECK(OutputPathProblem("out/r.tsv", probe) == "");
    CHECK(OutputPathProblem("/r.tsv", probe) == "");
    CHECK(OutputPathProblem("locked/r.tsv", probe) == "cannot write 'locked/r.tsv': directory 'locked': Permission denied");
    CHECK(OutputPathProblem("gone/r.tsv", probe) ==
          "cannot write 'gone/r.tsv': directory 'gone': No such file or directory");
    CHECK(OutputPathProblem("plain/r.tsv", probe) == "cannot write 'plain/r.tsv': directory 'plain': Not a directory");
    CHECK(OutputPathProblem("out", probe) == "cannot write 'out': it is a directory");
  }

  TEST_CASE("every path problem is reported at its stage, in one pass") {
    // read("logs/*.gz") | write("out/r.tsv"); read("x.log") | report("-")
    HandGraph g;
    int read = g.Add("read", "read", 1, {{"path", Str("logs/*.gz")}}, 3);
    int write = g.Add("write", "write", 1, {{"path", Str("out/r.tsv")}}, 4);
    int read_2 = g.Add("read", "read_2", 1, {{"path", Str("x.log")}}, 6);
    int report = g.Add("report", "report", 1, {{"path", Str("-")}}, 7);
    g.Connect(read, write);
    g.Connect(read_2, report);
    FakeProbe probe;
    probe.dirs["."] = "";
    CHECK(Check(g.graph, RoomyLimits(), probe) ==
          Lines({"3:5: no file matches 'logs/*.gz'",
                                   "4:5: cannot write 'out/r.tsv': directory 'out': No such file or directory",
                                   "6:5: cannot read 'x.log': No such file or directory"}));
  }

  TEST_CASE("the real probe on a temporary directory") {
    char dir_template[] = "/tmp/flowrun_planner_XXXXXX";
    REQUIRE(mkdtemp(dir_template) != nullptr);
    std::string dir = dir_template;
    std::string file = dir + "/a.log";
    int fd = open(file.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    close(fd);
    RealPathProbe probe;
    CHECK(probe.ReadableFileError(file) == "");
    CHECK(probe.ReadableFileError(dir + "/b.log") == "No such file or directory");
    CHECK(probe.ReadableFileError(dir) == "Is a directory");
    CHECK(probe.WritableDirError(dir) == "");
    CHECK(probe.WritableDirError(file) == "Not a directory");
    CHECK(probe.IsDirectory(dir));
    CHECK_FALSE(probe.IsDirectory(file));
    CHECK(probe.Glob(dir + "/*.log") == std::vector<std::string>{file});
    CHECK(probe.Glob(dir + "/*.gz").empty());
    CHECK(OutputPathProblem(dir + "/missing/out.txt", probe) ==
          "cannot write '" + dir + "/missing/out.txt': directory '" + dir + "/missing': No such file or directory");
    unlink(file.c_str());
    rmdir(dir.c_str());
  }

  TEST_CASE("the machine's limits are read") {
    SystemLimits limits = ReadSystemLimits();
    CHECK(limits.online_cpus >= 1);
    CHECK((limits.max_open_files == SystemLimits::kUnlimited || limits.max_open_files >= 3));
    CHECK((limits.available_memory_bytes == SystemLimits::kUnlimited || limits.available_memory_bytes > 0));
    if (limits.max_processes != SystemLimits::kUnlimited) {
      CHECK(limits.max_processes > 0);
      CHECK(limits.current_user_processes >= 1);  // this test runs in one
    }
  }

  TEST_CASE("counts and sizes for people") {
    CHECK(FormatCount(0) == "0");
    CHECK(FormatCount(999) == "999");
    CHECK(FormatCount(1000) == "1,000");
    CHECK(FormatCount(1'000'003) == "1,000,003");
    CHECK(FormatCount(-127'431) == "-127,431");
    CHECK(FormatCount(INT64_MIN) == "-9,223,372,036,854,775,808");
    CHECK(FormatBytes(0) == "0 B");
    CHECK(FormatBytes(1023) == "1023 B");
    CHECK(FormatBytes(1024) == "1 KiB");
    CHECK(FormatBytes(1536) == "1.5 KiB");
    CHECK(FormatBytes(16 << 20) == "16 MiB");
    CHECK(FormatBytes(int64_t{48} << 30) == "48 GiB");
    CHECK(FormatBytes(static_cast<int64_t>(23.1 * (int64_t{1} << 30))) == "23.1 GiB");
    CHECK(FormatBytes((int64_t{1} << 30) - 1) == "1 GiB");
    CHECK(FormatBytes((16 << 20) + 1) == "16 MiB");
    CHECK(FormatBytes(INT64_MAX) == "8 EiB");
    CHECK(CountOf(1, "end marker") == "1 end marker");
    CHECK(CountOf(12, "end marker") == "12 end markers");
    CHECK(CountOf(0, "queue") == "0 queues");
    CHECK(CountOf(1'000, "child process") == "1,000 child processes");
  }
}

}  // namespace
}  // namespace flow
