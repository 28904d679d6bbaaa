#include "core/incidents.h"

#include <algorithm>
#include <cstring>

#include "core/host_tables.h"

namespace rstguard {
namespace {

constexpr uint32_t kMaxCapacity = 1024;

bool addr_less(const IpAddr& x, const IpAddr& y) {
  return std::memcmp(x.bytes, y.bytes, sizeof(x.bytes)) < 0;
}

// Never 0 (0 marks a free slot); pairs and destinations never collide by
// construction of the discriminator.
uint64_t target_tag(const IpAddr& a, const IpAddr& b, bool pair, uint16_t vlan) {
  uint64_t t = host_tag(b, static_cast<uint16_t>(vlan ^ (pair ? 0x8000u : 0u)));
  if (pair) t ^= host_tag(a, static_cast<uint16_t>(vlan + 1)) * 0x9E3779B97F4A7C15ull;
  return t == 0 ? 1 : t;
}

void note_ttl(IncidentInfo& in, uint8_t ttl) {
  if (in.resets == 0) {
    in.ttl_min = in.ttl_max = ttl;
  } else {
    in.ttl_min = std::min(in.ttl_min, ttl);
    in.ttl_max = std::max(in.ttl_max, ttl);
  }
  for (int i = 0; i < in.ttl_count; ++i) {
    if (in.ttls[i] == ttl) return;
  }
  if (in.ttl_count < 4) {
    in.ttls[in.ttl_count++] = ttl;
  } else {
    in.ttl_more = true;
  }
}

}  // namespace

IncidentTable::IncidentTable(const IncidentParams& params, uint16_t worker_index)
    : params_(params),
      // Ids: the worker in the low byte, a count above it; below 2^53.
      id_base_(worker_index & 0xFFu) {
  params_.capacity = std::clamp<uint32_t>(params_.capacity, 1, kMaxCapacity);
  tags_ = std::make_unique<uint64_t[]>(params_.capacity);
  slots_ = std::make_unique<Incident[]>(params_.capacity);
}

int IncidentTable::find(uint64_t tag, const IpAddr& a, const IpAddr& b, bool pair,
                        uint16_t vlan) const {
  if (open_ == 0) return -1;
  for (uint32_t i = 0; i < params_.capacity; ++i) {
    if (tags_[i] != tag) continue;
    const Incident& in = slots_[i];
    if (in.pair == pair && in.vlan == vlan && in.b == b && (!pair || in.a == a)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

// A free slot, or the one quiet longest, ended to make room.
int IncidentTable::open_slot(uint64_t now_ns, Join& j) {
  int quietest = 0;
  for (uint32_t i = 0; i < params_.capacity; ++i) {
    if (tags_[i] == 0) return static_cast<int>(i);
    if (slots_[i].info.last_ns < slots_[quietest].info.last_ns) quietest = static_cast<int>(i);
  }
  j.ended_one = end(quietest, IncidentState::kEvicted, now_ns, nullptr, &j.ended);
  j.evicted = j.ended_one;  // an unannounced one goes unremarked
  if (j.evicted) ++evicted_;
  return quietest;
}

IncidentTable::Join IncidentTable::join(RstEvent& e, bool two_way, Label was, bool was_member,
                                        bool first_of_connection, bool may_open) {
  Join j;
  const uint64_t now_ns = e.timestamp_ns;
  // The target: the pair of a two-way connection, else the destination.
  const bool pair = two_way;
  IpAddr a{}, b = e.dst;
  if (pair) {
    a = addr_less(e.src, e.dst) ? e.src : e.dst;
    b = addr_less(e.src, e.dst) ? e.dst : e.src;
  }
  const uint16_t vlan = e.vlan_outer;
  uint64_t tag = target_tag(a, b, pair, vlan);
  int slot = find(tag, a, b, pair, vlan);
  if (slot < 0 && pair) {
    // A sweep toward this destination that has reached the connection.
    const IpAddr none{};
    const uint64_t dtag = target_tag(none, e.dst, false, vlan);
    slot = find(dtag, none, e.dst, false, vlan);
  }
  if (slot >= 0 && now_ns >= slots_[slot].info.last_ns &&
      now_ns - slots_[slot].info.last_ns >= params_.idle_ns) {
    // Gone quiet before expiry looked (within one burst): it ends here.
    j.ended_one = end(slot, IncidentState::kEnd, slots_[slot].info.last_ns + params_.idle_ns,
                      nullptr, &j.ended);
    slot = -1;
  }
  if (slot >= 0 && was_member && e.incident.id != slots_[slot].info.id) {
    was_member = false;  // its reset joined an incident that has ended
  }
  if (slot < 0 && !may_open) {
    e.incident.id = 0;
    return j;  // written as any event; in no incident
  }
  if (slot < 0) {
    was_member = false;
    slot = open_slot(now_ns, j);
    Incident& in = slots_[slot];
    in = Incident{};
    in.info.id = ((next_++ << 8) | id_base_) & ((1ull << 53) - 1);
    in.info.first_ns = now_ns;
    in.a = a;
    in.b = b;
    in.pair = pair;
    in.vlan = vlan;
    in.reported_ns = now_ns;
    tags_[slot] = tag;
    ++open_;
  }
  Incident& in = slots_[slot];
  IncidentInfo& info = in.info;
  e.incident.id = info.id;
  j.slot = slot;

  // Counts: a reset once, by its latest verdict.
  if (!was_member) {
    note_ttl(info, e.ttl);
    if (info.resets == 0) {
      info.seq_min = info.seq_max = e.seq;
      info.port_min = info.port_max = e.dst_port;
    } else {
      info.seq_min = std::min(info.seq_min, e.seq);
      info.seq_max = std::max(info.seq_max, e.seq);
      info.port_min = std::min(info.port_min, e.dst_port);
      info.port_max = std::max(info.port_max, e.dst_port);
    }
    ++info.resets;
    if (in.pair) {
      if (e.dst == in.a) {
        ++info.toward_src;
      } else {
        ++info.toward_dst;
      }
    }
    if (e.label == Label::suspicious) ++info.suspicious;
    if (e.label == Label::forged) ++info.forged;
    if (e.action == Action::drop) ++info.dropped;
  } else if (e.label == Label::forged && was != Label::forged) {
    if (was == Label::suspicious && info.suspicious > 0) --info.suspicious;
    ++info.forged;
    if (e.action == Action::drop) ++info.dropped;  // a held reset dropped on revision
  }
  if (e.type == EventType::kRstUpdate) ++info.updates;
  info.last_ns = std::max(info.last_ns, now_ns);
  in.last_packet = e.packet_number;
  if (e.label == Label::forged) in.worst = Label::forged;
  // The strongest action taken on a member: drop, then hold, alert, pass.
  const auto rank = [](Action a) {
    return a == Action::drop ? 3 : a == Action::hold ? 2 : a == Action::alert ? 1 : 0;
  };
  if (rank(e.action) > rank(in.strongest)) in.strongest = e.action;
  const bool new_evidence = (e.evidence.bits() & ~in.evidence.bits()) != 0;
  in.evidence.merge(e.evidence);
  in.changed = true;

  // Sampling: the first few member events, each connection's first, each
  // first sight of an evidence, then one in sample_every.
  const uint32_t seen = info.written + info.sampled;
  j.write = seen < params_.sample_first || first_of_connection || new_evidence ||
            (params_.sample_every != 0 && (seen - params_.sample_first) % params_.sample_every == 0);
  if (j.write) {
    ++info.written;
  } else {
    ++info.sampled;
    ++sampled_;
  }
  if (!in.announced && info.resets >= 2) {
    // The second member: the incident is announced, with both counted.
    in.announced = true;
    ++started_;
    j.started = true;
    j.report = report(in, IncidentState::kStart, now_ns);
    in.reported_ns = now_ns;
    in.changed = false;
  } else if (in.announced && now_ns >= in.reported_ns &&
             now_ns - in.reported_ns >= params_.interval_ns) {
    j.report_due = true;
    j.report = report(in, IncidentState::kOngoing, now_ns);
    in.reported_ns = now_ns;
    in.changed = false;
  }
  return j;
}

void IncidentTable::unwritten(const Join& j, uint64_t id) {
  if (j.slot < 0 || tags_[j.slot] == 0 || slots_[j.slot].info.id != id) return;
  IncidentInfo& info = slots_[j.slot].info;
  if (info.written > 0) --info.written;
}

RstEvent IncidentTable::report(const Incident& in, IncidentState state, uint64_t now_ns) const {
  RstEvent r;
  r.type = EventType::kIncident;
  r.timestamp_ns = now_ns;
  r.packet_number = in.last_packet;  // the newest member's
  r.src = in.a;
  r.dst = in.b;
  r.vlan_outer = in.vlan;
  r.vlan_count = in.vlan != 0 ? 1 : 0;
  r.ip_version = in.b.is_v4() ? 4 : 6;
  r.label = in.worst;
  r.evidence = in.evidence;
  r.action = in.strongest;
  r.cause = Cause::injected;
  r.incident = in.info;
  r.incident.state = state;
  r.incident.pair = in.pair;
  return r;
}

bool IncidentTable::end(int slot, IncidentState state, uint64_t now_ns,
                        std::vector<RstEvent>* out, RstEvent* one) {
  const bool announced = slots_[slot].announced;
  if (announced) {
    const RstEvent r = report(slots_[slot], state, now_ns);
    if (out != nullptr) out->push_back(r);
    if (one != nullptr) *one = r;
  }
  tags_[slot] = 0;
  --open_;
  return announced;
}

void IncidentTable::expire(uint64_t now_ns, std::vector<RstEvent>& out) {
  if (open_ == 0) return;
  // At most once per millisecond of packet time.
  if (now_ns >= last_expire_ns_ && now_ns - last_expire_ns_ < kNsPerMs) return;
  last_expire_ns_ = now_ns;
  for (uint32_t i = 0; i < params_.capacity && open_ > 0; ++i) {
    if (tags_[i] == 0) continue;
    Incident& in = slots_[i];
    if (now_ns >= in.info.last_ns && now_ns - in.info.last_ns >= params_.idle_ns) {
      end(static_cast<int>(i), IncidentState::kEnd, in.info.last_ns + params_.idle_ns, &out,
          nullptr);
    } else if (in.announced && in.changed && now_ns >= in.reported_ns &&
               now_ns - in.reported_ns >= params_.interval_ns) {
      out.push_back(report(in, IncidentState::kOngoing, now_ns));
      in.reported_ns = now_ns;
      in.changed = false;
    }
  }
}

void IncidentTable::flush(uint64_t now_ns, std::vector<RstEvent>& out) {
  for (uint32_t i = 0; i < params_.capacity && open_ > 0; ++i) {
    if (tags_[i] != 0) end(static_cast<int>(i), IncidentState::kEnd, now_ns, &out, nullptr);
  }
}

}  // namespace rstguard
