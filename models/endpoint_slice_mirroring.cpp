#include "models/endpoint_slice_mirroring.h"

#include "models/endpoints_copy.h"

namespace epsim::models {

class EndpointSliceMirroring::Handler : public InformerHandler<Endpoints> {
 public:
  explicit Handler(EndpointSliceMirroring& m) : m_(m) {}
  void on_add(const Endpoints& e) override { m_.enqueue(e.service); }
  void on_update(const Endpoints& old_e, const Endpoints& e) override {
    // Resyncs deliver old == new: nothing to mirror.
    if (old_e.resource_version != e.resource_version) m_.enqueue(e.service);
  }
  void on_delete(const Endpoints& e) override { m_.enqueue(e.service); }

 private:
  EndpointSliceMirroring& m_;
};

namespace {
ClientWorkerPoolConfig pool_config(const MirroringConfig& c) {
  ClientWorkerPoolConfig w;
  w.queue_name = "endpoint_slice_mirroring";
  w.user_agent = "endpointslicemirroring-controller";
  w.workers = c.workers;
  w.kube_api_qps = c.kube_api_qps;
  w.kube_api_burst = c.kube_api_burst;
  w.endpoint_slices = true;
  return w;
}
}  // namespace

EndpointSliceMirroring::EndpointSliceMirroring(sim::Simulator& simulator, sim::MetricsRegistry& metrics,
                                               ApiServer& access, MirroringConfig config, std::size_t backend_space)
    : access_(access),
      endpoints_("mirroring/endpoints"),
      slices_("mirroring/endpointslices"),
      handler_(std::make_unique<Handler>(*this)),
      pool_(simulator, metrics, access, pool_config(config), backend_space, [this](Key k) { return sync(k); }) {
  pool_.begin_term(simulator.now());
  endpoints_.add_handler(handler_.get());
  access_.watch_endpoints(&endpoints_);
  access_.watch_endpoint_slices(&slices_);
}

EndpointSliceMirroring::~EndpointSliceMirroring() = default;

void EndpointSliceMirroring::start_steady() {
  endpoints_.list(access_.endpoints_store(), false, access_.resource_version());
  slices_.list(access_.endpoint_slice_store(), false, access_.resource_version());
}

std::optional<ClientWrite> EndpointSliceMirroring::sync(Key backend) {
  // The mirroring controller compares desired and existing slices and skips equal ones.
  return copy_addresses(backend, endpoints_.get(backend), slices_.get(backend), true);
}

}  // namespace epsim::models
