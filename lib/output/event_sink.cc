#include "output/event_sink.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "output/event_json.h"

namespace rstguard::output {

EventSink::EventSink(const std::string& path, uint64_t rotate_bytes, uint32_t rotate_files) {
  try {
    std::shared_ptr<spdlog::sinks::sink> sink;
    if (path == "-") {
      sink = std::make_shared<spdlog::sinks::stdout_sink_st>();
    } else if (rotate_bytes > 0) {
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_st>(
          path, static_cast<size_t>(rotate_bytes), rotate_files, /*rotate_on_open=*/true);
    } else {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_st>(path, /*truncate=*/true);
    }
    logger_ = std::make_shared<spdlog::logger>("events", std::move(sink));
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::info);
    logger_->flush_on(spdlog::level::off);
  } catch (const spdlog::spdlog_ex& e) {
    throw std::runtime_error("cannot write events to '" + path + "': " + e.what());
  }
}

EventSink::~EventSink() { flush(); }

void EventSink::write(const RstEvent& e) {
  line_.clear();
  format_event_json(e, line_);
  logger_->info(line_);
  ++written_;
}

void EventSink::flush() {
  if (logger_) logger_->flush();
}

}  // namespace rstguard::output
