#include "models/ingress_nginx.h"

#include <algorithm>

#include "models/stage_log.h"
#include "sim/invariant.h"

namespace epsim::models {

// store.go: add and delete always notify; an update only when the endpoint
// list changed (deep compare of subsets / slice endpoints).
class IngressNginx::Handler : public InformerHandler<Endpoints> {
 public:
  explicit Handler(IngressNginx& n) : n_(n) {}
  void on_add(const Endpoints& e) override { mark(e.service); }
  void on_update(const Endpoints& old_e, const Endpoints& e) override {
    if (old_e.subsets != e.subsets) mark(e.service);
  }
  void on_delete(const Endpoints& e) override { mark(e.service); }

 private:
  void mark(std::uint32_t backend) {
    if (backend < n_.dirty_.size() && !n_.dirty_[backend]) {
      n_.dirty_[backend] = 1;
      n_.dirty_list_.push_back(backend);
    }
    n_.on_event();
  }
  IngressNginx& n_;
};

IngressNginx::IngressNginx(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& access,
                           Traffic& traffic, std::uint64_t seed, IngressNginxConfig config, std::size_t backend_space)
    : sim_(simulator),
      access_(access),
      traffic_(traffic),
      config_(config),
      backend_space_(backend_space),
      rng_(seed, "ingress-nginx/lua-timers"),
      cache_("ingress-nginx"),
      handler_(std::make_unique<Handler>(*this)),
      // nginx.go: flowcontrol.NewTokenBucketRateLimiter(config.SyncRateLimit, 1)
      sync_limiter_(TokenBucket::flowcontrol(config.sync_rate_limit, 1, simulator.now())),
      dirty_(backend_space, 0),
      running_(backend_space, UpstreamLists::kEmpty) {
  if (config_.worker_processes < 1) throw std::invalid_argument("ingress-nginx needs at least one worker");
  cache_.add_handler(handler_.get());
  if (config_.read_endpoint_slices) {
    access_.watch_endpoint_slices(&cache_);
  } else {
    access_.watch_endpoints(&cache_);
  }
  workers_.resize(static_cast<std::size_t>(config_.worker_processes));
  for (auto& w : workers_) {
    w.tick_phase = sim::Duration::nanoseconds(rng_.uniform_int(0, config_.lua_sync_interval.ns() - 1));
  }
  // controller.go: `success` is a CounterVec over the constLabels (exposed
  // without a _total suffix), config_last_reload_successful a gauge.
  const sim::Labels labels = ingress_controller_labels(access.cluster());
  reload_success_ = &metrics.counter("nginx_ingress_controller_success",
                                     "Cumulative number of Ingress controller reload operations", labels);
  last_reload_ok_ = &metrics.gauge("nginx_ingress_controller_config_last_reload_successful",
                                   "Whether the last configuration reload attempt was successful", labels);
  last_reload_ok_->set(1);
}

sim::Labels ingress_controller_labels(const std::string& cluster) {
  return {{"cluster", cluster},
          {"controller_class", "k8s.io/ingress-nginx"},
          {"controller_namespace", "ingress-nginx"},
          {"controller_pod", "ingress-nginx-controller-0"}};
}

IngressNginx::~IngressNginx() = default;

// Ready addresses only: internal/ingress/controller/endpointslices.go skips
// endpoints whose ready condition is false (docs/model.md §11).
std::vector<PodIp> IngressNginx::backend_ips(std::uint32_t backend) const {
  const Endpoints* e = cache_.get(backend);
  return e == nullptr ? std::vector<PodIp>{} : ready_ips(*e);
}

void IngressNginx::start_steady() {
  cache_.list(config_.read_endpoint_slices ? access_.endpoint_slice_store() : access_.endpoints_store(), false,
              access_.resource_version());
  for (std::uint32_t b = 0; b < backend_space_; ++b) {
    const std::vector<PodIp> ips = backend_ips(b);
    running_lists_.release(running_[b]);
    running_[b] = running_lists_.add(ips);
    for (int w = 0; w < config_.worker_processes; ++w) traffic_.set_upstreams(b, w, ips);
  }
}

void IngressNginx::on_event() {
  // EnqueueSkippableTask: stamped with the time it was queued.
  tasks_.push_back(sim_.now());
  if (!task_running_) run_task();
}

void IngressNginx::run_task() {
  while (task_head_ < tasks_.size()) {
    const sim::Time ts = tasks_[task_head_++];
    EPSIM_INVARIANT(ts <= sim_.now(), "an ingress-nginx sync task from the future");
    if (ts < last_sync_) continue;  // queue.go: older than the last sync, skip
    task_running_ = true;
    current_task_ts_ = sim_.now();
    pending_event_ = ts;
    // syncIngress: Accept() on the sync rate limiter, then read the caches.
    const sim::Duration wait = sync_limiter_.reserve(sim_.now());
    sim_.schedule_after(wait, [this] { sync_read(); });
    return;
  }
  tasks_.clear();
  task_head_ = 0;
}

void IngressNginx::sync_read() {
  pending_read_ = sim_.now();
  pending_changed_.clear();
  pending_lists_.clear();
  // The controller rebuilds the whole configuration; only the backends with
  // events can differ, so only those are compared here.
  std::sort(dirty_list_.begin(), dirty_list_.end());
  for (std::uint32_t b : dirty_list_) {
    dirty_[b] = 0;
    std::vector<PodIp> ips = backend_ips(b);
    const std::span<const PodIp> running = running_lists_.ips(running_[b]);
    if (!std::equal(ips.begin(), ips.end(), running.begin(), running.end())) {
      pending_changed_.push_back(b);
      pending_lists_.push_back(std::move(ips));
    }
  }
  dirty_list_.clear();
  const auto backends = static_cast<std::int64_t>(backend_space_);
  const sim::Duration build = config_.config_build_base + config_.config_build_per_backend * backends;
  if (pending_changed_.empty()) {
    // "No configuration change detected": neither POST nor reload.
    sim_.schedule_after(build, [this] { finish_task(); });
    return;
  }
  const sim::Duration push = config_.dynamic_configuration
                                 ? config_.post_base + config_.post_per_backend * backends
                                 : config_.reload_base + config_.reload_per_backend * backends;
  const std::uint64_t version = version_ + 1;
  sim_.schedule_after(build + push, [this, version] { apply(version); });
}

void IngressNginx::apply(std::uint64_t version) {
  EPSIM_INVARIANT(version == version_ + 1, "ingress-nginx applied configurations out of order");
  version_ = version;
  for (std::size_t i = 0; i < pending_changed_.size(); ++i) {
    UpstreamLists::Id& running = running_[pending_changed_[i]];
    running_lists_.release(running);
    running = running_lists_.add(pending_lists_[i]);
  }
  version_changes_.push_back(pending_changed_);
  syncs_.push_back(IngressSync{version, pending_event_, pending_read_, sim_.now(),
                               static_cast<std::uint32_t>(pending_changed_.size())});
  if (config_.dynamic_configuration) {
    // configuration.lua: raw_backends_last_synced_at = ngx.time() (whole seconds).
    raw_synced_second_ = sim_.now().ns() / 1'000'000'000;
    for (int w = 0; w < config_.worker_processes; ++w) {
      Worker& worker = workers_[static_cast<std::size_t>(w)];
      if (worker.tick_scheduled) continue;
      const std::int64_t interval = config_.lua_sync_interval.ns();
      const std::int64_t phase = worker.tick_phase.ns();
      const std::int64_t k = (sim_.now().ns() - phase) / interval + 1;
      worker.tick_scheduled = true;
      sim_.schedule_at(sim::Time::from_ns(phase + k * interval), [this, w] { worker_tick(w); });
    }
  } else {
    // nginx -s reload: new workers start with the new upstreams; the old ones
    // keep theirs for the connections they hold until worker-shutdown-timeout.
    ++reloads_;
    reload_success_->inc();
    // nginx -s reload: old workers serve the connections they hold until
    // worker_shutdown_timeout (ingress-nginx default 240s since 0.26.0, commit
    // 6715108d8) with their old upstreams (kubernetes/ingress-nginx#11515).
    // Which share of requests they get is epsim's parameter (drainingShare).
    const int draining = std::min(config_.worker_processes - 1,
                                  static_cast<int>(config_.draining_share * config_.worker_processes + 0.5));
    for (int w = draining; w < config_.worker_processes; ++w) give_worker(w);
    for (int w = 0; w < draining; ++w) {
      sim_.schedule_after(config_.worker_shutdown_timeout, [this, w] { give_worker(w); });
    }
  }
  finish_task();
}

void IngressNginx::finish_task() {
  last_sync_ = current_task_ts_;
  task_running_ = false;
  sim_.schedule_after(sim::Duration::zero(), [this] {
    if (!task_running_) run_task();
  });
}

// balancer.lua sync_backends, every BACKENDS_SYNC_INTERVAL: a worker takes the
// backends only when the POST's timestamp is newer than the one it last took.
void IngressNginx::worker_tick(int w) {
  Worker& worker = workers_[static_cast<std::size_t>(w)];
  worker.tick_scheduled = false;
  // configuration.lua stamps the POST with ngx.time() (whole seconds;
  // docs/model.md §11). Our reading of the comparison: a POST in the
  // same second as the worker's last take is missed until the next POST.
  if (raw_synced_second_ <= worker.synced_second) return;
  worker.synced_second = raw_synced_second_;
  give_worker(w);
}

void IngressNginx::give_worker(int w) {
  Worker& worker = workers_[static_cast<std::size_t>(w)];
  EPSIM_INVARIANT(worker.version <= version_, "an nginx worker runs a configuration newer than the controller's");
  if (worker.version == version_) return;
  std::vector<std::uint32_t> changed;
  for (std::uint64_t v = worker.version + 1; v <= version_; ++v) {
    const auto& c = version_changes_[v - 1];
    changed.insert(changed.end(), c.begin(), c.end());
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  for (std::uint32_t b : changed) {
    // A span into this model's own pool: Traffic keeps its lists elsewhere.
    traffic_.set_upstreams(b, w, running_lists_.ips(running_[b]));
  }
  worker.version = version_;
  worker.pickups.emplace_back(version_, sim_.now());
}

std::vector<PodIp> IngressNginx::running(std::uint32_t backend) const {
  const std::span<const PodIp> ips = running_lists_.ips(running_.at(backend));
  return {ips.begin(), ips.end()};
}

std::uint64_t IngressNginx::worker_version(int w) const { return workers_[static_cast<std::size_t>(w)].version; }

sim::Time IngressNginx::worker_pickup(int w, std::uint64_t version) const {
  const auto& pickups = workers_[static_cast<std::size_t>(w)].pickups;  // versions increase
  const auto it = std::lower_bound(pickups.begin(), pickups.end(), version,
                                   [](const std::pair<std::uint64_t, sim::Time>& p, std::uint64_t v) { return p.first < v; });
  return it == pickups.end() ? sim::Time::max() : it->second;
}

}  // namespace epsim::models
