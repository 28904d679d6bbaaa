#include "output/event_sink.h"

#include <stdexcept>

#include "output/event_json.h"

namespace rstguard::output {

EventSink::EventSink(const std::string& path, uint64_t rotate_bytes, uint32_t rotate_files,
                     std::function<bool()> stop, std::function<void()> waiting) {
  OutFileOptions o;
  o.rotation = Rotation{rotate_bytes, rotate_files};
  o.stop = std::move(stop);
  o.waiting = std::move(waiting);
  o.buffer_bytes = size_t{256} << 10;
  std::string error;
  file_ = OutFile::open(path, &error, std::move(o));
  if (!file_) throw std::runtime_error("cannot write events: " + error);
}

bool EventSink::write(const RstEvent& e) {
  line_.clear();
  format_event_json(e, line_);
  line_ += '\n';
  return file_->append(line_.data(), line_.size());
}

}  // namespace rstguard::output
