#include "models/endpoints_writer.h"

#include "sim/invariant.h"

namespace epsim::models {

EndpointsWriter::EndpointsWriter(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& target,
                                 WriterConfig config, std::size_t key_space)
    : sim_(simulator), target_(target), config_(std::move(config)), metrics_(metrics) {
  if (config_.workers < 1) throw std::invalid_argument("a controller needs at least one worker");
  queue_ = std::make_unique<WorkQueue>(sim_, metrics_, config_.queue_name, key_space);
  queue_->set_on_item_available([this] { on_item_available(); });
  bucket_ = std::make_unique<TokenBucket>(
      TokenBucket::flowcontrol(config_.kube_api_qps, config_.kube_api_burst, sim_.now()));
  workers_.resize(static_cast<std::size_t>(config_.workers));
  for (int w = config_.workers - 1; w >= 0; --w) idle_.push_back(static_cast<std::uint32_t>(w));
}

EndpointsWriter::~EndpointsWriter() = default;

void EndpointsWriter::enqueue(Key key) { queue_->add(key); }

std::optional<EndpointsWriter::Write> EndpointsWriter::copy_addresses(Key key, const Endpoints* source,
                                                                      const Endpoints* existing, bool skip_if_equal) {
  Write w;
  if (source == nullptr) {
    if (existing == nullptr) return std::nullopt;
    w.verb = Verb::remove;
    w.object = *existing;
    return w;
  }
  if (existing != nullptr && skip_if_equal && existing->addresses == source->addresses &&
      existing->not_ready_addresses == source->not_ready_addresses) {
    return std::nullopt;
  }
  w.verb = existing == nullptr ? Verb::create : Verb::update;
  w.precondition = existing == nullptr ? 0 : existing->resource_version;
  w.object.service = key;
  w.object.addresses = source->addresses;
  w.object.not_ready_addresses = source->not_ready_addresses;
  return w;
}

void EndpointsWriter::on_item_available() {
  if (wake_scheduled_ || idle_.empty()) return;
  wake_scheduled_ = true;
  sim_.schedule_after(sim::Duration::zero(), [this] {
    wake_scheduled_ = false;
    wake_workers();
  });
}

void EndpointsWriter::wake_workers() {
  Key key;
  while (!idle_.empty() && queue_->try_get(key)) {
    const std::uint32_t w = idle_.back();
    idle_.pop_back();
    Worker& worker = workers_[w];
    EPSIM_INVARIANT(!worker.busy, "an idle writer worker was busy");
    worker.busy = true;
    check_workers();
    worker.key = key;
    worker.queued = queue_->added_at(key);
    worker.started = sim_.now();
    std::optional<Write> write = sync(key);
    if (!write) {
      finish(w, true);
      continue;
    }
    worker.write = std::move(*write);
    worker.retry_after_attempts = 0;
    send(w);
  }
}

void EndpointsWriter::send(std::uint32_t worker) {
  const sim::Duration wait = bucket_->reserve(sim_.now());
  sim_.schedule_after(wait, [this, worker] { submit(worker); });
}

void EndpointsWriter::submit(std::uint32_t worker) {
  Worker& w = workers_[worker];
  w.sent = sim_.now();
  if (config_.endpoint_slices) {
    target_.write_endpoint_slice(w.write.verb, w.write.object, w.write.precondition, this, worker,
                                 config_.user_agent.c_str());
  } else {
    target_.write_endpoints(w.write.verb, w.write.object, w.write.precondition, this, worker,
                            config_.user_agent.c_str());
  }
}

void EndpointsWriter::on_response(std::uint64_t tag, const ApiResponse& response) {
  const auto worker = static_cast<std::uint32_t>(tag);
  Worker& w = workers_[worker];
  EPSIM_INVARIANT(w.busy, "a write response for an idle writer worker");
  ++responses_total_;
  // client-go rest/request.go (v0.17): `retries++` on each response, a new
  // attempt while `retries < maxRetries` (10): 10 attempts in all, the first
  // included, so at most 9 waits on Retry-After.
  if (response.code == 429 && w.retry_after_attempts + 1 < config_.client_max_retry_after) {
    ++w.retry_after_attempts;
    sim_.schedule_after(response.retry_after, [this, worker] { send(worker); });
    return;
  }
  if (response.code != 429) ++writes_total_;
  if (response.code < 300 && !response.noop && w.write.verb != Verb::remove) {
    writes_.record(w.key, StageWrite{w.queued, w.started, w.sent, sim_.now(), ready_ips(w.write.object)});
  }
  finish(worker, response.code < 300 || (w.write.verb == Verb::remove && response.code == 404));
}

void EndpointsWriter::finish(std::uint32_t worker, bool ok) {
  Worker& w = workers_[worker];
  EPSIM_INVARIANT(w.busy && queue_->is_processing(w.key), "a writer worker finished a key it did not hold");
  if (ok) {
    queue_->forget(w.key);
  } else if (queue_->num_requeues(w.key) < config_.max_retries) {
    queue_->add_rate_limited(w.key);
  } else {
    queue_->forget(w.key);
  }
  w.busy = false;
  queue_->done(w.key);
  idle_.push_back(worker);
  check_workers();
  if (queue_->len() > 0) on_item_available();
}

}  // namespace epsim::models

namespace epsim::models {

// As in the endpoints controller: busy workers = keys in processing, each
// busy worker's key is in processing, so no key is held by two workers.
void EndpointsWriter::check_workers() const {
  EPSIM_INVARIANT(workers_.size() - idle_.size() == queue_->processing_count(),
                  "busy writer workers and workqueue keys in processing differ");
}

}  // namespace epsim::models
