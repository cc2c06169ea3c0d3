// The client side every writer of endpoints shares (the endpoints controller,
// the multi-cluster sync component, EndpointSlice mirroring): a client-go
// rate-limited workqueue, N workers (`processNextWorkItem`), and one write per
// synced key through the component's own client token bucket
// (flowcontrol.NewTokenBucketRateLimiter), retried on 429 Retry-After by the
// client (client-go rest/request.go) and on errors by the queue (handleErr:
// AddRateLimited while NumRequeues < maxRetries, then Forget). A writer
// supplies only its sync(key); episode bookkeeping hangs off the pool as a
// listener. docs/model.md §6 and §9.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/stage_log.h"
#include "models/token_bucket.h"
#include "models/work_queue.h"
#include "sim/interval_set.h"
#include "sim/metrics.h"
#include "sim/simulator.h"

namespace epsim::models {

// One request a sync asks for.
struct ClientWrite {
  Verb verb = Verb::update;
  Endpoints object;
  ResourceVersion precondition = 0;  // updates: the resourceVersion the sync read
};

struct ClientWorkerPoolConfig {
  std::string queue_name;  // workqueue_* name label
  std::string user_agent;  // what the API server's metrics call the client
  int workers = 5;
  double kube_api_qps = 20;
  int kube_api_burst = 30;
  int max_retries = 15;             // handleErr's maxRetries
  int client_max_retry_after = 10;  // client-go rest/request.go maxRetries: attempts in all on Retry-After
  bool endpoint_slices = false;     // write EndpointSlices instead of Endpoints
  // The workqueue's rate limiter for AddRateLimited (retries only):
  // DefaultControllerRateLimiter unless the controller builds its own.
  ControllerRateLimiter::Config retry_limiter;
  // Non-empty: count rest_client_requests_total and
  // rest_client_request_duration_seconds with this `cluster` label.
  std::string rest_client_metrics_cluster;
};

// What a component follows of its pool (the endpoints controller's storm
// episodes). Called for the current term only.
// How the settled requests of the current terms ended (their sum is
// writes_total()), and what the client and the queue retried.
struct ClientWriteOutcomes {
  std::uint64_t changed = 0;       // 2xx that changed storage
  std::uint64_t noop = 0;          // 2xx the API server found nothing to change in
  std::uint64_t conflicts = 0;     // 409 Conflict: the object moved since the sync read it
  std::uint64_t other_errors = 0;  // 404 and the like (a 404 on DELETE counts as done)
  std::uint64_t retry_after_waits = 0;  // 429s the client waited out and sent again (rest/request.go)
  std::uint64_t requeues = 0;           // keys handed back with AddRateLimited (handleErr)
  std::uint64_t dropped = 0;            // keys forgotten after maxRetries failed syncs
};

class ClientWorkerPoolListener {
 public:
  virtual ~ClientWorkerPoolListener() = default;
  // A request's last response: anything but a 429 that the client sends again.
  virtual void on_settled(const ClientWrite& write, const ApiResponse& response) = 0;
  // A worker gave its key back to the queue (Done).
  virtual void on_key_done() = 0;
};

class ClientWorkerPool : public ApiClient {
 public:
  // The write a key needs, or nothing when the target is already right.
  using Sync = std::function<std::optional<ClientWrite>(Key key)>;
  // A look-ahead: the workers take keys in FIFO order, and a sync reads a
  // chain of tables at random places (a storm's keys come in Go's map
  // order), each a cache miss at a million Services. So at every
  // kLookAheadBatch-th key a worker takes (the first included), the
  // kLookAheadBatch keys that will be taken kLookAhead[stage] takes later
  // go to one prefetch(keys, stage): stage 0 loads the first link of each
  // chain (sim/load_ahead.h), stage 1 follows those links (in cache by then)
  // and loads the next, and so on. A batch's loads are independent, so they
  // overlap (one at a time, each stalled the worker: issue 12), and one call
  // per batch keeps the loop between them short. A look-ahead reads and
  // changes nothing a sync sees.
  using Prefetch = std::function<void(std::span<const Key> keys, int stage)>;
  static constexpr std::array<std::size_t, 3> kLookAhead{24, 16, 8};  // each >= 1
  static constexpr std::size_t kLookAheadBatch = 8;  // <= the gap between two stages
  static_assert(kLookAhead[0] - kLookAhead[1] >= kLookAheadBatch && kLookAhead[1] - kLookAhead[2] >= kLookAheadBatch &&
                    kLookAhead[2] >= kLookAheadBatch,
                "a stage must load a batch before the next stage follows its links");

  ClientWorkerPool(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& target,
                   ClientWorkerPoolConfig config, std::size_t key_space, Sync sync);
  ~ClientWorkerPool() override;
  ClientWorkerPool(const ClientWorkerPool&) = delete;
  ClientWorkerPool& operator=(const ClientWorkerPool&) = delete;

  void set_listener(ClientWorkerPoolListener* listener) { listener_ = listener; }
  void set_prefetch(Prefetch prefetch) { prefetch_ = std::move(prefetch); }
  // A new process or leadership term: a fresh workqueue, client bucket and
  // idle workers. Requests still in flight become orphans: nobody handles
  // their answers, but a write they apply is in storage (writes() has it).
  // Must be called once before any key is queued.
  void begin_term(sim::Time now);

  WorkQueue& queue() { return *queue_; }
  const WorkQueue& queue() const { return *queue_; }
  const ClientWorkerPoolConfig& config() const { return config_; }
  // Every write that changed storage, per key, an orphan's included.
  const StageLog& writes() const { return writes_; }
  std::uint64_t syncs_total() const { return syncs_total_; }    // keys synced (a write or not)
  std::uint64_t writes_total() const { return writes_total_; }  // settled requests of the current terms
  const ClientWriteOutcomes& outcomes() const { return outcomes_; }
  // Every API response received, 429s and orphans' included.
  std::uint64_t responses_total() const { return responses_total_; }
  std::uint64_t stale_responses() const { return stale_responses_; }  // of which an earlier term's
  // What held the pool back (epsim's `limited_by`): when some worker waited
  // for a client token, and when every worker had a request in flight.
  const sim::IntervalSet& bucket_waits() const { return bucket_waits_; }
  const sim::IntervalSet& all_workers_in_flight() const { return all_workers_in_flight_; }

  void on_response(std::uint64_t tag, const ApiResponse& response) override;

 private:
  struct Worker {
    bool busy = false;
    Key key = 0;
    ClientWrite write;
    int retry_after_attempts = 0;
    sim::Time queued;           // the key was added
    sim::Time started;          // a worker took it
    sim::Time request_started;  // the request left the bucket (its latency excludes the wait)
    bool in_flight = false;     // submitted and not answered yet
  };

  void on_item_available();
  void look_ahead() const;
  mutable std::uint64_t takes_ = 0;  // keys taken, for the look-ahead's batches
  void wake_workers();
  void send(std::uint32_t worker);
  void submit(std::uint32_t worker);
  void count_rest_client(const Worker& w, const ApiResponse& response);
  void finish(std::uint32_t worker, bool ok);
  void check_workers() const;
  void set_in_flight(Worker& w, bool in_flight);
  std::uint64_t tag(std::uint32_t worker) const;

  sim::Simulator& sim_;
  sim::MetricsRegistry& metrics_;
  ApiServer& target_;
  ClientWorkerPoolConfig config_;
  std::size_t key_space_;
  Sync sync_;
  ClientWorkerPoolListener* listener_ = nullptr;
  Prefetch prefetch_;

  std::uint32_t term_ = 0;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<TokenBucket> bucket_;
  std::vector<Worker> workers_;
  std::vector<std::uint32_t> idle_workers_;
  std::size_t in_flight_workers_ = 0;
  bool wake_scheduled_ = false;
  std::map<std::uint64_t, Worker> orphans_;  // earlier terms' requests in flight, by tag

  StageLog writes_;
  sim::IntervalSet bucket_waits_;
  sim::IntervalSet all_workers_in_flight_;
  std::uint64_t syncs_total_ = 0;
  std::uint64_t writes_total_ = 0;
  ClientWriteOutcomes outcomes_;
  std::uint64_t responses_total_ = 0;
  std::uint64_t stale_responses_ = 0;
  // rest_client_request_duration_seconds by verb (POST, PUT, DELETE), made on first use.
  std::array<sim::Histogram*, 3> request_duration_{};
  struct RestCounter {
    Verb verb;
    int code;
    sim::Counter* counter;
  };
  std::vector<RestCounter> rest_counters_;  // rest_client_requests_total by (verb, code), made on first use
};

}  // namespace epsim::models
