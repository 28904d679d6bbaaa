// The flagged capture (output.flagged), as offline and live mode write it.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "capture/capture_file.h"

namespace rstguard::app {

// Appends one flagged reset. A write error is logged and closes the capture
// (the run goes on without it); a failed rotation is logged as a warning.
inline void write_flagged(std::unique_ptr<CaptureWriter>& w, const uint8_t* data, uint32_t caplen,
                          uint32_t wire_len, uint64_t ts_ns) {
  if (!w) return;
  if (!w->write(data, caplen, wire_len, ts_ns)) {
    spdlog::error("{}", w->error());
    w.reset();
  } else if (const std::string warning = w->take_warning(); !warning.empty()) {
    spdlog::warn("{}", warning);
  }
}

}  // namespace rstguard::app
