// The shape shared by the controllers that copy endpoint lists downstream
// (the multi-cluster sync component, EndpointSlice mirroring): a client-go
// rate-limited workqueue, N workers, and writes of one object per key through
// the controller's own client token bucket, retried on 429 Retry-After by the
// client (rest/request.go) and on errors by the queue (AddRateLimited while
// NumRequeues < maxRetries, as every kube controller's handleErr does).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/api_server.h"
#include "models/stage_log.h"
#include "models/token_bucket.h"
#include "models/work_queue.h"
#include "sim/metrics.h"
#include "sim/simulator.h"

namespace epsim::models {

struct WriterConfig {
  std::string queue_name;
  std::string user_agent;
  int workers = 5;
  double kube_api_qps = 20;
  int kube_api_burst = 30;
  int max_retries = 15;
  int client_max_retry_after = 10;
  bool endpoint_slices = false;  // write EndpointSlices instead of Endpoints
};

class EndpointsWriter : public ApiClient {
 public:
  EndpointsWriter(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& target, WriterConfig config,
                  std::size_t key_space);
  ~EndpointsWriter() override;

  void enqueue(Key key);
  const StageLog& writes() const { return writes_; }
  const WorkQueue& queue() const { return *queue_; }
  std::uint64_t writes_total() const { return writes_total_; }  // completed writes (not 429)
  std::uint64_t responses_total() const { return responses_total_; }  // every response, 429s included
  const std::string& user_agent() const { return config_.user_agent; }

  void on_response(std::uint64_t tag, const ApiResponse& response) override;

 protected:
  struct Write {
    Verb verb = Verb::update;
    Endpoints object;
    ResourceVersion precondition = 0;
  };
  // The sync of one key: the write to issue, or nothing when the target is
  // already right.
  virtual std::optional<Write> sync(Key key) = 0;
  // The write that makes `existing` (the target's cached copy, or null) carry
  // the addresses of `source` (or null: delete), as key `key`; nothing when
  // `skip_if_equal` and they already match.
  static std::optional<Write> copy_addresses(Key key, const Endpoints* source, const Endpoints* existing,
                                             bool skip_if_equal);
  sim::Simulator& sim_;

 private:
  struct Worker {
    bool busy = false;
    Key key = 0;
    Write write;
    int retry_after_attempts = 0;
    sim::Time queued, started, sent;
  };
  void on_item_available();
  void wake_workers();
  void send(std::uint32_t worker);
  void submit(std::uint32_t worker);
  void finish(std::uint32_t worker, bool ok);
  void check_workers() const;

  ApiServer& target_;
  WriterConfig config_;
  std::unique_ptr<WorkQueue> queue_;
  std::unique_ptr<TokenBucket> bucket_;
  std::vector<Worker> workers_;
  std::vector<std::uint32_t> idle_;
  bool wake_scheduled_ = false;
  StageLog writes_;
  std::uint64_t writes_total_ = 0;
  std::uint64_t responses_total_ = 0;
  sim::MetricsRegistry& metrics_;
};

}  // namespace epsim::models
