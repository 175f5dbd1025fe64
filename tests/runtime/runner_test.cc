// The supervisor side of a run with hand-built graphs and fake stages: real
// worker processes, real queues; sinks' files, failures, reports, stats.
#include "runtime/runner.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/progress_display.h"
#include "runtime/run_stats.h"
#include "runtime/shm_queue.h"
#include "tests/compiler/hand_graph.h"
#include "tests/runtime/fake_stages.h"
#include "tests/runtime/process_test_support.h"

namespace flow {
namespace {

namespace fs = std::filesystem;

// Writes every record and a newline to the file it was given.
class FileSink : public Stage {
 public:
  explicit FileSink(int fd) : fd_(fd) {}
  ~FileSink() override { close(fd_); }
  StageStatus OnRecord(const RecordView& record, Emitter&) override {
    std::string line = std::string(record.bytes) + "\n";
    testing::WriteAll(fd_, line.data(), line.size());
    return StageStatus::Ok();
  }

 private:
  int fd_;
};

struct Scratch {
  Scratch() {
    char pattern[] = "/tmp/flowrun-runner-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
  }
  ~Scratch() { fs::remove_all(dir); }
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(dir + "/" + name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir;
};

// seq-like source (records "a", "b", ...) -> map * replicas -> write(target).
struct Pipeline {
  testing::HandGraph g;
  int source, map, sink;
  std::vector<std::string> records;
  std::string fatal_on = "\x01never";
  std::string fail_on = "\x01never";
  std::string maker_error;  // "": the maker succeeds

  Pipeline(const std::string& target, int replicas) {
    source = g.Add("lines", "lines", 1, {{"s", testing::Str("")}});
    map = g.Add("map", "map", replicas);
    sink = g.Add("write", "write", 1, {{"path", testing::Str(target.c_str())}});
    g.Connect(source, map, 16, 4096);
    g.Connect(map, sink, 16, 4096);
  }

  StageMaker Maker() const {
    return [this](const StageInstance& what, std::string* error) -> std::unique_ptr<Stage> {
      if (what.node->id == source) return std::make_unique<testing::VectorSource>(records);
      if (what.node->id == map) {
        if (!maker_error.empty()) {
          *error = maker_error;
          return nullptr;
        }
        auto upper = std::make_unique<testing::UpperStage>();
        upper->fatal_on = fatal_on;
        upper->fail_on = fail_on;
        return upper;
      }
      int fd = open(what.temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0) {
        *error = "cannot create '" + what.temp_path + "'";
        return nullptr;
      }
      return std::make_unique<FileSink>(fd);
    };
  }
};

struct Outcome {
  int exit_code;
  std::string log;
};

Outcome Run(const Pipeline& p, RunOptions options = {}) {
  int log = testing::MemoryFile();
  options.program_path = "t.flow";
  options.log_fd = log;
  int code = RunGraph(p.g.graph, {}, p.Maker(), options);
  Outcome out{code, testing::ReadWhole(log)};
  close(log);
  return out;
}

std::vector<std::string> Letters(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i));
  return v;
}

TEST_SUITE("runner") {
  TEST_CASE("a run that succeeds renames the sink's file onto its target") {
    Scratch s;
    Pipeline p(s.dir + "/out.txt", 3);
    p.records = Letters(500);
    Outcome r = Run(p);
    CHECK(r.exit_code == 0);
    CHECK(r.log == "");
    CHECK(s.Files() == std::vector<std::string>{"out.txt"});
    std::vector<std::string> got;
    std::istringstream lines(s.Read("out.txt"));
    for (std::string line; std::getline(lines, line);) got.push_back(line);
    std::vector<std::string> want;
    for (const std::string& rec : p.records) {
      std::string up = rec;
      for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      want.push_back(up);
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    CHECK(got == want);
  }

  TEST_CASE("a failed run leaves the target untouched and no temporary file") {
    Scratch s;
    { std::ofstream(s.dir + "/out.txt") << "old\n"; }
    Pipeline p(s.dir + "/out.txt", 2);
    p.records = Letters(100);
    p.fatal_on = "c2";
    Outcome r = Run(p);
    CHECK(r.exit_code == 1);
    CHECK(r.log.find("t.flow:2:5: error: 'map#") != std::string::npos);
    CHECK(r.log.find("cannot write 'out.txt': No space left on device\n") != std::string::npos);
    CHECK(r.log.find("flowrun: error: worker 'map#") != std::string::npos);
    CHECK(s.Files() == std::vector<std::string>{"out.txt"});
    CHECK(s.Read("out.txt") == "old\n");
  }

  TEST_CASE("a stage that cannot be made fails the run with its reason") {
    Scratch s;
    Pipeline p(s.dir + "/out.txt", 1);
    p.records = Letters(10);
    p.maker_error = "stage 'map' is not written yet";
    Outcome r = Run(p);
    CHECK(r.exit_code == 1);
    CHECK(r.log.find("[map#1] t.flow:2:5: error: 'map#1': stage 'map' is not written yet\n") != std::string::npos);
    CHECK(s.Files().empty());
  }

  TEST_CASE("skipped records are counted across replicas and reported at the end") {
    Scratch s;
    Pipeline p(s.dir + "/out.txt", 4);
    p.records = std::vector<std::string>(40, "bad");
    p.records.push_back("good");
    p.fail_on = "bad";
    p.g.node(p.map).options.on_error = OnError::kSkip;
    Outcome r = Run(p);
    CHECK(r.exit_code == 0);
    CHECK(r.log == "flowrun: 'map' skipped 40 records that failed ([on_error = skip])\n");
    CHECK(s.Read("out.txt") == "GOOD\n");
  }

  TEST_CASE("dead_letter without --dead-letter is refused before anything starts") {
    Scratch s;
    Pipeline p(s.dir + "/out.txt", 1);
    p.g.node(p.map).options.on_error = OnError::kDeadLetter;
    Outcome r = Run(p);
    CHECK(r.exit_code == 2);
    CHECK(r.log == "flowrun: error: stage 'map' has [on_error = dead_letter]: give --dead-letter PATH\n");
    CHECK(s.Files().empty());
  }

  TEST_CASE("dead letters land in the file and are reported") {
    Scratch s;
    Pipeline p(s.dir + "/out.txt", 2);
    p.records = {"x", "bad", "y", "bad"};
    p.fail_on = "bad";
    p.g.node(p.map).options.on_error = OnError::kDeadLetter;
    RunOptions options;
    options.dead_letter_path = s.dir + "/dead.txt";
    Outcome r = Run(p, options);
    CHECK(r.exit_code == 0);
    CHECK(r.log == "flowrun: 'map' wrote 2 records that failed to '" + options.dead_letter_path +
                       "' ([on_error = dead_letter])\n");
    CHECK(s.Read("dead.txt") == "t.flow:1:9: cannot convert 'bad' to int\tbad\n"
                                "t.flow:1:9: cannot convert 'bad' to int\tbad\n");
  }

  TEST_CASE("--stats writes every instance's counters") {
    Scratch s;
    Pipeline p(s.dir + "/out.txt", 2);
    p.records = Letters(30);
    RunOptions options;
    options.stats_path = s.dir + "/stats.json";
    Outcome r = Run(p, options);
    CHECK(r.exit_code == 0);
    std::string json = s.Read("stats.json");
    CHECK(json.find("{\"label\": \"map\", \"stage\": \"map\", \"replicas\": 2, \"instances\": [") != std::string::npos);
    CHECK(json.find("{\"instance\": 1, \"records_in\": 0, \"bytes_in\": 0, \"records_out\": 30,") !=
          std::string::npos);  // the source
    CHECK(json.find("\"label\": \"write\"") != std::string::npos);
  }

  TEST_CASE("the sink's temporary name is hidden, in the target's directory") {
    const std::string pid = std::to_string(getpid());
    CHECK(SinkTempPath("out.txt", 4) == ".out.txt.flowrun-" + pid + "-4.tmp");
    CHECK(SinkTempPath("/a/b/out.txt", 0) == "/a/b/.out.txt.flowrun-" + pid + "-0.tmp");
  }

  TEST_CASE("StatsJson and the progress lines read the counters") {
    testing::HandGraph g;
    int a = g.Add("seq", "seq");
    int b = g.Add("map", "map_2", 2);
    g.Connect(a, b, 100, 1000);
    std::string error;
    auto stats = RunStats::Create(3, &error);
    REQUIRE(stats != nullptr);
    stats->at(0).records_out = 1500;
    stats->at(1).records_in = 1000;
    stats->at(2).records_in = 500;
    stats->at(1).busy_ns = 500'000'000;
    CHECK(StatsJson(g.graph, *stats, 2'000'000'000) ==
          "{\n  \"elapsed_seconds\": 2.000000,\n  \"stages\": [\n"
          "    {\"label\": \"seq\", \"stage\": \"seq\", \"replicas\": 1, \"instances\": [\n"
          "        {\"instance\": 1, \"records_in\": 0, \"bytes_in\": 0, \"records_out\": 1500, \"bytes_out\": 0, "
          "\"busy_seconds\": 0.000000, \"blocked_on_input_seconds\": 0.000000, \"blocked_on_output_seconds\": "
          "0.000000, \"skipped\": 0, \"dead_letters\": 0}\n"
          "    ]},\n"
          "    {\"label\": \"map_2\", \"stage\": \"map\", \"replicas\": 2, \"instances\": [\n"
          "        {\"instance\": 1, \"records_in\": 1000, \"bytes_in\": 0, \"records_out\": 0, \"bytes_out\": 0, "
          "\"busy_seconds\": 0.500000, \"blocked_on_input_seconds\": 0.000000, \"blocked_on_output_seconds\": "
          "0.000000, \"skipped\": 0, \"dead_letters\": 0},\n"
          "        {\"instance\": 2, \"records_in\": 500, \"bytes_in\": 0, \"records_out\": 0, \"bytes_out\": 0, "
          "\"busy_seconds\": 0.000000, \"blocked_on_input_seconds\": 0.000000, \"blocked_on_output_seconds\": "
          "0.000000, \"skipped\": 0, \"dead_letters\": 0}\n"
          "    ]}\n  ]\n}\n");

    auto queue = ShmQueue::Create({1, 2, 100, 1000}, &error);
    REQUIRE(queue != nullptr);
    RecordBatch batch;
    for (int i = 0; i < 25; ++i) batch.Add("x", i + 1, i + 1);
    REQUIRE(queue->Push(0, batch) == QueueStatus::kOk);  // 25% of the records, 525 of 1000 bytes
    ProgressDisplay display(g.graph, *stats, {queue.get()}, -1);
    std::vector<std::string> lines = display.Lines(0.5);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "seq   x1          3,000 rec/s   in             0   out         1,500   queue     -   busy    0%");
    CHECK(lines[1] == "map_2 x2          3,000 rec/s   in         1,500   out             0   queue   53%   busy   50%");
    stats->at(2).records_in = 1000;
    lines = display.Lines(1.0);
    CHECK(lines[1] == "map_2 x2            500 rec/s   in         2,000   out             0   queue   53%   busy    0%");
    // An instance added on a worker that joined the run: counted from its
    // first snapshot, the latest one replacing the one before.
    display.StoreAdded(1, 2, "100 0 0 0 0 0 0 0 0");
    display.StoreAdded(1, 2, "400 0 0 0 1000000000 0 0 0 0");
    lines = display.Lines(1.0);
    CHECK(lines[1] == "map_2 x3            400 rec/s   in         2,400   out             0   queue   53%   busy   33%");
  }
}

}  // namespace
}  // namespace flow
