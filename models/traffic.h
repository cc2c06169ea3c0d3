// Requests from the load balancer through ingress-nginx to each backend (a
// Service), and the statuses they get while nginx still routes to dead pod
// IPs (docs/model.md §12 and §13; upstream: ingress-nginx rootfs/etc/nginx/lua/
// balancer.lua and nginx's proxy_next_upstream).
//
// Every backend has a request rate spread uniformly over the nginx worker
// processes. Each worker routes a backend by its own upstream list with its own
// round-robin instance (lua-resty-balancer resty/roundrobin.lua: one instance
// per worker, started at a random node; ingress-nginx balancer/round_robin.lua).
// Every attempt of a request takes the worker's next peer at the attempt's own
// time; a live peer answers, a dead one fails as its DeadIpBehavior says
// (blackhole: connect timeout → 504; refused / unreachable: error at once →
// 502); nginx retries while proxy-next-upstream lists the failure kind and
// tries remain (ngx_http_upstream_next), and the client gets the status of the
// last attempt. A retry after an error follows at once (the next peer); a
// retry after a connect timeout happens proxy-connect-timeout later, from the
// worker's list and pointer of that moment (balancer.lua balance(): the
// request's balancer object is the one sync_backend() updates in place). An
// empty list has no balancer: 503 (balancer.lua).
//
// A request is counted at its last attempt: its status is decided there (the
// client of a 504 gets it one connect timeout later). Windows therefore open
// at the first failing last attempt and close at the last one.
//
// Two accounting modes that must agree (tests/models/traffic_test.cpp):
//  - exact: one event per request and per delayed retry, Poisson arrivals per
//    backend, a uniform worker per request, the real pointer walk;
//  - fluid: no per-request events. Between two change points of a backend the
//    counts per worker are Poisson draws from the completion flows, with the
//    statuses of first attempts that cannot be delayed in closed form from the
//    round-robin orbit; the cost is O(workers × list size) per change point,
//    never per request.
// Both find the same windows, since a window depends only on the computed
// flows (lists, dead IPs, retry flows), not on sampled requests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "models/ip_backend_index.h"
#include "models/objects.h"
#include "models/round_robin.h"
#include "models/upstream_lists.h"
#include "sim/random.h"
#include "sim/simulator.h"

namespace epsim::models {

// What a connection to a pod IP that no longer answers does (docs/model.md §12; nginx
// ngx_http_upstream_next: NGX_HTTP_UPSTREAM_FT_TIMEOUT / FT_ERROR).
enum class DeadIpBehavior {
  blackhole,    // packets dropped: connect timeout, FT_TIMEOUT → 504
  refused,      // RST, ECONNREFUSED: FT_ERROR → 502 at once
  unreachable,  // ICMP host unreachable, EHOSTUNREACH: FT_ERROR → 502 at once
};

enum class TrafficMode { exact, fluid };

struct TrafficConfig {
  TrafficMode mode = TrafficMode::fluid;
  DeadIpBehavior dead_ip = DeadIpBehavior::blackhole;
  // ingress-nginx ConfigMap defaults (internal/ingress/controller/config/
  // config.go NewDefault):
  // proxy-connect-timeout 5, proxy-next-upstream "error timeout", tries 3.
  sim::Duration proxy_connect_timeout = sim::Duration::seconds(5);
  bool next_upstream_on_error = true;    // proxy-next-upstream contains "error"
  bool next_upstream_on_timeout = true;  // … "timeout"
  int proxy_next_upstream_tries = 3;     // total attempts, >= 1
};

// docs/model.md §13: a maximal interval during which the backend's failure
// probability is > 0 (and its rate > 0); windows less than 1 s apart merge.
struct TrafficWindow {
  std::uint32_t backend = 0;
  sim::Time start;
  sim::Time end;
  // Requests arriving inside the window (a merged gap's requests included).
  double requests = 0, requests_502 = 0, requests_503 = 0, requests_504 = 0;
  double peak_fail_fraction = 0;
};

struct BackendTotals {
  double requests = 0, ok = 0, requests_502 = 0, requests_503 = 0, requests_504 = 0;
};

// The outcome of one request on one worker (the client's view).
struct RequestOutcome {
  int status = 200;            // 200, 502, 503 or 504
  int attempts = 0;            // upstream attempts made (0 for 503)
  sim::Duration connect_wait;  // time spent in connect timeouts (blackholed attempts)
};

// Long-run status fractions of one worker for one backend: the share of its
// requests that end 502/503/504 if its list and dead IPs stayed as they are.
struct WorkerFractions {
  double f502 = 0, f503 = 0, f504 = 0;
  double fail = 0;  // all failures, computed as one ratio (not f502 + f504)
};

class Traffic {
 public:
  Traffic(sim::Simulator& simulator, std::uint64_t seed, TrafficConfig config, int workers);
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;
  ~Traffic();

  std::uint32_t add_backend(double requests_per_second);  // ids 0,1,2…
  void reserve_backends(std::size_t backends);  // room for that many in all, allocated once

  // Worker `worker` now routes `backend` by `ips` (it picked up a new
  // config). A list with other IPs than the current one re-randomises the
  // worker's pointer; the same set of IPs leaves everything as it was (see
  // traffic.cpp for the lua-resty-balancer code this copies). `ips` is read
  // while this model's own list pool grows, so it must not point into it
  // (ingress-nginx hands a span of its own pool).
  void set_upstreams(std::uint32_t backend, int worker, std::span<const PodIp> ips);
  void set_upstreams(std::uint32_t backend, int worker, const std::vector<PodIp>& ips) {
    set_upstreams(backend, worker, std::span<const PodIp>(ips));
  }
  // The IP stops answering now, for every worker and backend, with the
  // configured behaviour (or `behavior`). IPs never come back.
  void set_ip_dead(PodIp ip);
  void set_ip_dead(PodIp ip, DeadIpBehavior behavior);

  // Called with every booking of counted requests: the requests of backend
  // that arrived in [from, to] (fluid: one segment between change points,
  // spread evenly over it; exact: one request, from == to). Reads only: the
  // run is the same with or without a listener (a metrics scrape follows it).
  using BookingListener =
      std::function<void(std::uint32_t backend, sim::Time from, sim::Time to, const BackendTotals& counts)>;
  void set_booking_listener(BookingListener listener) { booking_listener_ = std::move(listener); }

  void start(sim::Time until);  // begin generating/accounting at now
  void finish();                // at the end time: close open windows, flush fluid accounting

  const std::vector<TrafficWindow>& windows() const { return windows_; }  // (start, backend) order after finish()
  const BackendTotals& totals(std::uint32_t backend) const;
  BackendTotals grand_totals() const;
  // The failing share of the requests completing now (their last attempt is
  // now), over all workers; 0 while none completes. In a steady state it is
  // the chance that a request fails.
  double failure_probability(std::uint32_t backend) const;
  // Expected requests (arrivals), failed requests (502/503/504) and 504s
  // since start() up to now: the arrival rates and the failing completion
  // flows, integrated over time. Exact for both modes (they share the flows),
  // smooth where fluid mode's realised counts are booked at change points;
  // the time series samples these.
  double expected_requests() const;
  double expected_failures() const;
  double expected_504s() const;

  // Inspection (tests, reports).
  TrafficMode mode() const { return config_.mode; }
  const TrafficConfig& config() const { return config_; }
  int workers() const { return workers_; }
  std::size_t backends() const { return backends_.size(); }
  bool ip_dead(PodIp ip) const { return dead_.count(ip) != 0; }
  std::vector<PodIp> upstreams(std::uint32_t backend, int worker) const;  // a copy
  // Index into upstreams(backend, worker) of the peer the next attempt takes.
  std::uint32_t pointer(std::uint32_t backend, int worker) const;
  // What a request arriving now on `worker` would get if no other request
  // took a peer and nothing changed until its last attempt (the pointer does
  // not move).
  RequestOutcome probe(std::uint32_t backend, int worker) const;
  // Long-run fractions of `worker` if nothing changed: the round-robin orbit
  // from its current pointer when no attempt can wait out a connect timeout,
  // else the delayed-retry model of traffic.cpp.
  WorkerFractions fractions(std::uint32_t backend, int worker) const;

 private:
  struct Counts {
    double requests = 0, r502 = 0, r503 = 0, r504 = 0;
  };
  // Requests per second completing (last attempt) by status.
  struct Flows {
    double ok = 0, f502 = 0, f503 = 0, f504 = 0;
    double fail() const { return f502 + f503 + f504; }
    double total() const { return ok + f502 + f503 + f504; }
    void add(const Flows& o) {
      ok += o.ok;
      f502 += o.f502;
      f503 += o.f503;
      f504 += o.f504;
    }
  };
  // Delayed retries leaving a worker from `from` on: out[r] per second come
  // back one connect timeout later with r tries left (index 0 unused).
  struct OutFlow {
    sim::Time from;
    std::vector<double> out;
  };
  // Only for the few workers whose list ever had a dead peer or a delayed
  // retry (memory: a million backends carry workers × this otherwise).
  struct Faults {
    bool delays = false;  // a first attempt can wait out a connect timeout (see traffic.cpp)
    // Long-run 502/504 shares of the round-robin orbit of first attempts
    // decided at arrival (used when !delays and the list is not empty).
    double orbit_502 = 0, orbit_504 = 0;
    Flows random;                    // completions of runs with a uniform start
    std::vector<double> incoming;    // delayed retries arriving now, per tries left (empty: none)
    std::vector<OutFlow> outgoing;   // what left in the last connect timeout (empty: nothing)
  };
  static constexpr std::uint32_t kNoFaults = 0xffffffffU;
  // 20 bytes: a million backends carry workers × this.
  struct Worker {
    UpstreamLists::Id list = UpstreamLists::kEmpty;  // its upstream IPs, in lists_
    std::uint32_t pointer = 0;  // next peer; valid when the list is not empty
    std::uint32_t reinits = 0;  // roundrobin instances built so far (keys the random start)
    std::uint32_t dead = 0;     // dead IPs in the list (0: every request succeeds at once)
    std::uint32_t faults = kNoFaults;  // its entry in faults_, made the first time it needs one
  };
  struct Backend {
    double rate = 0;
    double fail = 0;                      // failure_probability
    double fail_flow = 0, flow_504 = 0;   // failing and 504 completions per second
    sim::Time segment_start;              // fluid: accounted up to here
    sim::Time retry_event_at;             // latest scheduled retry-flow update (dedup)
    std::int32_t window = -1;             // index in windows_ of its latest window
    bool window_open = false;
  };

  Backend& backend_at(std::uint32_t backend);
  const Backend& backend_at(std::uint32_t backend) const;
  std::span<Worker> workers_of(std::uint32_t backend);
  const Worker& worker_at(std::uint32_t backend, int worker) const;  // checked
  std::span<const PodIp> ips_of(const Worker& w) const { return lists_.ips(w.list); }
  Faults* faults_of(const Worker& w) { return w.faults == kNoFaults ? nullptr : &faults_[w.faults]; }
  const Faults* faults_of(const Worker& w) const { return w.faults == kNoFaults ? nullptr : &faults_[w.faults]; }
  bool delays(const Worker& w) const {
    const Faults* f = faults_of(w);
    return f != nullptr && f->delays;
  }
  std::uint8_t kind_of(PodIp ip) const;  // 0 live, 1 timeout (504), 2 error (502)
  bool retried(std::uint8_t kind) const;
  bool retry_waits() const;  // a retried timeout waits proxy-connect-timeout (> 0, tries >= 2)
  const std::vector<std::uint8_t>& kinds_of(std::span<const PodIp> ips) const;  // kind_of each, in scratch
  WorkerFractions orbit_fractions(const std::vector<std::uint8_t>& kinds, std::uint32_t pointer) const;
  Flows orbit_flows(const Worker& w) const;  // per unit rate: first attempts decided at arrival
  bool compute_worker(Worker& w);  // true: its outgoing retries changed
  void update_incoming(Worker& w);
  void after_change(std::uint32_t backend, bool retries_changed);
  void on_retry_flows(std::uint32_t backend);
  void run_exact(std::uint32_t backend, std::size_t worker, int tries);
  WorkerFractions worker_fractions(const Worker& w) const;
  std::uint32_t random_start(std::uint32_t backend, int worker, std::uint32_t reinits, std::size_t n) const;

  bool accounting() const;
  void flush(std::uint32_t backend);
  void refresh(std::uint32_t backend);
  void integrate();  // books the expected counts up to now
  double integrated(double booked, double rate) const;  // booked + rate · (now − integrated_at_)
  void update_window(std::uint32_t backend);
  void record(std::uint32_t backend, const Counts& c, sim::Time from);  // booked now: [from, now]
  void arrive(std::uint32_t backend);
  void schedule_arrival(std::uint32_t backend);

  sim::Simulator& sim_;
  TrafficConfig config_;
  int workers_;
  sim::RandomStream arrivals_;     // "traffic/arrivals": inter-arrival times, fluid counts
  sim::RandomStream worker_pick_;  // "traffic/workers": exact mode's worker per request
  std::uint64_t start_key_;        // stream_seed(seed, "traffic/start"): keyed random starts
  std::vector<Backend> backends_;
  std::vector<Worker> worker_states_;  // [backend × workers_ + worker]
  std::vector<Faults> faults_;         // the workers' that have one (they keep it)
  std::vector<sim::EventId> pending_arrivals_;  // exact mode: each backend's next arrival (fluid: empty)
  UpstreamLists lists_;                // every worker's upstream list, shared where equal
  std::vector<TrafficWindow> windows_;
  // Per window until finish(): arrivals of its backend since it closed (they
  // join it if it reopens within 1 s); only a backend's latest window uses it.
  std::vector<Counts> window_gaps_;
  std::vector<BackendTotals> totals_;
  // Only looked up, never iterated: no hash order reaches a decision.
  std::unordered_map<PodIp, DeadIpBehavior> dead_;
  IpBackendIndex ip_backends_;  // live IP → backends listing it
  // Σ rate, Σ rate·fail and Σ rate·f504 over the backends, and their
  // integrals up to integrated_at_ (expected_*()).
  double offered_rate_ = 0, failure_rate_ = 0, rate_504_ = 0;
  double expected_requests_ = 0, expected_failures_ = 0, expected_504s_ = 0;
  sim::Time integrated_at_;
  std::size_t failing_backends_ = 0;  // backends with fail > 0: at 0 the sums are reset exactly
  bool started_ = false;
  bool finished_ = false;
  sim::Time until_ = sim::Time::max();

  BookingListener booking_listener_;

  round_robin::RetryRule rule_;
  // Scratch of the O(n) closed forms (reused, never shrunk).
  mutable std::vector<std::uint8_t> kinds_;
  mutable round_robin::Orbit orbit_;
  mutable round_robin::UniformRuns runs_;
  std::vector<PodIp> sort_a_, sort_b_;
};

}  // namespace epsim::models
