#include "models/traffic.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "sim/invariant.h"

// Modelling notes (the choices the header promises to explain).
//
// Pointer on a list change. ingress-nginx's balancer/resty.lua sync() compares
// the new nodes (a set "ip:port" → weight) with the instance's and, only when
// they differ, calls resty.roundrobin reinit(), which sets last_id =
// get_random_node_id(nodes): a new random start, exactly as new() does for a
// fresh instance (openresty/lua-resty-balancer lib/resty/roundrobin.lua). So a
// list with other IPs re-randomises the worker's pointer, and the same set of
// IPs (in any order) changes nothing. A backend that goes to zero endpoints
// loses its balancer (balancer.lua) and gets a new instance, hence a random
// start, when endpoints return. The random start is a keyed hash of
// (seed "traffic/start", backend, worker, reinit count), so it is the same in
// both modes and does not depend on how many other backends drew before.
//
// Peer order. resty.roundrobin walks its nodes table with next(), i.e. Lua's
// hash order of "ip:port" keys, a fixed cyclic order we cannot reproduce; the
// list order given to set_upstreams stands in for it.
//
// Retry timing. After an error (refused, unreachable) nginx calls the
// balancer again at once, so the retry takes the next peer: a run of
// consecutive peers at one instant. After a connect timeout it calls the
// balancer proxy-connect-timeout later; balancer.lua balance() then takes the
// peer from the request's balancer object (ngx.ctx.balancer), which
// sync_backend() updates in place, so the retry sees the worker's list of that
// moment and the pointer that every other request has moved meanwhile. Exact
// mode does exactly that: a retried timeout schedules the next attempt one
// connect timeout later on the same worker. Not modelled: when the backend
// loses every endpoint in between, upstream's retry still uses the orphaned
// old balancer; epsim answers 503.
//
// Flows. Whether requests fail, and when, is computed per worker as flows
// (requests per second per unit of the backend's rate), shared by both modes:
// completions by status now, and the delayed retries leaving now with r tries
// left, which come back one connect timeout later (a history of one connect
// timeout per worker, an event per backend where they change). Two regimes:
//  - No attempt can wait (no dead peer whose timeout is retried, or a zero
//    connect timeout, or one try): a request's whole walk happens at its
//    arrival and takes consecutive peers, so one worker's pointer follows the
//    deterministic map p → p + attempts(p) (mod n); the long-run failure
//    fraction is the share of failing starts on the orbit's cycle (see
//    Fluid accounting). Consecutive errors lock the phase: with three refused
//    peers and one live one, every other request fails.
//  - Otherwise a timed-out attempt is retried after others have taken peers:
//    with rate / workers × connect timeout well above the list size, the
//    retry's position is uniform on the list, and since every try moves the
//    pointer by one the first attempts are too. So a "run" (a first attempt
//    or a delayed retry, with the errors retried at once after it) starts at a
//    uniformly random peer: over the n starts it ends live (200), in an error
//    not retried or with no tries left (502), in a timeout not retried or with
//    no tries left (504), or in a retried timeout that comes back later with
//    fewer tries. With one dead peer of two and three tries, 1/8 of the
//    requests fail; every try must land on a dead peer. At low rates exact
//    mode's retries stay closer to consecutive peers than this assumes.
//
// Fluid accounting. Between two change points of a backend (every flow change
// is one), each worker's first attempts decided at arrival get N ~
// Poisson(rate / workers × Δt) requests (exact mode's uniform worker choice
// thins the backend's Poisson process into independent per-worker Poisson
// processes with that mean, so this is the same law), and the statuses of
// those N requests are then not random at all: they are the first N statuses
// of the orbit from the current pointer, tail + whole cycles + a partial
// cycle, summed in O(n) with prefix counts; the pointer moves to the orbit's
// N-th element. That is exact for the round-robin walk, so no binomial split
// is needed (round robin spreads failures evenly, it does not toss a coin per
// request). The long-run fraction differs from a segment's realised share by
// at most n / N (the tail and the partial cycle), which the agreement test's
// slack covers. The lift of this map is non-decreasing and of degree one;
// tests/models/round_robin_test.cpp checks over every dead/live pattern of up
// to 10 peers and tries 1..5 that the failure fraction is the same on every
// cycle, so it does not depend on the random start; with per-IP mixed
// behaviours only the 502/504 split (never the total) can differ between
// cycles. The maths is models/round_robin.h. Every other completion (runs with a
// uniform start) is a Poisson count per status with mean flow × Δt: a thinned
// Poisson process is Poisson.
//
// Randomness. "traffic/arrivals" (exponential gaps in exact mode, Poisson
// counts in fluid mode) and "traffic/workers" (exact mode's worker per request)
// are shared streams drawn in event order; a per-backend stream would cost a
// Mersenne Twister (2.5 KB) per backend, too much for 1M backends.

namespace epsim::models {

namespace {
constexpr sim::Duration kMergeGap = sim::Duration::nanoseconds(1'000'000'000);  // windows < 1 s apart merge

int status_code(std::uint8_t s) { return s == 0 ? 200 : s == 1 ? 504 : 502; }
}  // namespace

Traffic::Traffic(sim::Simulator& simulator, std::uint64_t seed, TrafficConfig config, int workers)
    : sim_(simulator),
      config_(config),
      workers_(workers),
      arrivals_(seed, "traffic/arrivals"),
      worker_pick_(seed, "traffic/workers"),
      start_key_(sim::stream_seed(seed, "traffic/start")),
      rule_{config.proxy_next_upstream_tries, config.next_upstream_on_timeout, config.next_upstream_on_error} {
  if (workers_ < 1) throw std::invalid_argument("traffic needs at least one nginx worker");
  if (config_.proxy_next_upstream_tries < 1) {
    // nginx reads 0 as "unlimited"; with balancer_by_lua the tries are
    // bounded by set_more_tries, which this model does not follow.
    throw std::invalid_argument("proxy-next-upstream-tries must be >= 1, got " +
                                std::to_string(config_.proxy_next_upstream_tries));
  }
  if (config_.proxy_connect_timeout.is_negative()) throw std::invalid_argument("negative proxy-connect-timeout");
}

Traffic::~Traffic() = default;

std::uint32_t Traffic::add_backend(double requests_per_second) {
  if (!(requests_per_second >= 0) || requests_per_second == std::numeric_limits<double>::infinity()) {
    throw std::invalid_argument("traffic rate must be finite and >= 0");
  }
  const auto id = static_cast<std::uint32_t>(backends_.size());
  if (id == UINT32_MAX) throw std::length_error("traffic: too many backends");
  Backend b;
  b.rate = requests_per_second;
  worker_states_.resize(worker_states_.size() + static_cast<std::size_t>(workers_));
  // No endpoints yet: no balancer, every request is a 503 (orbit_flows).
  b.fail = 1;
  b.fail_flow = requests_per_second;
  integrate();
  offered_rate_ += requests_per_second;
  failure_rate_ += requests_per_second;
  ++failing_backends_;
  b.segment_start = sim_.now();
  backends_.push_back(std::move(b));
  totals_.emplace_back();
  if (started_ && !finished_) {
    update_window(id);
    if (config_.mode == TrafficMode::exact) schedule_arrival(id);
  }
  return id;
}

void Traffic::reserve_backends(std::size_t backends) {
  backends_.reserve(backends);
  totals_.reserve(backends);
  worker_states_.reserve(backends * static_cast<std::size_t>(workers_));
}

Traffic::Backend& Traffic::backend_at(std::uint32_t backend) {
  if (backend >= backends_.size()) throw std::out_of_range("traffic: unknown backend " + std::to_string(backend));
  return backends_[backend];
}

const Traffic::Backend& Traffic::backend_at(std::uint32_t backend) const {
  if (backend >= backends_.size()) throw std::out_of_range("traffic: unknown backend " + std::to_string(backend));
  return backends_[backend];
}

std::span<Traffic::Worker> Traffic::workers_of(std::uint32_t backend) {
  return {worker_states_.data() + std::size_t{backend} * static_cast<std::size_t>(workers_),
          static_cast<std::size_t>(workers_)};
}

const Traffic::Worker& Traffic::worker_at(std::uint32_t backend, int worker) const {
  backend_at(backend);
  if (worker < 0 || worker >= workers_) throw std::out_of_range("traffic: unknown worker " + std::to_string(worker));
  return worker_states_[std::size_t{backend} * static_cast<std::size_t>(workers_) + static_cast<std::size_t>(worker)];
}

std::uint8_t Traffic::kind_of(PodIp ip) const {
  auto it = dead_.find(ip);
  if (it == dead_.end()) return 0;
  return it->second == DeadIpBehavior::blackhole ? 1 : 2;
}

bool Traffic::retried(std::uint8_t kind) const {
  return kind == 1 ? config_.next_upstream_on_timeout : config_.next_upstream_on_error;
}

bool Traffic::retry_waits() const {
  return config_.next_upstream_on_timeout && config_.proxy_next_upstream_tries >= 2 &&
         !config_.proxy_connect_timeout.is_zero();
}

std::uint32_t Traffic::random_start(std::uint32_t backend, int worker, std::uint32_t reinits,
                                    std::size_t n) const {
  std::uint64_t state = start_key_ ^ ((std::uint64_t{backend} << 32) | static_cast<std::uint32_t>(worker));
  const std::uint64_t mixed = sim::splitmix64_next(state);
  state ^= mixed ^ reinits;
  // Modulo bias is below n / 2^64: nothing for lists of pod IPs.
  return static_cast<std::uint32_t>(sim::splitmix64_next(state) % n);
}

const std::vector<std::uint8_t>& Traffic::kinds_of(std::span<const PodIp> ips) const {
  kinds_.resize(ips.size());
  for (std::size_t p = 0; p < ips.size(); ++p) kinds_[p] = kind_of(ips[p]);
  return kinds_;
}

// Long-run shares of a worker whose walks all happen at arrival (the orbit).
WorkerFractions Traffic::worker_fractions(const Worker& w) const {
  WorkerFractions f;
  if (w.list == UpstreamLists::kEmpty) {
    f.f503 = f.fail = 1;
    return f;
  }
  if (w.dead == 0) return f;
  return orbit_fractions(kinds_of(ips_of(w)), w.pointer);
}

WorkerFractions Traffic::orbit_fractions(const std::vector<std::uint8_t>& kinds, std::uint32_t pointer) const {
  WorkerFractions f;
  orbit_.build(kinds, rule_);
  const round_robin::Shares s = orbit_.long_run(pointer);
  f.f502 = s.f502;
  f.f504 = s.f504;
  f.fail = s.fail;
  return f;
}

Traffic::Flows Traffic::orbit_flows(const Worker& w) const {
  const double first = 1.0 / workers_;  // first attempts per unit rate
  Flows f;
  if (w.list == UpstreamLists::kEmpty) {
    f.f503 = first;
  } else if (!delays(w)) {
    const Faults* faults = faults_of(w);
    const double orbit_502 = faults != nullptr ? faults->orbit_502 : 0.0;
    const double orbit_504 = faults != nullptr ? faults->orbit_504 : 0.0;
    f.f502 = first * orbit_502;
    f.f504 = first * orbit_504;
    f.ok = first - f.f502 - f.f504;
  }
  return f;
}

// The worker's completion flows now, per unit of the backend's rate, and the
// delayed retries it sends one connect timeout ahead. Returns whether those
// changed (they are recorded only between start() and finish()).
bool Traffic::compute_worker(Worker& w) {
  const double first = 1.0 / workers_;  // first attempts per unit rate
  double incoming = 0;
  const Faults* faults = faults_of(w);
  if (faults != nullptr) {
    for (double m : faults->incoming) incoming += m;
  }
  Flows random;
  std::vector<double> out;
  bool waits = false;
  double orbit_502 = 0, orbit_504 = 0;
  if (w.list == UpstreamLists::kEmpty) {
    random.f503 = incoming;
  } else if (w.dead == 0) {
    random.ok = incoming;
  } else {
    // One pass of dead-IP lookups for both models below.
    const std::vector<std::uint8_t>& kinds = kinds_of(ips_of(w));
    waits = retry_waits() && std::find(kinds.begin(), kinds.end(), round_robin::kTimeout) != kinds.end();
    if (!waits) {
      const WorkerFractions f = orbit_fractions(kinds, w.pointer);
      orbit_502 = f.f502;
      orbit_504 = f.f504;
    }
    if (waits || incoming > 0) {
      runs_.build(kinds, rule_);
      out.assign(static_cast<std::size_t>(rule_.tries), 0.0);
      round_robin::UniformRuns::Finals finals;
      if (waits) runs_.spread(rule_.tries, first, finals, out);
      for (std::size_t r = 1; faults != nullptr && r < faults->incoming.size(); ++r) {
        const double m = faults->incoming[r];
        if (m > 0) runs_.spread(static_cast<int>(r), m, finals, out);
      }
      random.ok = finals.ok;
      random.f502 = finals.f502;
      random.f504 = finals.f504;
      if (std::all_of(out.begin(), out.end(), [](double m) { return m == 0; })) out.clear();
    }
  }
  if (faults == nullptr && !waits && orbit_502 == 0 && orbit_504 == 0 && random.total() == 0 && out.empty()) {
    return false;  // the common case: every peer live, nothing delayed
  }
  if (faults == nullptr) {
    w.faults = static_cast<std::uint32_t>(faults_.size());
    EPSIM_INVARIANT(w.faults != kNoFaults, "more workers with faults than 32 bits count");
    faults_.emplace_back();
  }
  Faults& r = faults_[w.faults];
  r.delays = waits;
  r.orbit_502 = orbit_502;
  r.orbit_504 = orbit_504;
  r.random = random;
  if (!started_ || finished_) return false;
  const bool same = r.outgoing.empty() ? out.empty() : r.outgoing.back().out == out;
  if (same) return false;
  if (!r.outgoing.empty() && r.outgoing.back().from == sim_.now()) {
    r.outgoing.back().out = std::move(out);
  } else {
    r.outgoing.push_back({sim_.now(), std::move(out)});
  }
  return true;
}

// incoming = what left one connect timeout ago; older history is dropped.
void Traffic::update_incoming(Worker& w) {
  if (w.faults == kNoFaults) return;
  Faults& r = faults_[w.faults];
  const sim::Time back = sim_.now() - config_.proxy_connect_timeout;
  std::size_t i = 0;
  while (i < r.outgoing.size() && r.outgoing[i].from <= back) ++i;
  if (i == 0) {
    r.incoming.clear();
    return;
  }
  r.incoming = r.outgoing[i - 1].out;
  r.outgoing.erase(r.outgoing.begin(), r.outgoing.begin() + static_cast<std::ptrdiff_t>(i - 1));
  if (r.outgoing.size() == 1 && r.outgoing.front().out.empty()) r.outgoing.clear();
}

// After a worker's flows changed: the backend's sums and window, and, when the
// delayed retries it sends changed, an update when they come back.
void Traffic::after_change(std::uint32_t backend, bool retries_changed) {
  refresh(backend);
  if (!retries_changed || !accounting()) return;
  Backend& b = backends_[backend];
  const sim::Time at = sim_.now() + config_.proxy_connect_timeout;
  if (at >= until_ || b.retry_event_at == at) return;
  b.retry_event_at = at;
  sim_.schedule_at(at, [this, backend] { on_retry_flows(backend); });
}

void Traffic::on_retry_flows(std::uint32_t backend) {
  if (finished_) return;
  flush(backend);
  bool changed = false;
  for (Worker& w : workers_of(backend)) {
    update_incoming(w);
    changed = compute_worker(w) || changed;
  }
  after_change(backend, changed);
}

bool Traffic::accounting() const { return started_ && !finished_ && sim_.now() < until_; }

void Traffic::record(std::uint32_t backend, const Counts& c, sim::Time from) {
  if (booking_listener_) {
    BackendTotals booked;
    booked.requests = c.requests;
    booked.requests_502 = c.r502;
    booked.requests_503 = c.r503;
    booked.requests_504 = c.r504;
    booked.ok = c.requests - c.r502 - c.r503 - c.r504;
    booking_listener_(backend, from, std::max(from, std::min(sim_.now(), until_)), booked);
  }
  BackendTotals& t = totals_[backend];
  t.requests += c.requests;
  t.requests_502 += c.r502;
  t.requests_503 += c.r503;
  t.requests_504 += c.r504;
  t.ok += c.requests - c.r502 - c.r503 - c.r504;
  Backend& b = backends_[backend];
  if (b.window_open) {
    TrafficWindow& w = windows_[static_cast<std::size_t>(b.window)];
    w.requests += c.requests;
    w.requests_502 += c.r502;
    w.requests_503 += c.r503;
    w.requests_504 += c.r504;
  } else if (b.window >= 0) {
    // After a window closed: these join it if it reopens within 1 s.
    Counts& gap = window_gaps_[static_cast<std::size_t>(b.window)];
    gap.requests += c.requests;
    gap.r502 += c.r502;
    gap.r503 += c.r503;
    gap.r504 += c.r504;
  }
}

// Fluid: accounts [segment_start, now) of every worker of the backend.
void Traffic::flush(std::uint32_t backend) {
  if (config_.mode != TrafficMode::fluid || !started_ || finished_) return;
  Backend& b = backends_[backend];
  const sim::Time end = std::min(sim_.now(), until_);
  if (end <= b.segment_start) return;
  const double dt = (end - b.segment_start).seconds_f();
  const sim::Time from = b.segment_start;
  b.segment_start = end;
  if (b.rate <= 0) return;
  const double mean = b.rate / workers_ * dt;
  Counts total;
  for (Worker& w : workers_of(backend)) {
    if (const Faults* faults = faults_of(w)) {
      // Runs that start at a uniform peer: a Poisson count per status.
      const Flows& f = faults->random;
      const double flows[4] = {f.ok, f.f502, f.f503, f.f504};
      double counts[4] = {0, 0, 0, 0};
      for (int k = 0; k < 4; ++k) {
        if (flows[k] > 0) counts[k] = static_cast<double>(arrivals_.poisson(flows[k] * b.rate * dt));
      }
      total.requests += counts[0] + counts[1] + counts[2] + counts[3];
      total.r502 += counts[1];
      total.r503 += counts[2];
      total.r504 += counts[3];
    }
    if (delays(w)) continue;  // its first attempts are such runs too
    // First attempts decided at arrival: the orbit's closed form.
    const std::uint64_t n_req = arrivals_.poisson(mean);
    if (n_req == 0) continue;
    const auto nr = static_cast<double>(n_req);
    total.requests += nr;
    const std::span<const PodIp> ips = ips_of(w);
    if (ips.empty()) {
      total.r503 += nr;
      continue;
    }
    if (w.dead == 0) {  // every request takes one live peer
      w.pointer = static_cast<std::uint32_t>((w.pointer + n_req) % ips.size());
      continue;
    }
    orbit_.build(kinds_of(ips), rule_);
    const round_robin::StatusCounts c = orbit_.advance(w.pointer, n_req);
    total.r504 += static_cast<double>(c.r504);
    total.r502 += static_cast<double>(c.r502);
  }
  record(backend, total, from);
}

// Recomputes the backend's failing flows, failure probability and window from
// its workers' flows.
void Traffic::refresh(std::uint32_t backend) {
  Backend& b = backends_[backend];
  Flows sum;
  for (const Worker& w : workers_of(backend)) {
    sum.add(orbit_flows(w));
    if (const Faults* faults = faults_of(w)) sum.add(faults->random);
  }
  const double old_fail = b.fail, old_fail_flow = b.fail_flow, old_504 = b.flow_504;
  const double total = sum.total();
  b.fail = total > 0 ? sum.fail() / total : 0;
  b.fail_flow = b.rate * sum.fail();
  b.flow_504 = b.rate * sum.f504;
  if (b.fail_flow != old_fail_flow || b.flow_504 != old_504 || b.fail != old_fail) {
    integrate();
    failing_backends_ += (b.fail > 0 ? 1 : 0);
    failing_backends_ -= (old_fail > 0 ? 1 : 0);
    if (failing_backends_ == 0) {
      failure_rate_ = rate_504_ = 0;  // no drift from rounding once nothing fails
    } else {
      failure_rate_ += b.fail_flow - old_fail_flow;
      rate_504_ += b.flow_504 - old_504;
    }
  }
  update_window(backend);
}

void Traffic::integrate() {
  if (!started_) return;
  const sim::Time now = std::min(sim_.now(), until_);
  if (now <= integrated_at_) return;
  const double dt = (now - integrated_at_).seconds_f();
  expected_requests_ += offered_rate_ * dt;
  expected_failures_ += failure_rate_ * dt;
  expected_504s_ += rate_504_ * dt;
  integrated_at_ = now;
}

double Traffic::integrated(double booked, double rate) const {
  if (!started_) return 0;
  const sim::Time now = std::min(sim_.now(), until_);
  return booked + (now > integrated_at_ ? rate * (now - integrated_at_).seconds_f() : 0.0);
}

double Traffic::expected_requests() const { return integrated(expected_requests_, offered_rate_); }
double Traffic::expected_failures() const { return integrated(expected_failures_, failure_rate_); }
double Traffic::expected_504s() const { return integrated(expected_504s_, rate_504_); }

void Traffic::update_window(std::uint32_t backend) {
  if (!accounting()) return;
  Backend& b = backends_[backend];
  const sim::Time now = sim_.now();
  const bool failing = b.fail > 0 && b.rate > 0;
  if (failing) {
    if (!b.window_open) {
      b.window_open = true;
      if (b.window >= 0 && now - windows_[static_cast<std::size_t>(b.window)].end < kMergeGap) {
        // Reopens within 1 s: the gap and its requests join the window.
        TrafficWindow& w = windows_[static_cast<std::size_t>(b.window)];
        const Counts& gap = window_gaps_[static_cast<std::size_t>(b.window)];
        w.requests += gap.requests;
        w.requests_502 += gap.r502;
        w.requests_503 += gap.r503;
        w.requests_504 += gap.r504;
      } else {
        TrafficWindow w;
        w.backend = backend;
        w.start = now;
        w.end = now;
        EPSIM_INVARIANT(windows_.size() < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "more windows than 31 bits count");
        b.window = static_cast<std::int32_t>(windows_.size());
        windows_.push_back(w);
        window_gaps_.emplace_back();
      }
      window_gaps_[static_cast<std::size_t>(b.window)] = Counts{};
    }
    TrafficWindow& w = windows_[static_cast<std::size_t>(b.window)];
    w.peak_fail_fraction = std::max(w.peak_fail_fraction, b.fail);
  } else if (b.window_open) {
    b.window_open = false;
    windows_[static_cast<std::size_t>(b.window)].end = now;
    window_gaps_[static_cast<std::size_t>(b.window)] = Counts{};
  }
}

void Traffic::set_upstreams(std::uint32_t backend, int worker, std::span<const PodIp> ips) {
  worker_at(backend, worker);
  const std::span<Worker> workers = workers_of(backend);
  Worker& w = workers[static_cast<std::size_t>(worker)];
  const std::span<const PodIp> current = ips_of(w);
  // balancer/resty.lua sync(): deep_compare of the node sets; equal → no reinit.
  if (std::equal(current.begin(), current.end(), ips.begin(), ips.end())) return;
  if (current.size() == ips.size()) {
    sort_a_.assign(current.begin(), current.end());
    sort_b_.assign(ips.begin(), ips.end());
    std::sort(sort_a_.begin(), sort_a_.end());
    std::sort(sort_b_.begin(), sort_b_.end());
    if (sort_a_ == sort_b_) return;
  }
  flush(backend);
  // Another worker of the backend that already routes by this very list
  // shares it (the common case: every worker picks up the same config).
  UpstreamLists::Id list = UpstreamLists::kEmpty;
  for (const Worker& other : workers) {
    const std::span<const PodIp> theirs = ips_of(other);
    if (&other != &w && !theirs.empty() && std::equal(theirs.begin(), theirs.end(), ips.begin(), ips.end())) {
      list = other.list;
      lists_.retain(list);
      break;
    }
  }
  if (list == UpstreamLists::kEmpty) list = lists_.add(ips);
  lists_.release(w.list);
  w.list = list;
  if (!ips.empty()) {
    // resty.roundrobin new()/reinit(): last_id = get_random_node_id(nodes).
    w.pointer = random_start(backend, worker, w.reinits, ips.size());
    ++w.reinits;
  } else {
    w.pointer = 0;
  }
  w.dead = 0;
  for (PodIp ip : ips) {
    if (dead_.count(ip) != 0) {  // already dead: it cannot die again
      ++w.dead;
      continue;
    }
    ip_backends_.add(ip, backend);
  }
  update_incoming(w);  // a retry-flow update due at this instant may not have run yet
  const bool retries_changed = compute_worker(w);
  after_change(backend, retries_changed);
}

void Traffic::set_ip_dead(PodIp ip) { set_ip_dead(ip, config_.dead_ip); }

void Traffic::set_ip_dead(PodIp ip, DeadIpBehavior behavior) {
  if (dead_.count(ip) != 0) return;
  const std::vector<std::uint32_t> affected = ip_backends_.take(ip);
  // Account every affected backend up to now under the old state first.
  std::vector<std::uint8_t> lists_it;
  lists_it.reserve(affected.size());
  for (std::uint32_t backend : affected) {
    bool listed = false;
    for (const Worker& w : workers_of(backend)) {
      const std::span<const PodIp> ips = ips_of(w);
      listed = listed || std::find(ips.begin(), ips.end(), ip) != ips.end();
    }
    lists_it.push_back(listed);
    if (listed) flush(backend);
  }
  dead_.emplace(ip, behavior);
  for (std::size_t i = 0; i < affected.size(); ++i) {
    if (!lists_it[i]) continue;
    bool retries_changed = false;
    for (Worker& w : workers_of(affected[i])) {
      const std::span<const PodIp> ips = ips_of(w);
      const auto listed = static_cast<std::uint32_t>(std::count(ips.begin(), ips.end(), ip));
      if (listed == 0) continue;
      w.dead += listed;
      update_incoming(w);
      retries_changed = compute_worker(w) || retries_changed;
    }
    after_change(affected[i], retries_changed);
  }
}

void Traffic::start(sim::Time until) {
  if (started_) throw std::logic_error("traffic already started");
  started_ = true;
  until_ = until;
  integrated_at_ = sim_.now();
  for (std::uint32_t id = 0; id < backends_.size(); ++id) {
    Backend& b = backends_[id];
    b.segment_start = sim_.now();
    bool retries_changed = false;
    for (Worker& w : workers_of(id)) {
      if (delays(w)) retries_changed = compute_worker(w) || retries_changed;
    }
    after_change(id, retries_changed);
    if (config_.mode == TrafficMode::exact) schedule_arrival(id);
  }
}

void Traffic::schedule_arrival(std::uint32_t backend) {
  Backend& b = backends_[backend];
  if (b.rate <= 0) return;
  const double gap_s = arrivals_.exponential(1.0 / b.rate);
  if (gap_s > (until_ - sim_.now()).seconds_f() + 1) return;  // past the end (a tiny rate): no Duration needed
  const sim::Time at = sim_.now() + sim::Duration::from_seconds(gap_s);
  if (at >= until_) return;
  if (pending_arrivals_.size() <= backend) pending_arrivals_.resize(backends_.size());
  pending_arrivals_[backend] = sim_.schedule_at(at, [this, backend] { arrive(backend); });
}

void Traffic::arrive(std::uint32_t backend) {
  if (finished_) return;
  pending_arrivals_[backend] = sim::EventId{};
  const auto worker = static_cast<std::size_t>(worker_pick_.uniform_int(0, workers_ - 1));
  run_exact(backend, worker, config_.proxy_next_upstream_tries);
  schedule_arrival(backend);
}

// Exact mode: one request's attempts from now on `worker`, each taking the
// next peer (ngx_http_upstream_next); a retried timeout continues one connect
// timeout later on the list and pointer of that moment (balancer.lua
// balance() on ngx.ctx.balancer, which sync_backend updates in place), if
// that is before the end; every other outcome is booked now.
void Traffic::run_exact(std::uint32_t backend, std::size_t worker, int tries) {
  Worker& w = workers_of(backend)[worker];
  const std::span<const PodIp> ips = ips_of(w);
  Counts c;
  c.requests = 1;
  if (ips.empty()) {
    c.r503 = 1;
    record(backend, c, sim_.now());
    return;
  }
  for (int attempt = 1; attempt <= tries; ++attempt) {
    const std::uint8_t kind = kind_of(ips[w.pointer]);
    w.pointer = static_cast<std::uint32_t>((w.pointer + 1) % ips.size());
    if (kind == 0) break;
    if (!retried(kind) || attempt == tries) {
      (kind == 1 ? c.r504 : c.r502) = 1;
      break;
    }
    if (kind == 1 && retry_waits()) {
      const sim::Time at = sim_.now() + config_.proxy_connect_timeout;
      if (at < until_) {
        sim_.schedule_at(at, [this, backend, worker, left = tries - attempt] {
          if (!finished_) run_exact(backend, worker, left);
        });
      }
      return;  // in flight: booked at its last attempt
    }
  }
  record(backend, c, sim_.now());
}

void Traffic::finish() {
  if (!started_ || finished_) return;
  const sim::Time end = std::min(sim_.now(), until_);
  for (std::uint32_t id = 0; id < backends_.size(); ++id) {
    flush(id);
    Backend& b = backends_[id];
    if (id < pending_arrivals_.size() && pending_arrivals_[id].valid()) sim_.cancel(pending_arrivals_[id]);
    if (b.window_open) {
      windows_[static_cast<std::size_t>(b.window)].end = end;
      b.window_open = false;
    }
  }
  window_gaps_ = {};  // nothing is recorded after the end
  pending_arrivals_ = {};
  finished_ = true;
  std::stable_sort(windows_.begin(), windows_.end(), [](const TrafficWindow& a, const TrafficWindow& b) {
    return a.start != b.start ? a.start < b.start : a.backend < b.backend;
  });
  for (Backend& b : backends_) b.window = -1;
}

const BackendTotals& Traffic::totals(std::uint32_t backend) const {
  backend_at(backend);
  return totals_[backend];
}

BackendTotals Traffic::grand_totals() const {
  BackendTotals g;
  for (const BackendTotals& t : totals_) {
    g.requests += t.requests;
    g.ok += t.ok;
    g.requests_502 += t.requests_502;
    g.requests_503 += t.requests_503;
    g.requests_504 += t.requests_504;
  }
  return g;
}

double Traffic::failure_probability(std::uint32_t backend) const { return backend_at(backend).fail; }

std::vector<PodIp> Traffic::upstreams(std::uint32_t backend, int worker) const {
  const std::span<const PodIp> ips = ips_of(worker_at(backend, worker));
  return {ips.begin(), ips.end()};
}

std::uint32_t Traffic::pointer(std::uint32_t backend, int worker) const { return worker_at(backend, worker).pointer; }

RequestOutcome Traffic::probe(std::uint32_t backend, int worker) const {
  const Worker& w = worker_at(backend, worker);
  const std::span<const PodIp> ips = ips_of(w);
  RequestOutcome out;
  if (ips.empty()) {
    out.status = 503;
    return out;
  }
  const round_robin::Walk walked = round_robin::walk(kinds_of(ips), w.pointer, rule_);
  out.status = status_code(walked.status);
  out.attempts = static_cast<int>(walked.attempts);
  out.connect_wait = config_.proxy_connect_timeout * static_cast<std::int64_t>(walked.timeouts);
  return out;
}

WorkerFractions Traffic::fractions(std::uint32_t backend, int worker) const {
  const Worker& w = worker_at(backend, worker);
  if (!delays(w)) return worker_fractions(w);
  runs_.build(kinds_of(ips_of(w)), rule_);
  const round_robin::Shares s = runs_.long_run();
  WorkerFractions f;
  f.f502 = s.f502;
  f.f504 = s.f504;
  f.fail = s.fail;
  return f;
}

}  // namespace epsim::models
