// What an API server watch delivers, and who receives it.
#pragma once

namespace epsim::models {

enum class WatchEventType { added, modified, deleted };

template <class Object>
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  virtual void on_watch_event(WatchEventType type, const Object& object) = 0;
};

}  // namespace epsim::models
