#include "core/trigger_state.h"

#include <algorithm>
#include <cstring>

#include "core/packet_view.h"
#include "core/policy_set.h"

namespace rstguard {

TriggerState::TriggerState(uint32_t trigger_entries, uint32_t reassembly_entries,
                           Counters* counters)
    : info_(trigger_entries), reassembly_(reassembly_entries), counters_(counters) {}

void TriggerState::release(const FlowEntry& f) {
  if (f.trigger == 0 || !info_.in_use(f.trigger)) return;
  TriggerInfo& t = info_[f.trigger];
  reassembly_.release(t.reassembly);
  t.reassembly = 0;
  info_.release(f.trigger);
}

TriggerInfo* TriggerState::info_for(FlowEntry& f) {
  if (f.trigger != 0) return &info_[f.trigger];
  const uint32_t ref = info_.acquire();
  if (ref == 0) {
    ++counters_->pool_trigger_refused;
    return nullptr;
  }
  f.trigger = ref;
  info_[ref] = TriggerInfo{};
  return &info_[ref];
}

void TriggerState::stop_joining(TriggerInfo& t) {
  reassembly_.release(t.reassembly);
  t.reassembly = 0;
}

bool TriggerState::record(FlowEntry& f, const TriggerMatch& m, TriggerField field,
                          const PolicySet& policy) {
  if (!m.found) return false;
  ++counters_->trigger_matched;
  TriggerInfo* t = info_for(f);
  if (t == nullptr) return true;  // found, but nowhere to keep it: counted
  t->found = true;
  t->generation = policy.generation();
  t->id = m.id;
  t->offset = m.offset;
  t->field = field;
  const std::string& name = policy.trigger_names()[m.id];
  const size_t n = std::min(name.size(), sizeof(t->name) - 1);
  std::memcpy(t->name, name.data(), n);
  t->name[n] = '\0';
  stop_joining(*t);
  return true;
}

// Rare per packet (the first few of each connection) and bounded; a
// virtual call per scanned segment, not per packet.
void TriggerState::scan(const PacketView& p, FlowEntry& f, int side, const PolicySet& policy,
                        TriggerScanner& scanner) {
  const uint32_t shift = side == 0 ? 0 : 4;
  const uint32_t scanned = (f.scanned_segments >> shift) & 0x0f;
  if (scanned >= policy.window_segments()) return;
  f.scanned_segments = static_cast<uint8_t>(f.scanned_segments + (1u << shift));
  // Only the bytes the capture holds (a short snap length keeps fewer).
  const size_t present = static_cast<size_t>(p.frame + p.frame_len - p.payload);
  const std::span<const uint8_t> payload(p.payload, std::min<size_t>(p.payload_len, present));
  ++counters_->trigger_scanned;

  const bool from_client = !f.has(FlowEntry::kOriginKnown) || side == f.origin_side();
  if (from_client) {
    // Fields first: SNI or Host, from this segment or the joined ones.
    TriggerInfo* t = f.trigger != 0 ? &info_[f.trigger] : nullptr;
    Reassembly* r = t != nullptr && t->reassembly != 0 ? &reassembly_[t->reassembly] : nullptr;
    std::span<const uint8_t> head = payload;
    bool joining = r != nullptr && r->side == side;
    if (joining && (p.seq != r->next_seq || r->length + payload.size() > kReassemblyBytes)) {
      if (r->length + payload.size() > kReassemblyBytes) ++counters_->trigger_reassembly_overflow;
      stop_joining(*t);  // out of order or too long: give up on this one
      joining = false;
      head = {};
    } else if (joining) {
      std::memcpy(r->data + r->length, payload.data(), payload.size());
      r->length += static_cast<uint32_t>(payload.size());
      r->next_seq += static_cast<uint32_t>(payload.size());
      head = std::span<const uint8_t>(r->data, r->length);
      ++counters_->trigger_reassembled;
    } else if (scanned != 0) {
      head = {};  // fields live at the start of the stream only
    }
    bool incomplete = false, tls = false;
    if (!head.empty()) {
      char name_buf[256];
      const SniResult sni = find_tls_sni(head, std::span<char>(name_buf, sizeof(name_buf)));
      if (sni.status == SniResult::kFound) {
        const auto* name = reinterpret_cast<const uint8_t*>(sni.name.data());
        if (record(f, scanner.scan({name, sni.name.size()}, TriggerField::kSni),
                   TriggerField::kSni, policy)) {
          return;
        }
      } else if (sni.status == SniResult::kIncomplete) {
        incomplete = tls = true;
      } else if (sni.status == SniResult::kNotTls) {
        const HostResult host = find_http_host(head);
        if (host.status == HostResult::kFound) {
          const auto* name = reinterpret_cast<const uint8_t*>(host.host.data());
          if (record(f, scanner.scan({name, host.host.size()}, TriggerField::kHost),
                     TriggerField::kHost, policy)) {
            return;
          }
        } else if (host.status == HostResult::kIncomplete) {
          incomplete = true;
        }
      }
    }
    if (incomplete && !joining && payload.size() <= kReassemblyBytes) {
      // Start joining, in this connection's own buffer.
      TriggerInfo* mine = info_for(f);
      // One buffer per connection: the other side's (both count as the
      // client on a pick-up) gives way.
      if (mine != nullptr) stop_joining(*mine);
      const uint32_t ref = mine != nullptr ? reassembly_.acquire() : 0;
      if (mine != nullptr && ref == 0) ++counters_->pool_reassembly_refused;
      if (ref != 0) {
        mine->reassembly = ref;
        Reassembly& j = reassembly_[ref];
        j.side = static_cast<uint8_t>(side);
        j.tls = tls;
        j.length = static_cast<uint32_t>(payload.size());
        j.next_seq = p.seq + j.length;
        std::memcpy(j.data, payload.data(), payload.size());
      }
    } else if (!incomplete && joining) {
      stop_joining(*t);
    }
  }
  const std::span<const uint8_t> window =
      payload.first(std::min<size_t>(payload.size(), policy.window_bytes()));
  record(f, scanner.scan(window, TriggerField::kPayload), TriggerField::kPayload, policy);
}

}  // namespace rstguard
