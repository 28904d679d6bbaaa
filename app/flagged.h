// The flagged capture (output.flagged), as offline and live mode write it.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "capture/capture_file.h"

namespace rstguard::app {

// Appends one flagged reset. A packet pcap cannot hold (a timestamp past
// 2106) is left out, counted by the writer and warned of once; a failed
// rotation is a warning. Returns false the first time the file itself
// fails: the caller reports that as an output fault.
inline bool write_flagged(CaptureWriter* w, bool* said_rejected, const uint8_t* data,
                          uint32_t caplen, uint32_t wire_len, uint64_t ts_ns) {
  if (w == nullptr || w->failed()) return true;
  if (!w->write(data, caplen, wire_len, ts_ns)) {
    if (w->failed()) return false;
    if (!*said_rejected) {
      *said_rejected = true;
      spdlog::warn("{}: left out of it (later ones are counted in the summary)", w->error());
    }
  } else if (const std::string warning = w->take_warning(); !warning.empty()) {
    spdlog::warn("{}", warning);
  }
  return true;
}

}  // namespace rstguard::app
