// Where events go: a JSON-lines file (or stdout), written through spdlog
// with a bare "%v" pattern. Main lcore only; not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "core/event.h"

namespace spdlog {
class logger;
}

namespace rstguard::output {

class EventSink {
 public:
  // path "-" writes to stdout. Throws std::runtime_error naming the path
  // when the file cannot be created.
  explicit EventSink(const std::string& path);
  ~EventSink();
  void write(const RstEvent& e);
  void flush();
  uint64_t written() const { return written_; }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::string line_;
  uint64_t written_ = 0;
};

}  // namespace rstguard::output
