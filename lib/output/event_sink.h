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
  // when the file cannot be created. rotate_bytes > 0: past that size the
  // file becomes FILE.1 ("x.json" -> "x.1.json") and so on, keeping
  // rotate_files old ones; an existing file is rotated away at start
  // instead of truncated.
  explicit EventSink(const std::string& path, uint64_t rotate_bytes = 0, uint32_t rotate_files = 5);
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
