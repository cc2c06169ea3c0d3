// models/ip_backend_index.h: the backends recorded per pod IP come back in
// the order they were added, once each, wherever the IP is stored (the flat
// per-cluster arrays or the overflow map).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "models/ip_backend_index.h"

using epsim::models::IpBackendIndex;
using epsim::models::PodIp;

using Backends = std::vector<std::uint32_t>;

TEST_CASE("ip backend index: backends per IP in the order added, each once") {
  IpBackendIndex index;
  const PodIp a = (PodIp{1} << 24) + 1, b = (PodIp{1} << 24) + 2, c = (PodIp{2} << 24) + 5;
  index.add(a, 4);
  index.add(b, 9);
  index.add(a, 2);
  index.add(a, 4);  // already there
  index.add(a, 7);
  index.add(c, 1);
  CHECK(index.take(a) == Backends{4, 2, 7});
  CHECK(index.take(a).empty());  // forgotten
  CHECK(index.take(b) == Backends{9});
  CHECK(index.take(c) == Backends{1});
  CHECK(index.take((PodIp{3} << 24) + 1).empty());  // a cluster never seen
}

TEST_CASE("ip backend index: an IP far beyond the seen ones keeps its order when the flat range reaches it") {
  IpBackendIndex index;
  const PodIp far = 200'000;  // beyond the 2^16 flat growth from an empty cluster
  index.add(far, 3);
  // Sequential IPs fill the flat range up to and past `far`.
  for (PodIp ip = 1; ip <= far + 10; ++ip) {
    if (ip != far) index.add(ip, 0);
  }
  index.add(far, 1);
  index.add(far, 3);
  CHECK(index.take(far) == Backends{3, 1});
  CHECK(index.take(far - 1) == Backends{0});
  CHECK(index.take(far + 10) == Backends{0});
}
