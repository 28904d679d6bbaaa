// Where events go: a JSON-lines file (or stdout), one whole line per event,
// through an OutFile (a failed write never leaves half a line behind).
// Main lcore only; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "capture/out_file.h"
#include "core/event.h"

namespace rstguard::output {

class EventSink {
 public:
  // path "-" writes to stdout. Throws std::runtime_error naming the path
  // and the reason when the file cannot be created. rotate_bytes > 0: past
  // that size the file becomes FILE.1 ("x.json" -> "x.1.json") and so on,
  // keeping rotate_files old ones; an existing file is rotated away at
  // start instead of truncated. `stop` ends a wait for a FIFO's (or a
  // pipe's) reader; `waiting` is called if the open has to wait for one.
  explicit EventSink(const std::string& path, uint64_t rotate_bytes = 0, uint32_t rotate_files = 5,
                     std::function<bool()> stop = {}, std::function<void()> waiting = {});
  // False once the file has failed (the event counts as lost).
  bool write(const RstEvent& e);
  bool flush() { return file_->flush(); }
  bool close() { return file_->close(); }
  bool failed() const { return file_->failed(); }
  const std::string& error() const { return file_->error(); }
  // Events that reached the file; events that never will.
  uint64_t written() const { return file_->records_written(); }
  uint64_t lost() const { return file_->records_lost(); }
  std::string take_warning() { return file_->take_warning(); }

 private:
  std::unique_ptr<OutFile> file_;
  std::string line_;
};

}  // namespace rstguard::output
