#include "models/kube_proxy.h"

#include <algorithm>
#include <stdexcept>

#include "models/stage_log.h"
#include "models/version.h"
#include "sim/invariant.h"

namespace epsim::models {

std::optional<KubeProxyPreset> kube_proxy_preset(const std::string& version) {
  const auto v = parse_release_version(version);
  if (!v || v->major != 1 || v->minor < 16 || v->minor > 40) return std::nullopt;  // as switches_for_version
  KubeProxyPreset p;
  p.min_sync_period = v->minor >= 19 ? sim::Duration::seconds(1) : sim::Duration::zero();
  p.read_endpoint_slices = v->minor >= 19;
  return p;
}

const std::vector<double>& network_programming_buckets() {
  static const std::vector<double> bounds = [] {
    std::vector<double> b{0, 0.25, 0.5};
    for (int s = 1; s <= 59; ++s) b.push_back(s);
    for (int s = 60; s <= 115; s += 5) b.push_back(s);
    for (int s = 120; s <= 300; s += 30) b.push_back(s);
    return b;
  }();
  return bounds;
}

// One Service's entry in a node's change tracker (pkg/proxy/endpoints.go
// EndpointChangeTracker: items and lastChangeTriggerTimes, keyed by the
// Service's namespaced name).
struct KubeProxy::PendingChange {
  ServiceId service = 0;
  std::vector<PodIp> previous;  // the ready addresses the node's rules list (endpointsChange.previous)
  std::vector<sim::Time> trigger_times;
};

struct KubeProxy::Node {
  std::unique_ptr<TokenBucket> limiter;  // null: --iptables-min-sync-period 0 (nullLimiter)
  sim::Time last_run;                    // when the last run returned (bfr.lastRun)
  sim::EventId timer;                    // bfr.timer
  sim::Time timer_at = sim::Time::max();
  bool running = false;  // syncProxyRules is running
  bool run_pending = false;  // a Run() arrived while it ran (the run channel holds one signal)
  std::vector<std::vector<PodIp>> programmed;  // per client: the endpoints the rules list
  std::vector<std::vector<PodIp>> reading;     // per client: what the running sync read
  std::vector<KubeProxySync> syncs;
  std::vector<std::int32_t> pending_of;     // by ServiceId: index in `pending`, -1 none
  std::vector<PendingChange> pending;       // since the last run started
  std::vector<sim::Time> syncing_triggers;  // checked out by the running sync
};

struct KubeProxy::Client {
  ServiceId service = 0;
  double rate = 0;           // connections per second, over all nodes
  double fail = 0;           // the failing share now
  sim::Time booked_to;       // counted up to here
  std::int64_t window = -1;  // index in windows_ of its latest window
  bool open = false;
  double gap_requests = 0;   // connections since that window closed
};

// proxier.go OnEndpointsUpdate / OnEndpointSliceUpdate: the change tracker
// keeps only real changes of the endpoints map, and Run() follows one.
// Ready addresses only (endpointsToEndpointsMap skips NotReadyAddresses).
// The trackers see every event first: a Run() may check them out at once.
class KubeProxy::Handler : public InformerHandler<Endpoints> {
 public:
  explicit Handler(KubeProxy& k) : k_(k) {}
  void on_add(const Endpoints& e) override {
    k_.track(nullptr, &e);
    k_.on_change();
  }
  void on_update(const Endpoints& old_e, const Endpoints& e) override {
    k_.track(&old_e, &e);
    if (ready_ips(old_e) != ready_ips(e)) k_.on_change();
  }
  void on_delete(const Endpoints& e) override {
    k_.track(&e, nullptr);
    k_.on_change();
  }

 private:
  KubeProxy& k_;
};

KubeProxy::KubeProxy(sim::Simulator& simulator, ApiServer& api, sim::MetricsRegistry& metrics, std::uint64_t seed,
                     const std::string& cluster, KubeProxyConfig config, std::size_t service_space)
    : sim_(simulator),
      api_(api),
      config_(config),
      service_space_(service_space),
      phases_(seed, "kube-proxy/" + cluster + "/phases"),
      cache_("kube-proxy/" + cluster),
      handler_(std::make_unique<Handler>(*this)),
      client_of_(service_space, -1),
      pending_nodes_(service_space, 0),
      network_programming_(metrics.histogram("kubeproxy_network_programming_duration_seconds",
                                             "In Cluster Network Programming Latency in seconds",
                                             network_programming_buckets(), {{"cluster", cluster}})) {
  if (config_.nodes < 1) throw std::invalid_argument("kube-proxy needs at least one node");
  if (config_.sync_period <= sim::Duration::zero()) throw std::invalid_argument("the sync period must be > 0");
  if (config_.min_sync_period < sim::Duration::zero() || config_.sync_duration < sim::Duration::zero()) {
    throw std::invalid_argument("kube-proxy durations must be >= 0");
  }
  if (config_.burst_syncs < 1) throw std::invalid_argument("burst syncs must be >= 1");
  cache_.add_handler(handler_.get());
  if (config_.read_endpoint_slices) {
    api_.watch_endpoint_slices(&cache_);
  } else {
    api_.watch_endpoints(&cache_);
  }
  nodes_.resize(static_cast<std::size_t>(config_.nodes));
  for (Node& node : nodes_) node.pending_of.assign(service_space_, -1);
}

KubeProxy::~KubeProxy() = default;

void KubeProxy::add_client_service(ServiceId service, double connections_per_second) {
  EPSIM_INVARIANT(!started_, "client services are added before the start");
  if (service >= service_space_ || client_of_[service] >= 0 || !(connections_per_second > 0)) {
    throw std::invalid_argument("a client service must be new, in range, with a rate > 0");
  }
  client_of_[service] = static_cast<std::int32_t>(clients_.size());
  Client c;
  c.service = service;
  c.rate = connections_per_second;
  clients_.push_back(c);
}

void KubeProxy::start_steady(sim::Time until) {
  until_ = until;
  started_ = true;
  const sim::Time now = sim_.now();
  integrated_at_ = now;
  cache_.list(config_.read_endpoint_slices ? api_.endpoint_slice_store() : api_.endpoints_store(), false,
              api_.resource_version());
  for (Client& c : clients_) {
    c.booked_to = now;
    connection_rate_ += c.rate;
  }
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    Node& node = nodes_[n];
    node.programmed.resize(clients_.size());
    for (std::size_t k = 0; k < clients_.size(); ++k) {
      const Endpoints* e = cache_.get(clients_[k].service);
      node.programmed[k] = e == nullptr ? std::vector<PodIp>{} : ready_ips(*e);
    }
    // Each proxier has been running for a while: its last run returned at a
    // random instant of the last sync period, and its bucket is full.
    node.last_run = now - sim::Duration::nanoseconds(phases_.uniform_int(0, config_.sync_period.ns() - 1));
    if (config_.min_sync_period > sim::Duration::zero()) {
      // NewBoundedFrequencyRunner: qps := float32(time.Second) / float32(minInterval).
      const double qps = static_cast<double>(static_cast<float>(1e9) /
                                             static_cast<float>(config_.min_sync_period.ns()));
      node.limiter = std::make_unique<TokenBucket>(TokenBucket::flowcontrol(qps, config_.burst_syncs, now));
    }
    node.timer_at = node.last_run + config_.sync_period;
    schedule_periodic(static_cast<int>(n));
  }
  for (std::uint32_t k = 0; k < clients_.size(); ++k) update_client(k);
}

void KubeProxy::schedule_periodic(int n) {
  Node& node = nodes_[static_cast<std::size_t>(n)];
  sim_.cancel(node.timer);
  if (node.timer_at > until_) return;
  node.timer = sim_.schedule_at(std::max(node.timer_at, sim_.now()), [this, n] { try_run(n); });
}

// pkg/proxy/endpoints.go (kubernetes v1.17.3) EndpointChangeTracker.Update:
// the first event of a Service since the last sync keeps the ready addresses
// before it (`previous`); every event appends the object's trigger time, but
// one that leaves the addresses as `previous` had them drops the entry and
// its trigger times (changes that cancel out program nothing). A deletion's
// trigger time is ignored. EndpointSliceUpdate (1.19) appends the trigger
// time of a slice that changed and never drops it. Only ready addresses
// count, as for the runs (the model's slice differs from its Endpoints in no
// other field kube-proxy reads).
void KubeProxy::track(const Endpoints* previous, const Endpoints* current) {
  if (!started_) return;
  const ServiceId service = current != nullptr ? current->service : previous->service;
  if (service >= service_space_) return;
  const std::vector<PodIp> before = previous != nullptr ? ready_ips(*previous) : std::vector<PodIp>{};
  const std::vector<PodIp> after = current != nullptr ? ready_ips(*current) : std::vector<PodIp>{};
  const bool trigger = current != nullptr && current->has_trigger_time;
  if (config_.read_endpoint_slices) {
    if (before == after || !trigger) return;
    for (Node& node : nodes_) pending_change(node, service, before).trigger_times.push_back(current->trigger_time);
    return;
  }
  // No node holds a change of it and this one changes nothing: Update would
  // add an entry and drop it again on every node. A storm of label-only PUTs
  // costs this one comparison each.
  if (pending_nodes_[service] == 0 && before == after) return;
  for (Node& node : nodes_) {
    if (node.pending_of[service] < 0 && before == after) continue;
    PendingChange& change = pending_change(node, service, before);
    if (trigger) change.trigger_times.push_back(current->trigger_time);
    if (change.previous == after) drop_pending_change(node, service);
  }
}

KubeProxy::PendingChange& KubeProxy::pending_change(Node& node, ServiceId service, const std::vector<PodIp>& previous) {
  std::int32_t& index = node.pending_of[service];
  if (index < 0) {
    index = static_cast<std::int32_t>(node.pending.size());
    node.pending.push_back(PendingChange{service, previous, {}});
    ++pending_nodes_[service];
  }
  return node.pending[static_cast<std::size_t>(index)];
}

void KubeProxy::drop_pending_change(Node& node, ServiceId service) {
  const auto index = static_cast<std::size_t>(node.pending_of[service]);
  if (index + 1 != node.pending.size()) {
    node.pending[index] = std::move(node.pending.back());
    node.pending_of[node.pending[index].service] = static_cast<std::int32_t>(index);
  }
  node.pending.pop_back();
  node.pending_of[service] = -1;
  --pending_nodes_[service];
}

void KubeProxy::on_change() {
  if (!started_) return;
  for (int n = 0; n < config_.nodes; ++n) {
    Node& node = nodes_[static_cast<std::size_t>(n)];
    if (node.running) {
      node.run_pending = true;  // the signal waits in the run channel
    } else {
      try_run(n);
    }
  }
}

// bounded_frequency_runner.go tryRun: run when the limiter accepts; else
// wake when the next run is possible (minInterval after the last one
// returned) if that is earlier than the timer. epsim also waits for the
// bucket's next token, where Go would spin on a timer already due.
void KubeProxy::try_run(int n) {
  Node& node = nodes_[static_cast<std::size_t>(n)];
  if (node.running) {
    node.run_pending = true;
    return;
  }
  const sim::Time now = sim_.now();
  if (node.limiter == nullptr || node.limiter->try_accept(now)) {
    run(n);
    return;
  }
  sim::Duration wait = config_.min_sync_period - (now - node.last_run);
  const double tokens = node.limiter->tokens_at(now);
  if (tokens < 1) {
    const sim::Duration refill = go_duration_from_seconds((1 - tokens) / node.limiter->qps());
    wait = std::max(wait, refill + sim::Duration::nanoseconds(1));
  }
  wait = std::max(wait, sim::Duration::nanoseconds(1));
  if (now + wait < node.timer_at) {
    node.timer_at = now + wait;
    schedule_periodic(n);
  }
}

// syncProxyRules: reads the cache now, the rules take effect when
// iptables-restore returns.
void KubeProxy::run(int n) {
  Node& node = nodes_[static_cast<std::size_t>(n)];
  node.running = true;
  sim_.cancel(node.timer);
  node.timer_at = sim::Time::max();
  node.reading.resize(clients_.size());
  for (std::size_t k = 0; k < clients_.size(); ++k) {
    const Endpoints* e = cache_.get(clients_[k].service);
    node.reading[k] = e == nullptr ? std::vector<PodIp>{} : ready_ips(*e);
  }
  // endpointsMap.Update checks the tracker's changes and trigger times out.
  for (PendingChange& change : node.pending) {
    node.syncing_triggers.insert(node.syncing_triggers.end(), change.trigger_times.begin(), change.trigger_times.end());
    node.pending_of[change.service] = -1;
    --pending_nodes_[change.service];
  }
  node.pending.clear();
  node.syncs.push_back(KubeProxySync{sim_.now(), sim::Time::max()});
  sim_.schedule_after(config_.sync_duration, [this, n] {
    Node& done = nodes_[static_cast<std::size_t>(n)];
    done.syncs.back().applied = sim_.now();
    // proxier.go syncProxyRules (v1.17.3): once iptables-restore succeeded,
    // NetworkProgrammingLatency.Observe(time since each trigger time).
    for (const sim::Time t : done.syncing_triggers) network_programming_.observe((sim_.now() - t).seconds_f());
    done.syncing_triggers.clear();
    apply(n, std::move(done.reading));
    done.reading.clear();
    done.running = false;
    // tryRun: lastRun = now; timer.Reset(maxInterval).
    done.last_run = sim_.now();
    done.timer_at = done.last_run + config_.sync_period;
    schedule_periodic(n);
    if (done.run_pending) {
      done.run_pending = false;
      try_run(n);
    }
  });
}

void KubeProxy::apply(int n, std::vector<std::vector<PodIp>> lists) {
  Node& node = nodes_[static_cast<std::size_t>(n)];
  for (std::uint32_t k = 0; k < clients_.size(); ++k) {
    if (node.programmed[k] == lists[k]) continue;
    node.programmed[k] = std::move(lists[k]);
    update_client(k);
  }
}

void KubeProxy::set_ip_dead(PodIp ip) {
  if (!dead_.insert(ip).second) return;
  for (std::uint32_t k = 0; k < clients_.size(); ++k) {
    for (const Node& node : nodes_) {
      if (std::binary_search(node.programmed[k].begin(), node.programmed[k].end(), ip)) {
        update_client(k);
        break;
      }
    }
  }
}

// A node's clients fail in the share of its listed endpoints that are dead;
// with none listed, the REJECT rule refuses every connection.
double KubeProxy::fail_fraction(const Client& c) const {
  const auto k = static_cast<std::size_t>(client_of_[c.service]);
  double sum = 0;
  for (const Node& node : nodes_) {
    const auto& list = node.programmed[k];
    if (list.empty()) {
      sum += 1;
      continue;
    }
    std::size_t dead = 0;
    for (PodIp ip : list) dead += dead_.count(ip);
    sum += static_cast<double>(dead) / static_cast<double>(list.size());
  }
  return sum / static_cast<double>(nodes_.size());
}

void KubeProxy::integrate_to_now() {
  const sim::Time now = std::min(sim_.now(), until_);
  if (now <= integrated_at_) return;
  const double dt = (now - integrated_at_).seconds_f();
  expected_connections_ += connection_rate_ * dt;
  expected_failures_ += failure_rate_ * dt;
  integrated_at_ = now;
}

// Books the client's connections up to now at its old share, then moves to
// the new one, opening, extending or closing its window.
void KubeProxy::update_client(std::uint32_t k) {
  if (finished_) return;
  Client& c = clients_[k];
  const sim::Time now = std::min(sim_.now(), until_);
  integrate_to_now();
  const double dt = now > c.booked_to ? (now - c.booked_to).seconds_f() : 0.0;
  if (c.open) {
    KubeProxyWindow& w = windows_[static_cast<std::size_t>(c.window)];
    w.requests += c.rate * dt;
    w.failed += c.rate * c.fail * dt;
  } else {
    c.gap_requests += c.rate * dt;
  }
  c.booked_to = now;
  const double fail = fail_fraction(c);
  failure_rate_ += c.rate * (fail - c.fail);
  if (fail > 0 && !c.open) {
    const bool merge = c.window >= 0 && now - windows_[static_cast<std::size_t>(c.window)].end < sim::Duration::seconds(1);
    if (merge) {
      windows_[static_cast<std::size_t>(c.window)].requests += c.gap_requests;
    } else {
      c.window = static_cast<std::int64_t>(windows_.size());
      windows_.push_back(KubeProxyWindow{c.service, now, now, 0, 0, 0});
    }
    c.open = true;
    c.gap_requests = 0;
  } else if (fail == 0 && c.open) {
    windows_[static_cast<std::size_t>(c.window)].end = now;
    c.open = false;
    c.gap_requests = 0;
  }
  if (c.open) {
    KubeProxyWindow& w = windows_[static_cast<std::size_t>(c.window)];
    w.peak_fail_fraction = std::max(w.peak_fail_fraction, fail);
    w.end = now;
  }
  failing_clients_ += (fail > 0 ? 1 : 0) - (c.fail > 0 ? 1 : 0);
  c.fail = fail;
  if (failing_clients_ == 0) failure_rate_ = 0;  // no rounding residue once nothing fails
}

void KubeProxy::finish() {
  if (finished_) return;
  for (std::uint32_t k = 0; k < clients_.size(); ++k) {
    Client& c = clients_[k];
    // Book up to the end; an open window ends with the run.
    const sim::Time now = std::min(sim_.now(), until_);
    const double dt = now > c.booked_to ? (now - c.booked_to).seconds_f() : 0.0;
    if (c.open) {
      KubeProxyWindow& w = windows_[static_cast<std::size_t>(c.window)];
      w.requests += c.rate * dt;
      w.failed += c.rate * c.fail * dt;
      w.end = now;
    }
    c.booked_to = now;
  }
  integrate_to_now();
  finished_ = true;
  std::stable_sort(windows_.begin(), windows_.end(), [](const KubeProxyWindow& a, const KubeProxyWindow& b) {
    return a.start != b.start ? a.start < b.start : a.service < b.service;
  });
}

const std::vector<KubeProxySync>& KubeProxy::syncs(int node) const {
  return nodes_.at(static_cast<std::size_t>(node)).syncs;
}

const KubeProxySync* KubeProxy::first_sync_from(int node, sim::Time t) const {
  const auto& list = syncs(node);
  const auto it = std::lower_bound(list.begin(), list.end(), t,
                                   [](const KubeProxySync& s, sim::Time x) { return s.started < x; });
  if (it == list.end() || it->applied == sim::Time::max()) return nullptr;
  return &*it;
}

const std::vector<PodIp>& KubeProxy::programmed(int node, ServiceId service) const {
  static const std::vector<PodIp> none;
  if (service >= service_space_ || client_of_[service] < 0) return none;
  return nodes_.at(static_cast<std::size_t>(node)).programmed[static_cast<std::size_t>(client_of_[service])];
}

double KubeProxy::expected_connections() const { return expected_connections_; }
double KubeProxy::expected_failures() const { return expected_failures_; }

}  // namespace epsim::models
