#include "models/client_worker_pool.h"

#include <stdexcept>

#include "sim/invariant.h"

namespace epsim::models {

namespace {
// A request's tag: the term that sent it, then the worker.
constexpr std::uint64_t kTermShift = 32;
}  // namespace

ClientWorkerPool::ClientWorkerPool(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& target,
                                   ClientWorkerPoolConfig config, std::size_t key_space, Sync sync)
    : sim_(simulator),
      metrics_(metrics),
      target_(target),
      config_(std::move(config)),
      key_space_(key_space),
      sync_(std::move(sync)) {
  if (config_.workers < 1) throw std::invalid_argument("a client worker pool needs at least one worker");
}

ClientWorkerPool::~ClientWorkerPool() = default;

std::uint64_t ClientWorkerPool::tag(std::uint32_t worker) const {
  return (std::uint64_t{term_} << kTermShift) | worker;
}

void ClientWorkerPool::begin_term(sim::Time now) {
  for (std::uint32_t w = 0; w < workers_.size(); ++w) {
    if (workers_[w].in_flight) orphans_.emplace(tag(w), std::move(workers_[w]));
  }
  ++term_;
  in_flight_workers_ = 0;
  all_workers_in_flight_.close(now);
  queue_ = std::make_unique<WorkQueue>(sim_, metrics_, target_.cluster(), config_.queue_name, key_space_,
                                       config_.retry_limiter);
  queue_->set_on_item_available([this] { on_item_available(); });
  // flowcontrol.NewTokenBucketRateLimiter takes qps as float32.
  bucket_ = std::make_unique<TokenBucket>(TokenBucket::flowcontrol(config_.kube_api_qps, config_.kube_api_burst, now));
  workers_.assign(static_cast<std::size_t>(config_.workers), Worker{});
  idle_workers_.clear();
  for (int w = config_.workers - 1; w >= 0; --w) idle_workers_.push_back(static_cast<std::uint32_t>(w));
  wake_scheduled_ = false;
}

void ClientWorkerPool::on_item_available() {
  if (wake_scheduled_ || idle_workers_.empty()) return;
  // A blocked Get() returns on a later goroutine step, not inside Add().
  wake_scheduled_ = true;
  const std::uint32_t term = term_;
  sim_.schedule_after(sim::Duration::zero(), [this, term] {
    if (term != term_) return;
    wake_scheduled_ = false;
    wake_workers();
  });
}

void ClientWorkerPool::wake_workers() {
  Key key;
  while (!idle_workers_.empty() && queue_->try_get(key)) {
    const std::uint32_t w = idle_workers_.back();
    idle_workers_.pop_back();
    look_ahead();
    Worker& worker = workers_[w];
    EPSIM_INVARIANT(!worker.busy, "an idle client worker was busy");
    worker.busy = true;
    check_workers();
    worker.key = key;
    worker.queued = queue_->added_at(key);
    worker.started = sim_.now();
    ++syncs_total_;
    std::optional<ClientWrite> write = sync_(key);
    if (!write) {
      finish(w, true);
      continue;
    }
    worker.write = std::move(*write);
    worker.retry_after_attempts = 0;
    send(w);
  }
}

// Called right after a key is taken: the FIFO's head is the next key out, so
// the key `ahead` takes later is at place ahead - 1.
// The workqueue's own state of a key (and its rate limiter's) is loaded with
// stage 0, writer or not.
void ClientWorkerPool::look_ahead() const {
  if (takes_++ % kLookAheadBatch != 0) return;
  std::array<Key, kLookAheadBatch> keys;
  for (std::size_t stage = 0; stage < kLookAhead.size(); ++stage) {
    std::size_t n = 0;
    for (; n < kLookAheadBatch; ++n) {
      if (!queue_->peek(kLookAhead[stage] - 1 + n, keys[n])) break;
      if (stage == 0) queue_->prefetch(keys[n]);
    }
    if (n > 0 && prefetch_) prefetch_(std::span<const Key>(keys.data(), n), static_cast<int>(stage));
  }
}

// client-go rest/request.go: tryThrottle() (the bucket's Accept) before each
// attempt, including retries after a Retry-After response.
void ClientWorkerPool::send(std::uint32_t worker) {
  const sim::Duration wait = bucket_->reserve(sim_.now());
  bucket_waits_.add(sim_.now(), sim_.now() + wait);
  const std::uint32_t term = term_;
  sim_.schedule_after(wait, [this, worker, term] {
    if (term == term_) submit(worker);
  });
}

void ClientWorkerPool::submit(std::uint32_t worker) {
  Worker& w = workers_[worker];
  w.request_started = sim_.now();
  EPSIM_INVARIANT(w.busy && !w.in_flight, "a client worker sent a second request");
  set_in_flight(w, true);
  const char* user_agent = config_.user_agent.c_str();
  if (config_.endpoint_slices) {
    target_.write_endpoint_slice(w.write.verb, w.write.object, w.write.precondition, this, tag(worker), user_agent);
  } else {
    target_.write_endpoints(w.write.verb, w.write.object, w.write.precondition, this, tag(worker), user_agent);
  }
}

void ClientWorkerPool::on_response(std::uint64_t tag, const ApiResponse& response) {
  ++responses_total_;
  if ((tag >> kTermShift) != term_) {  // an earlier term's request
    ++stale_responses_;
    const auto orphan = orphans_.find(tag);
    EPSIM_INVARIANT(orphan != orphans_.end(), "a response to a request no term sent");
    if (orphan == orphans_.end()) return;
    const Worker& o = orphan->second;
    if (response.code < 300 && !response.noop && o.write.verb != Verb::remove) {
      const std::vector<PodIp> ips = ready_ips(o.write.object);
      writes_.record(o.key, StageWrite{o.queued, o.started, o.request_started, sim_.now(), ips});
    }
    orphans_.erase(orphan);
    return;
  }
  const auto worker = static_cast<std::uint32_t>(tag & 0xffffffffULL);
  EPSIM_INVARIANT(worker < workers_.size(), "a response for an unknown client worker");
  Worker& w = workers_[worker];
  EPSIM_INVARIANT(w.busy && w.in_flight, "a response for an idle client worker");
  set_in_flight(w, false);
  if (!config_.rest_client_metrics_cluster.empty()) count_rest_client(w, response);

  // client-go rest/request.go (v0.17): `retries++` on each response, a new
  // attempt while `retries < maxRetries` (10): 10 attempts in all, the first
  // included, so at most 9 waits on Retry-After.
  if (response.code == 429 && w.retry_after_attempts + 1 < config_.client_max_retry_after) {
    ++w.retry_after_attempts;
    ++outcomes_.retry_after_waits;
    const std::uint32_t term = term_;
    sim_.schedule_after(response.retry_after, [this, worker, term] {
      if (term == term_) send(worker);
    });
    return;
  }
  if (response.code < 300 && !response.noop && w.write.verb != Verb::remove) {
    const std::vector<PodIp> ips = ready_ips(w.write.object);
    writes_.record(w.key, StageWrite{w.queued, w.started, w.request_started, sim_.now(), ips});
  }
  if (response.code != 429) {
    ++writes_total_;
    ++(response.code < 300 ? (response.noop ? outcomes_.noop : outcomes_.changed)
       : response.code == 409 ? outcomes_.conflicts
                              : outcomes_.other_errors);
    if (listener_ != nullptr) listener_->on_settled(w.write, response);
  }
  finish(worker, response.code < 300 || (w.write.verb == Verb::remove && response.code == 404));
}

void ClientWorkerPool::count_rest_client(const Worker& w, const ApiResponse& response) {
  const char* method = w.write.verb == Verb::create ? "POST" : w.write.verb == Verb::update ? "PUT" : "DELETE";
  const std::string& cluster = config_.rest_client_metrics_cluster;
  // Found by (verb, code) without building a string: one look-up per response.
  sim::Counter* counter = nullptr;
  for (const RestCounter& c : rest_counters_) {
    if (c.verb == w.write.verb && c.code == response.code) counter = c.counter;
  }
  if (counter == nullptr) {
    const std::string code = std::to_string(response.code);
    counter = &metrics_.counter(
        "rest_client_requests_total", "Number of HTTP requests, partitioned by status code, method, and host.",
        {{"cluster", cluster}, {"code", code}, {"method", method}, {"host", cluster + "-apiserver"}});
    rest_counters_.push_back({w.write.verb, response.code, counter});
  }
  counter->inc();
  sim::Histogram*& duration = request_duration_[static_cast<std::size_t>(w.write.verb)];
  if (duration == nullptr) {
    const std::string resource = config_.endpoint_slices
                                     ? "/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
                                     : "/api/v1/namespaces/{namespace}/endpoints";
    // rest_client_request_duration_seconds: 1 ms · 2^k, 10 buckets (component-base v0.17.3 restclient).
    duration = &metrics_.histogram("rest_client_request_duration_seconds",
                                   "Request latency in seconds. Broken down by verb and URL.",
                                   sim::Histogram::exponential_buckets(0.001, 2, 10),
                                   {{"cluster", cluster},
                                    {"verb", method},
                                    {"url", w.write.verb == Verb::create ? resource : resource + "/{name}"}});
  }
  duration->observe((sim_.now() - w.request_started).seconds_f());
}

// handleErr (endpoints_controller.go and every kube controller): Forget on
// success; AddRateLimited while NumRequeues < maxRetries; then drop the key
// until its next event.
void ClientWorkerPool::finish(std::uint32_t worker, bool ok) {
  Worker& w = workers_[worker];
  const Key key = w.key;
  EPSIM_INVARIANT(w.busy && queue_->is_processing(key), "a client worker finished a key it did not hold");
  if (ok) {
    queue_->forget(key);
  } else if (queue_->num_requeues(key) < config_.max_retries) {
    queue_->add_rate_limited(key);
    ++outcomes_.requeues;
  } else {
    queue_->forget(key);
    ++outcomes_.dropped;
  }
  w.busy = false;
  w.write.object.subsets.clear();
  queue_->done(key);
  idle_workers_.push_back(worker);
  check_workers();
  if (listener_ != nullptr) listener_->on_key_done();
  if (queue_->len() > 0) on_item_available();
}

// A key is never synced by two workers at once: every busy worker holds a key
// the queue has in processing (checked when it finishes), the queue never
// hands out a key in processing (work_queue.cpp), and the busy workers are
// exactly as many as the keys in processing.
void ClientWorkerPool::check_workers() const {
  EPSIM_INVARIANT(workers_.size() - idle_workers_.size() == queue_->processing_count(),
                  "busy client workers and workqueue keys in processing differ");
}

void ClientWorkerPool::set_in_flight(Worker& w, bool in_flight) {
  w.in_flight = in_flight;
  in_flight_workers_ = in_flight ? in_flight_workers_ + 1 : in_flight_workers_ - 1;
  EPSIM_INVARIANT(in_flight_workers_ <= workers_.size(), "more client workers in flight than workers");
  if (in_flight_workers_ == workers_.size()) {
    all_workers_in_flight_.open(sim_.now());
  } else {
    all_workers_in_flight_.close(sim_.now());
  }
}

}  // namespace epsim::models
