#include "core/host_tables.h"

#include "core/policy.h"
#include "core/seq.h"

namespace rstguard {
namespace {

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

}  // namespace

uint64_t host_tag(const IpAddr& a, uint16_t extra) {
  uint64_t w[2];
  std::memcpy(w, a.bytes, 16);
  return mix(w[0] * 0x9E3779B97F4A7C15ull ^ mix(w[1] ^ extra)) | 1;
}

HostTtlTable::HostTtlTable(uint32_t slots, Counters* counters)
    : mask_(slots - 1), slots_(std::make_unique<Slot[]>(slots)), counters_(counters) {}

int HostTtlTable::get(const IpAddr& a) const {
  const uint64_t tag = host_tag(a, 0);
  const Slot& s = slots_[tag & mask_];
  return s.tag == tag ? s.ttl : -1;
}

void HostTtlTable::set(const IpAddr& a, uint8_t ttl) {
  const uint64_t tag = host_tag(a, 0);
  Slot& s = slots_[tag & mask_];
  if (s.tag != 0 && s.tag != tag) ++counters_->host_ttl_overwritten;
  s.tag = tag;
  s.ttl = ttl;
}

DestinationTable::DestinationTable(uint32_t slots, uint64_t window_ns, Counters* counters)
    : mask_(slots - 1),
      window_ns_(window_ns),
      slots_(std::make_unique<Slot[]>(slots)),
      counters_(counters) {}

bool DestinationTable::live(const Slot& s, uint64_t tag, uint32_t now_ms) const {
  return s.tag == tag && ms_within(now_ms, s.window_start_ms, window_ns_);
}

uint32_t DestinationTable::count(const IpAddr& dst, uint16_t port, uint32_t now_ms) const {
  const uint64_t tag = host_tag(dst, port);
  const Slot& s = slots_[tag & mask_];
  return live(s, tag, now_ms) ? s.count : 0;
}

uint32_t DestinationTable::add(const IpAddr& dst, uint16_t port, uint32_t now_ms) {
  const uint64_t tag = host_tag(dst, port);
  Slot& s = slots_[tag & mask_];
  if (!live(s, tag, now_ms)) {
    // Another destination's window still open: it loses its count.
    if (s.tag != 0 && s.tag != tag && ms_within(now_ms, s.window_start_ms, window_ns_)) {
      ++counters_->host_destination_overwritten;
    }
    s.tag = tag;
    s.window_start_ms = now_ms;
    s.count = 0;
  }
  return ++s.count;
}

SourceRateLimiter::SourceRateLimiter(uint32_t slots, Counters* counters)
    : mask_(slots - 1), slots_(std::make_unique<Slot[]>(slots)), counters_(counters) {}

bool SourceRateLimiter::allows(const IpAddr& src, uint32_t rule, uint32_t per_second,
                               uint32_t now_ms) {
  const uint64_t tag = host_tag(src, static_cast<uint16_t>(rule));
  Slot& s = slots_[tag & mask_];
  const bool open = ms_within(now_ms, s.window_start_ms, kNsPerSec);
  if (s.tag != tag || !open) {
    if (s.tag != 0 && s.tag != tag && open) ++counters_->host_rate_overwritten;
    s.tag = tag;
    s.window_start_ms = now_ms;
    s.count = 0;
  }
  return ++s.count <= per_second;
}

bool EventBudget::allows(uint32_t now_ms) {
  if (per_second_ == 0) return true;
  if (window_ms_ == 0 || !ms_within(now_ms, window_ms_, kNsPerSec)) {
    window_ms_ = now_ms;
    used_ = 0;
  }
  return ++used_ <= per_second_;
}

}  // namespace rstguard
