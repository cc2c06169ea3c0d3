// What an API server watch delivers, and who receives it.
#pragma once

#include "models/object_store.h"

namespace epsim::models {

enum class WatchEventType { added, modified, deleted };

// A watch event is a handle to the changed object's version in the server's
// store, valid for the call; a sink that keeps it takes a reference
// (store.retain), as an informer cache does.
template <class Object>
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  virtual void on_watch_event(WatchEventType type, const ObjectStore<Object>& store, VersionHandle version) = 0;
};

}  // namespace epsim::models
