// Where a run's instances go on a broker, and how `* auto` grows with a
// worker that joins the run (runtime/placement.h).
#include "runtime/placement.h"

#include <doctest/doctest.h>

namespace flow {
namespace {

// seq | map * auto | exec * 3 | sleep * auto [ordered] | write, with
// `auto_replicas` for the `* auto` stages.
StageGraph Chain(int auto_replicas) {
  StageGraph graph;
  const char* names[] = {"seq", "map", "exec", "sleep", "write"};
  for (int n = 0; n < 5; ++n) {
    StageNode node;
    node.id = n;
    node.name = node.label = names[n];
    if (n > 0) node.inputs = {n - 1};
    if (n < 4) node.outputs = {n};
    graph.nodes.push_back(node);
  }
  for (int e = 0; e < 4; ++e) graph.edges.push_back({e, e, e + 1});
  graph.nodes[1].replicas = graph.nodes[3].replicas = auto_replicas;
  graph.nodes[1].replicas_auto = graph.nodes[3].replicas_auto = true;
  graph.nodes[2].replicas = 3;
  graph.nodes[3].options.ordered = true;
  return graph;
}

// A chain of stages named `names`, one replica each.
StageGraph Line(const std::vector<std::string>& names) {
  StageGraph graph;
  const int count = static_cast<int>(names.size());
  for (int n = 0; n < count; ++n) {
    StageNode node;
    node.id = n;
    node.name = node.label = names[static_cast<size_t>(n)];
    if (n > 0) node.inputs = {n - 1};
    if (n < count - 1) node.outputs = {n};
    graph.nodes.push_back(node);
  }
  for (int e = 0; e < count - 1; ++e) graph.edges.push_back({e, e, e + 1});
  return graph;
}

TEST_SUITE("placement") {
  TEST_CASE("a worker offers the slots the process limits hold, and says which limit when fewer") {
    SystemLimits limits;
    std::string why;
    CHECK(SlotsWithinLimits(12, limits, &why) == 12);  // no limit known
    CHECK(why.empty());
    limits.max_processes = 1000;
    limits.current_user_processes = 100;
    CHECK(SlotsWithinLimits(12, limits, &why) == 12);
    CHECK(why.empty());
    // 1000 - 100 - 3 (a part) - 11 (the worker) = 886: 80 instances of 11 tasks.
    CHECK(SlotsWithinLimits(100, limits, &why) == 80);
    CHECK(why == "the limit for this user (RLIMIT_NPROC = 1000, 100 tasks running) leaves room for 80 instances "
                 "of about 11 tasks each");
    limits.process_limit = ProcessLimit::kCgroupPids;
    limits.max_processes = 20;
    limits.current_user_processes = 1;
    CHECK(SlotsWithinLimits(4, limits, &why) == 0);
    CHECK(why == "the limit for this cgroup (pids.max = 20, 1 task running) leaves room for 0 instances of about 11 "
                 "tasks each");
  }

  TEST_CASE("the tasks of the instances left on the origin: about 11 with an edge on the broker, 1 without") {
    // seq | map * 4 | sh | sh | write: the sh's edge between them is local.
    StageGraph graph = Line({"seq", "map", "sh", "sh", "write"});
    graph.nodes[1].replicas = 4;
    const std::vector<bool> on_broker = EdgesOnBroker(graph);
    const std::vector<WorkerOffer> one_slot = {{"w1", "host", 1}};
    const Placement all_here = PlaceInstances(graph, {});
    const Placement one_away = PlaceInstances(graph, one_slot);
    // seq 11, map 4 x 11, sh 11 (its input on the broker), sh 1, write 1.
    CHECK(OriginTasks(graph, all_here, on_broker, false) == 11 + 44 + 11 + 1 + 1);
    CHECK(OriginTasks(graph, one_away, on_broker, false) == 11 + 33 + 11 + 1 + 1);
    CHECK(OriginTasks(graph, one_away, on_broker, true) == 33);  // map's only: the others started already
    SystemLimits limits;
    CHECK(OriginTasksProblem(1'000'000, limits).empty());  // no limit known
    limits.max_processes = 100;
    limits.current_user_processes = 23;
    CHECK(OriginTasksProblem(77, limits).empty());
    CHECK(OriginTasksProblem(78, limits) ==
          "the run needs about 78 more tasks on this machine (an instance with an edge on the broker takes about "
          "11: its threads count); the limit for this user is 100 (RLIMIT_NPROC, 23 tasks running): raise it, use "
          "fewer replicas, or start `flowrun worker`s to take instances elsewhere");
  }

  TEST_CASE("an edge between two stages that stay on the origin is not on the broker") {
    // `sh` keeps state: it stays on the origin, and is never replaced.
    CHECK(EdgesOnBroker(Line({"seq", "map", "sh", "sh", "write"})) == std::vector<bool>{true, true, false, false});
    CHECK(EdgesOnBroker(Line({"seq", "write"})) == std::vector<bool>{false});
    CHECK(EdgesOnBroker(Line({"seq", "map", "write"})) == std::vector<bool>{true, true});

    // A stage kept on the origin by its dead letters may be replaced: its
    // edges are local only if all of them are.
    StageGraph fed_locally = Line({"seq", "map", "write"});
    fed_locally.nodes[1].options.on_error = OnError::kDeadLetter;
    CHECK(EdgesOnBroker(fed_locally) == std::vector<bool>{false, false});
    StageGraph fed_by_the_broker = Line({"seq", "map", "map", "write"});
    fed_by_the_broker.nodes[2].options.on_error = OnError::kDeadLetter;
    CHECK(EdgesOnBroker(fed_by_the_broker) == std::vector<bool>{true, true, true});
  }

  TEST_CASE("a worker that joins gets instances of the stages that may grow, in turn") {
    const StageGraph graph = Chain(2);
    CHECK(MayGrow(graph.nodes[1]));
    CHECK_FALSE(MayGrow(graph.nodes[0]));  // a source
    CHECK_FALSE(MayGrow(graph.nodes[2]));  // not `* auto`
    CHECK(MayGrow(graph.nodes[3]));        // [ordered] with 2 replicas: it takes turns already
    CHECK_FALSE(MayGrow(Chain(1).nodes[3]));  // [ordered] alone: it does not
    StageGraph fast = Chain(2);
    fast.nodes[1].options.ordered = true;
    CHECK(MayGrow(fast.nodes[1]));  // [ordered] and fast: its replicas hold full batches for their turn

    Placement placement = PlaceInstances(graph, {{"w1", "h1", 4}});
    CHECK(GrowForWorker(graph, {"w2", "h2", 3}, &placement) == 3);
    CHECK(placement.where[1] == std::vector<std::string>{"w1", "w1", "w2", "w2"});
    CHECK(placement.where[3] == std::vector<std::string>{"", "", "w2"});
    CHECK(placement.where[2].size() == 3);
    // A later one is numbered after these.
    CHECK(GrowForWorker(graph, {"w3", "h3", 1}, &placement) == 1);
    CHECK(placement.where[1].size() == 5);
    CHECK(placement.where[1][4] == "w3");
  }

  TEST_CASE("a part's graph grows to its placement, and the text says where every instance runs") {
    const StageGraph graph = Chain(2);
    Placement placement = PlaceInstances(graph, {});
    GrowForWorker(graph, {"w2", "h2", 3}, &placement);
    Placement decoded;
    REQUIRE(Placement::Decode(placement.Encode(), graph, &decoded));
    CHECK(decoded.where == placement.where);

    StageGraph part = graph;
    GrowToPlacement(&part, decoded);
    CHECK(part.nodes[1].replicas == 4);
    CHECK(part.nodes[1].replicas_added == 2);
    CHECK(part.nodes[3].replicas == 3);
    CHECK(part.nodes[3].replicas_added == 1);
    CHECK(part.nodes[2].replicas == 3);
    CHECK(part.nodes[2].replicas_added == 0);
  }

  TEST_CASE("a placement that does not fit the graph is refused") {
    const StageGraph graph = Chain(2);
    Placement placement;
    CHECK(Placement::Decode("1 1 w1\n", graph, &placement));
    CHECK_FALSE(Placement::Decode("2 3 w1\n", graph, &placement));  // exec * 3 does not grow
    CHECK_FALSE(Placement::Decode("1 3 w1\n", graph, &placement));  // a gap: instance 2 missing
    CHECK_FALSE(Placement::Decode("7 0 w1\n", graph, &placement));  // no such node
    CHECK_FALSE(Placement::Decode("1 -1 w1\n", graph, &placement));
    CHECK_FALSE(Placement::Decode("1 x w1\n", graph, &placement));
  }
}

}  // namespace
}  // namespace flow
