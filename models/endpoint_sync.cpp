#include "models/endpoint_sync.h"

#include "models/endpoints_copy.h"

namespace epsim::models {

struct EndpointSync::Source {
  std::uint32_t offset = 0;
  std::size_t services = 0;
  ApiServer* api = nullptr;
  std::unique_ptr<Informer<Endpoints>> informer;
  std::unique_ptr<SourceHandler> handler;
};

// Any Endpoints event of a source cluster enqueues its backend.
class EndpointSync::SourceHandler : public InformerHandler<Endpoints> {
 public:
  SourceHandler(EndpointSync& sync, std::uint32_t offset) : sync_(sync), offset_(offset) {}
  void on_add(const Endpoints& e) override { sync_.enqueue(offset_ + e.service); }
  void on_update(const Endpoints&, const Endpoints& e) override { sync_.enqueue(offset_ + e.service); }
  void on_delete(const Endpoints& e) override { sync_.enqueue(offset_ + e.service); }
  void prefetch_update(std::uint32_t service) const override { sync_.pool().queue().prefetch(offset_ + service); }
  ResyncUse resync_use() const override { return ResyncUse::key_only; }
  void on_resync_key(std::uint32_t service) override { sync_.enqueue(offset_ + service); }

 private:
  EndpointSync& sync_;
  std::uint32_t offset_;
};

namespace {
ClientWorkerPoolConfig pool_config(const EndpointSyncConfig& c) {
  ClientWorkerPoolConfig w;
  w.queue_name = "endpoint-sync";
  w.user_agent = "endpoint-sync";
  w.workers = c.workers;
  w.kube_api_qps = c.kube_api_qps;
  w.kube_api_burst = c.kube_api_burst;
  return w;
}

}  // namespace

EndpointSync::EndpointSync(sim::Simulator& simulator, sim::MetricsRegistry& metrics, ApiServer& access,
                           EndpointSyncConfig config, std::size_t backend_space, std::uint64_t seed)
    : sim_(simulator),
      access_(access),
      config_(config),
      seed_(seed),
      access_cache_("endpoint-sync/access"),
      pool_(simulator, metrics, access, pool_config(config), backend_space, [this](Key k) { return sync(k); }) {
  pool_.begin_term(simulator.now());
  access_.watch_endpoints(&access_cache_);
}

EndpointSync::~EndpointSync() = default;

void EndpointSync::add_source(ApiServer& source, std::uint32_t offset, std::size_t services,
                              const std::string& cluster) {
  auto s = std::make_unique<Source>();
  s->offset = offset;
  s->services = services;
  s->api = &source;
  s->informer = std::make_unique<Informer<Endpoints>>("endpoint-sync/" + cluster, seed_);
  s->handler = std::make_unique<SourceHandler>(*this, offset);
  s->informer->add_handler(s->handler.get());
  source.watch_endpoints(s->informer.get());
  sources_.push_back(std::move(s));
}

void EndpointSync::start_steady(sim::Time until) {
  for (auto& s : sources_) s->informer->list(s->api->endpoints_store(), false, s->api->resource_version());
  access_cache_.list(access_.endpoints_store(), false, access_.resource_version());
  resync_until_ = until;
  if (config_.resync_period > sim::Duration::zero()) {
    sim_.schedule_after(config_.resync_period, [this] { resync(); });
  }
}

void EndpointSync::resync() {
  for (auto& s : sources_) s->informer->resync();
  if (sim_.now() + config_.resync_period <= resync_until_) {
    sim_.schedule_after(config_.resync_period, [this] { resync(); });
  }
}

std::optional<ClientWrite> EndpointSync::sync(Key backend) {
  const Source* source = nullptr;
  for (const auto& s : sources_) {
    if (backend >= s->offset && backend < s->offset + s->services) source = s.get();
  }
  if (source == nullptr) return std::nullopt;
  return copy_addresses(backend, source->informer->get(backend - source->offset), access_cache_.get(backend),
                        config_.compare_before_write);
}

}  // namespace epsim::models
