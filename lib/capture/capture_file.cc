#include "capture/capture_file.h"

#include "core/prefetch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace rstguard {
namespace {

// Classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04).
constexpr uint32_t kPcapMagicUsec = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNsec = 0xa1b23c4d;
constexpr size_t kPcapHeaderLen = 24;
constexpr size_t kPcapRecordHeaderLen = 16;

// Global header as the writer lays it out, in host byte order. The reader
// loads fields by offset instead (either byte order, unaligned).
struct PcapGlobalHeader {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  int32_t thiszone;  // always 0: timestamps are UTC
  uint32_t sigfigs;
  uint32_t snaplen;
  uint32_t link_type;  // LINKTYPE_ in the low 16 bits
} __attribute__((packed));
static_assert(sizeof(PcapGlobalHeader) == kPcapHeaderLen);

// pcapng (draft-ietf-opsawg-pcapng). Block: type, total length, body,
// total length again; lengths are multiples of 4.
constexpr uint32_t kShbType = 0x0A0D0D0A;  // palindrome: same in both orders
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;
constexpr uint32_t kIdbType = 1;
constexpr uint32_t kObsoletePacketType = 2;  // pre-EPB packet block
constexpr uint32_t kSpbType = 3;
constexpr uint32_t kEpbType = 6;
constexpr size_t kBlockOverhead = 12;  // type + two length fields
constexpr size_t kShbMinLen = 28;      // + BOM, version, section length
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kOptIfTsoffset = 14;
// More interfaces than this in one section is taken as corruption: it bounds
// the memory a hostile file can make us allocate.
constexpr size_t kMaxInterfaces = 65536;

constexpr uint64_t kNsPerSec = 1000000000;
__extension__ typedef unsigned __int128 Uint128;  // GCC/Clang builtin

inline uint16_t load16(const uint8_t* p, bool swap) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return swap ? __builtin_bswap16(v) : v;
}
inline uint32_t load32(const uint8_t* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return swap ? __builtin_bswap32(v) : v;
}
inline uint64_t load64(const uint8_t* p, bool swap) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return swap ? __builtin_bswap64(v) : v;
}
constexpr uint32_t pad4(uint32_t n) { return (n + 3) & ~uint32_t{3}; }

bool is_packet_block(uint32_t type) {
  return type == kEpbType || type == kSpbType || type == kObsoletePacketType;
}

// Smallest body (block length - 12) of the block types we interpret; the
// others are skipped whatever their size.
uint32_t min_body_len(uint32_t type) {
  switch (type) {
    case kShbType:
      return 16;  // byte-order magic, version, section length
    case kIdbType:
      return 8;  // link type, reserved, snaplen
    case kEpbType:
    case kObsoletePacketType:
      return 20;  // interface, timestamp, caplen, original length
    case kSpbType:
      return 4;  // original length
    default:
      return 0;
  }
}

__attribute__((format(printf, 1, 2))) std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- reader --

uint64_t CaptureReader::Interface::to_ns(uint64_t units) const {
  uint64_t ns;
  switch (scale) {
    case Scale::kMultiply:
      ns = units * factor;  // wraps only for timestamps past year 2554
      break;
    case Scale::kDivide:
      ns = units / factor;
      break;
    default:  // Scale::kShift
      ns = static_cast<uint64_t>((static_cast<Uint128>(units) * kNsPerSec) >>
                                 shift);
      break;
  }
  return ns + offset_ns;
}

namespace {
constexpr size_t kStreamBufferLen = size_t{1} << 20;
constexpr size_t kMaxStreamBufferLen = size_t{64} << 20;
constexpr size_t kRefillBelow = size_t{128} << 10;
static_assert(kStreamBufferLen >= kPcapRecordHeaderLen + kMaxCaptureSnaplen + 64);
}  // namespace

std::unique_ptr<CaptureReader> CaptureReader::open(const std::string& path,
                                                   std::string* error,
                                                   bool (*interrupted)()) {
  const bool std_in = path == "-";
  const std::string name = std_in ? "standard input" : path;
  auto fail_open = [&](const std::string& why) {
    *error = name + ": " + why;
    return nullptr;
  };
  // Standard input is duplicated so that closing the reader leaves fd 0.
  // Opening a FIFO waits for its writer; a signal may end that wait.
  int fd;
  do {
    fd = std_in ? fcntl(0, F_DUPFD_CLOEXEC, 3) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR && !(interrupted != nullptr && interrupted()));
  if (fd < 0) {
    return fail_open(errno == EINTR ? "interrupted while waiting for a writer" : std::strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail_open(std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail_open("is a directory");
  }
  std::unique_ptr<CaptureReader> r(new CaptureReader());
  r->path_ = name;
  if (S_ISREG(st.st_mode)) {
    const size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
      ::close(fd);
      return fail_open("empty file (0 bytes), not a pcap or pcapng capture");
    }
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    ::close(fd);  // the mapping keeps the file open
    if (map == MAP_FAILED) {
      return fail_open(std::string("mmap: ") + std::strerror(map_errno));
    }
    madvise(map, size, MADV_SEQUENTIAL);  // a hint; failure is harmless
    r->map_ = static_cast<const uint8_t*>(map);
    r->size_ = size;
  } else {
    r->fd_ = fd;  // closed by the destructor
    r->interrupted_ = interrupted;
    r->buffer_.reset(new uint8_t[kStreamBufferLen]);
    r->buffer_len_ = kStreamBufferLen;
    r->map_ = r->buffer_.get();
    if (!r->want(4) && r->size_ == 0 && !r->gave_up_) {
      return fail_open(r->read_error_.empty()
                           ? "empty input (no bytes before its end), not a pcap or pcapng capture"
                           : "read: " + r->read_error_);
    }
  }
  // A stream's wait for its header can be given up (SIGINT).
  auto fail_short = [&](const std::string& why) {
    return fail_open(r->gave_up_ ? "interrupted while waiting for the capture header" : why);
  };
  // want() may grow a stream's buffer: `p` is read again after each call.
  const uint8_t* p = r->map_;
  const char* what = r->is_stream() ? "input" : "file";

  if (!r->want(4)) {
    return fail_short(format("%s too short (%zu bytes) for a capture header", what, r->size_));
  }
  p = r->map_;
  const uint32_t magic = load32(p, false);
  if (magic == kShbType) {
    // Validate the first SHB here so that open() fails on a non-pcapng file;
    // read_burst() parses it again like any later section.
    if (!r->want(kShbMinLen)) {
      return fail_short(
          format("truncated pcapng section header: %zu of at least %zu bytes",
                 r->size_, kShbMinLen));
    }
    p = r->map_;
    const uint32_t bom = load32(p + 8, false);
    if (bom != kByteOrderMagic && bom != __builtin_bswap32(kByteOrderMagic)) {
      return fail_open(
          format("not a pcapng file: byte-order magic 0x%08" PRIx32, bom));
    }
    r->pcapng_ = true;
    r->swap_ = bom != kByteOrderMagic;
    const uint32_t len = load32(p + 4, r->swap_);
    if (len < kShbMinLen || len % 4 != 0 || (r->is_stream() && len > kMaxStreamBufferLen)) {
      return fail_open(
          format("corrupt pcapng section header: block length %" PRIu32, len));
    }
    if (!r->want(len)) {
      return fail_short(format("truncated pcapng section header: %" PRIu32
                               " bytes, %zu in the %s",
                               len, r->size_, what));
    }
    p = r->map_;
    if (load32(p + len - 4, r->swap_) != len) {
      return fail_open(
          "corrupt pcapng section header: trailing block length differs");
    }
    // Look ahead (without consuming) for the first IDB of the section, so
    // link_type() is known before reading. Bounded: stops at the first
    // packet, a new section, anything malformed, or after 1024 blocks. A
    // stream is waited for (a writer sends its first IDB with the SHB), up
    // to the most its buffer holds.
    size_t off = len;
    for (int i = 0; i < 1024 && r->want(off + kBlockOverhead); ++i) {
      p = r->map_;
      const uint32_t type = load32(p + off, r->swap_);
      const uint32_t blen = load32(p + off + 4, r->swap_);
      if (blen < kBlockOverhead || blen % 4 != 0 || !r->want(off + blen)) break;
      p = r->map_;
      if (type == kIdbType && blen >= kBlockOverhead + 8) {
        r->first_link_type_ = load16(p + off + 8, r->swap_);
        break;
      }
      if (type == kShbType || is_packet_block(type)) break;
      off += blen;
    }
    return r;
  }

  const bool swap = magic == __builtin_bswap32(kPcapMagicUsec) ||
                    magic == __builtin_bswap32(kPcapMagicNsec);
  const uint32_t host_magic = swap ? __builtin_bswap32(magic) : magic;
  if (host_magic != kPcapMagicUsec && host_magic != kPcapMagicNsec) {
    return fail_open(format("not a pcap or pcapng file (magic 0x%08" PRIx32 ")",
                            load32(p, true)));  // as written, big-endian
  }
  if (!r->want(kPcapHeaderLen)) {
    return fail_short(format("truncated pcap global header: %zu of %zu bytes",
                             r->size_, kPcapHeaderLen));
  }
  p = r->map_;
  r->swap_ = swap;
  Interface& itf = r->pcap_interface_;
  itf.snaplen = load32(p + 16, swap);
  // The link-type field's upper bits carry FCS information; the low 16 bits
  // are the LINKTYPE_ value.
  itf.link_type = static_cast<uint16_t>(load32(p + 20, swap) & 0xffff);
  itf.factor = host_magic == kPcapMagicNsec ? 1 : 1000;  // per fraction unit
  r->first_link_type_ = itf.link_type;
  r->offset_ = kPcapHeaderLen;
  return r;
}

CaptureReader::~CaptureReader() {
  if (fd_ >= 0) {
    ::close(fd_);
  } else if (map_ != nullptr) {
    munmap(const_cast<uint8_t*>(map_), size_);
  }
}

bool CaptureReader::want(size_t n) {
  if (fd_ < 0) return size_ - offset_ >= n;
  if (offset_ + n > kMaxStreamBufferLen) return false;  // never buffered whole
  if (offset_ + n > buffer_len_) resize_buffer(std::min(kMaxStreamBufferLen,
                                                        std::bit_ceil(offset_ + n)));
  // interrupted_ is asked before every wait, and a wait lasts at most
  // 100 ms: a signal that comes just before poll() is not missed for long.
  while (size_ - offset_ < n && !eof_) {
    if (interrupted_ != nullptr && interrupted_()) {
      gave_up_ = true;
      break;
    }
    if (wait_readable(100)) read_available();
  }
  return size_ - offset_ >= n;
}

bool CaptureReader::wait_readable(int wait_ms) {
  pollfd pfd{fd_, POLLIN, 0};
  // POLLHUP (the writer is gone) and POLLERR count as readable: read()
  // then says end of input or the error.
  const int ready = poll(&pfd, 1, wait_ms);
  if (ready < 0 && errno != EINTR) {  // cannot wait: end like a failed read
    read_error_ = std::string("poll: ") + std::strerror(errno);
    eof_ = true;
  }
  return ready > 0;
}

void CaptureReader::read_available() {
  // poll() said readable, so one read does not block, whatever the
  // descriptor's O_NONBLOCK (shared with whoever handed it over).
  const ssize_t got = ::read(fd_, buffer_.get() + size_, buffer_len_ - size_);
  if (got > 0) {
    size_ += static_cast<size_t>(got);
  } else if (got == 0) {
    eof_ = true;
  } else if (errno != EINTR && errno != EAGAIN) {
    // An input that fails to read ends like one cut short.
    read_error_ = std::strerror(errno);
    eof_ = true;
  }
}

void CaptureReader::resize_buffer(size_t len) {
  std::unique_ptr<uint8_t[]> next(new uint8_t[len]);
  std::memcpy(next.get(), buffer_.get(), size_);
  buffer_ = std::move(next);
  buffer_len_ = len;
  map_ = buffer_.get();
}

void CaptureReader::refill(int wait_ms) {
  if (offset_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + offset_, size_ - offset_);
    base_ += offset_;
    size_ -= offset_;
    offset_ = 0;
  }
  // A block larger than the buffer (pcapng allows them): grow, up to a
  // limit. Records returned before are invalid by now anyway. Once such
  // blocks are past, the buffer goes back to its usual size.
  if (size_ == buffer_len_ && buffer_len_ < kMaxStreamBufferLen) {
    resize_buffer(buffer_len_ * 2);
  } else if (buffer_len_ > kStreamBufferLen && size_ <= kStreamBufferLen / 2) {
    resize_buffer(kStreamBufferLen);
  }
  // Whatever has arrived (a pipe returns what it holds), waiting only for
  // the first bytes.
  while (!eof_ && size_ < buffer_len_ && wait_readable(wait_ms)) {
    read_available();
    wait_ms = 0;
  }
}

bool CaptureReader::fail(Status status, const std::string& what) {
  status_ = status;
  error_ = path_ +
           (status == Status::kTruncated ? ": truncated: " : ": corrupt: ") +
           what;
  if (status == Status::kTruncated && !read_error_.empty()) error_ += " (read: " + read_error_ + ")";
  return false;
}

std::string CaptureReader::describe_block(uint32_t type) const {
  if (is_packet_block(type)) {
    return format("record %" PRIu64 " at byte offset %zu", records_read_ + 1,
                  pos());
  }
  return format("block type 0x%08" PRIx32 " at byte offset %zu", type, pos());
}

size_t CaptureReader::read_burst(CaptureRecord* out, size_t max, int wait_ms) {
  if (status_ != Status::kOk) return 0;
  if (fd_ < 0) {
    populate_ahead();
    return parse(out, max);
  }
  // Refill only when little is left: the unread tail moves to the front,
  // and moving most of the buffer every burst cost 8x the whole run.
  if (size_ - offset_ < kRefillBelow) refill(0);
  size_t n = parse(out, max);
  if (n > 0 || status_ != Status::kOk) return n;
  // Nothing complete is buffered: make room, then wait for input.
  refill(wait_ms);
  n = parse(out, max);
  if (n == 0 && status_ == Status::kOk && size_ - offset_ == kMaxStreamBufferLen) {
    // Full at the limit, and still no complete block.
    const uint32_t len = load32(map_ + (pcapng_ ? 4 : 8), swap_);
    fail(Status::kCorrupt, format("record or block at byte offset %zu is %" PRIu32
                                  " bytes, over the %zu a stream is read in",
                                  pos(), len, kMaxStreamBufferLen));
  }
  return n;
}

// The mapping is faulted in a window ahead of the reader, one madvise per
// window, instead of one page fault per 16 pages on first touch (the kernel's
// fault-around): on a 393 MB capture in the page cache the faults were a
// tenth of the offline run. MADV_POPULATE_READ (Linux 5.14) waits for any
// read it needs, so the window after it is asked for at the same time with
// MADV_WILLNEED, which only starts the reads: a capture not yet cached is
// read ahead while the worker judges. Both are hints: on older kernels they
// fail and pages fault in as before. Bounded, so a huge capture is never
// read (or kept) whole ahead of the reader.
void CaptureReader::populate_ahead() {
  constexpr size_t kWindow = 8u << 20;
  constexpr size_t kPage = 4096;
  if (populated_ >= size_ || offset_ + kWindow / 2 < populated_) return;
  // Large records can carry the reader past the populated part: start
  // from the reader, not behind it.
  const size_t start = std::max(populated_, offset_ / kPage * kPage);
  const size_t len = std::min(kWindow, size_ - start);
  auto* base = const_cast<uint8_t*>(map_);
#ifdef MADV_POPULATE_READ
  madvise(base + start, len, MADV_POPULATE_READ);
#endif
  const size_t next = start + len;
  if (next < size_) madvise(base + next, std::min(kWindow, size_ - next), MADV_WILLNEED);
  populated_ = next;
}

size_t CaptureReader::read_pcap(CaptureRecord* out, size_t max) {
  const Interface& itf = pcap_interface_;
  size_t n = 0;
  // Hardware prefetchers stop at 4 KiB pages: touch the mapping a few pages
  // ahead so each new page's first record does not stall (offline main
  // loop: 12.3 -> 14.8 Mpps on small packets). A hint; never faults.
  constexpr size_t kAhead = 4 * 4096;
  while (n < max) {
    if (offset_ + kAhead < size_) prefetch_line(map_ + offset_ + kAhead);
    const size_t remain = size_ - offset_;
    if (remain < kPcapRecordHeaderLen) {
      if (more_may_come()) break;
      if (remain == 0) {
        status_ = Status::kEnd;
      } else {
        fail(Status::kTruncated,
             format("record %" PRIu64
                    " at byte offset %zu needs a %zu-byte header, %zu remain",
                    records_read_ + 1, pos(), kPcapRecordHeaderLen, remain));
      }
      break;
    }
    const uint8_t* h = map_ + offset_;
    const uint32_t caplen = load32(h + 8, swap_);
    if (caplen > kMaxCaptureSnaplen) {
      fail(Status::kCorrupt,
           format("record %" PRIu64 " at byte offset %zu: caplen %" PRIu32
                  " exceeds the %" PRIu32 "-byte maximum",
                  records_read_ + 1, pos(), caplen, kMaxCaptureSnaplen));
      break;
    }
    if (remain - kPcapRecordHeaderLen < caplen) {
      if (more_may_come()) break;
      fail(Status::kTruncated,
           format("record %" PRIu64 " at byte offset %zu needs %zu bytes "
                  "(%zu-byte header + %" PRIu32 " captured), %zu remain",
                  records_read_ + 1, pos(), kPcapRecordHeaderLen + caplen,
                  kPcapRecordHeaderLen, caplen, remain));
      break;
    }
    const uint32_t wire_len = load32(h + 12, swap_);
    CaptureRecord& rec = out[n++];
    rec.data = h + kPcapRecordHeaderLen;
    rec.caplen = caplen;
    rec.wire_len = wire_len < caplen ? caplen : wire_len;
    // Seconds fit 32 bits; a fraction of 1e6+ (broken writers) just adds on.
    rec.ts_ns =
        load32(h, swap_) * kNsPerSec + load32(h + 4, swap_) * itf.factor;
    rec.link_type = itf.link_type;
    offset_ += kPcapRecordHeaderLen + caplen;
    ++records_read_;
  }
  return n;
}

bool CaptureReader::add_interface(const uint8_t* body, uint32_t body_len) {
  if (interfaces_.size() >= kMaxInterfaces) {
    return fail(Status::kCorrupt,
                describe_block(kIdbType) +
                    format(": more than %zu interfaces", kMaxInterfaces));
  }
  Interface itf;
  itf.link_type = load16(body, swap_);
  itf.snaplen = load32(body + 4, swap_);
  // Options: code, length, value padded to 4 bytes; opt_endofopt ends them.
  uint32_t off = 8;
  while (body_len - off >= 4) {
    const uint16_t code = load16(body + off, swap_);
    const uint16_t len = load16(body + off + 2, swap_);
    if (code == kOptEnd) break;
    if (pad4(len) > body_len - off - 4) {
      return fail(Status::kCorrupt,
                  describe_block(kIdbType) +
                      format(": option %u overruns the block", code));
    }
    const uint8_t* value = body + off + 4;
    if (code == kOptIfTsresol && len >= 1) {
      // Bit 7 set: 2^-n seconds, else 10^-n. Limits as Wireshark's.
      const uint8_t exp = value[0] & 0x7f;
      if (value[0] & 0x80) {
        if (exp >= 64) {
          return fail(Status::kCorrupt, describe_block(kIdbType) +
                                            ": if_tsresol 2^-" +
                                            std::to_string(exp));
        }
        itf.scale = Interface::Scale::kShift;
        itf.shift = exp;
      } else {
        if (exp >= 20) {
          return fail(Status::kCorrupt, describe_block(kIdbType) +
                                            ": if_tsresol 10^-" +
                                            std::to_string(exp));
        }
        uint64_t pow10 = 1;
        for (int i = 0; i < (exp <= 9 ? 9 - exp : exp - 9); ++i) pow10 *= 10;
        itf.scale =
            exp <= 9 ? Interface::Scale::kMultiply : Interface::Scale::kDivide;
        itf.factor = pow10;
      }
    } else if (code == kOptIfTsoffset && len >= 8) {
      // Signed seconds; two's-complement wrap gives the signed sum.
      itf.offset_ns = load64(value, swap_) * kNsPerSec;
    }
    off += 4 + pad4(len);
  }
  interfaces_.push_back(itf);
  return true;
}

size_t CaptureReader::read_pcapng(CaptureRecord* out, size_t max) {
  size_t n = 0;
  while (n < max) {
    const size_t remain = size_ - offset_;
    if (remain < kBlockOverhead && more_may_come()) break;
    if (remain == 0) {
      status_ = Status::kEnd;
      break;
    }
    const uint8_t* block = map_ + offset_;
    if (remain < kBlockOverhead) {
      fail(Status::kTruncated,
           format("block at byte offset %zu (after record %" PRIu64
                  ") needs at least %zu bytes, %zu remain",
                  pos(), records_read_, kBlockOverhead, remain));
      break;
    }
    const uint32_t type = load32(block, swap_);
    if (type == kShbType) {
      // A new section may switch byte order: its BOM decides.
      const uint32_t bom = load32(block + 8, false);
      if (bom != kByteOrderMagic && bom != __builtin_bswap32(kByteOrderMagic)) {
        fail(Status::kCorrupt,
             describe_block(type) +
                 format(": byte-order magic 0x%08" PRIx32, bom));
        break;
      }
      swap_ = bom != kByteOrderMagic;
    }
    const uint32_t len = load32(block + 4, swap_);
    if (len < kBlockOverhead || len % 4 != 0) {
      fail(Status::kCorrupt,
           describe_block(type) +
               format(": block length %" PRIu32
                      " (must be a multiple of 4, at least 12)",
                      len));
      break;
    }
    if (len > remain) {
      if (more_may_come()) break;
      fail(Status::kTruncated,
           describe_block(type) +
               format(" needs %" PRIu32 " bytes, %zu remain", len, remain));
      break;
    }
    if (load32(block + len - 4, swap_) != len) {
      fail(Status::kCorrupt,
           describe_block(type) + format(": trailing block length %" PRIu32
                                         " != %" PRIu32,
                                         load32(block + len - 4, swap_), len));
      break;
    }
    const uint8_t* body = block + 8;
    const uint32_t body_len = len - static_cast<uint32_t>(kBlockOverhead);
    if (body_len < min_body_len(type)) {
      fail(
          Status::kCorrupt,
          describe_block(type) +
              format(": block length %" PRIu32 " too short for its type", len));
      break;
    }

    if (type == kShbType) {
      interfaces_.clear();  // interface ids are per section
    } else if (type == kIdbType) {
      if (!add_interface(body, body_len)) break;
    } else if (is_packet_block(type)) {
      // EPB:  if_id(4) ts_high(4) ts_low(4) caplen(4) orig_len(4) data
      // OPB:  if_id(2) drops(2)   ts_high(4) ts_low(4) caplen(4) len(4) data
      // SPB:  orig_len(4) data; caplen from the block length and snaplen.
      const uint32_t if_id = type == kEpbType              ? load32(body, swap_)
                             : type == kObsoletePacketType ? load16(body, swap_)
                                                           : 0;
      if (if_id >= interfaces_.size()) {
        fail(Status::kCorrupt,
             describe_block(type) + format(": interface %" PRIu32
                                           " not defined (%zu in section)",
                                           if_id, interfaces_.size()));
        break;
      }
      const Interface& itf = interfaces_[if_id];
      uint32_t caplen, wire_len, header_len;
      uint64_t ts_ns;
      if (type == kSpbType) {
        header_len = 4;
        wire_len = load32(body, swap_);
        caplen = body_len - header_len;  // includes padding
        if (wire_len < caplen) caplen = wire_len;
        if (itf.snaplen != 0 && itf.snaplen < caplen) caplen = itf.snaplen;
        ts_ns = last_ts_ns_;
      } else {
        header_len = 20;
        caplen = load32(body + 12, swap_);
        wire_len = load32(body + 16, swap_);
        const uint64_t units =
            uint64_t{load32(body + 4, swap_)} << 32 | load32(body + 8, swap_);
        ts_ns = itf.to_ns(units);
      }
      if (caplen > kMaxCaptureSnaplen) {
        fail(Status::kCorrupt,
             describe_block(type) + format(": caplen %" PRIu32
                                           " exceeds the %" PRIu32
                                           "-byte maximum",
                                           caplen, kMaxCaptureSnaplen));
        break;
      }
      if (caplen > body_len - header_len) {
        fail(Status::kCorrupt,
             describe_block(type) + format(": caplen %" PRIu32
                                           " overruns block length %" PRIu32,
                                           caplen, len));
        break;
      }
      CaptureRecord& rec = out[n++];
      rec.data = body + header_len;
      rec.caplen = caplen;
      rec.wire_len = wire_len < caplen ? caplen : wire_len;
      rec.ts_ns = ts_ns;
      rec.link_type = itf.link_type;
      last_ts_ns_ = ts_ns;
      ++records_read_;
    }
    offset_ += len;
  }
  return n;
}

// ---------------------------------------------------------------- writer --

std::unique_ptr<CaptureWriter> CaptureWriter::open(const std::string& path,
                                                   uint16_t link_type,
                                                   std::string* error,
                                                   Rotation rotation,
                                                   std::function<bool()> stop) {
  std::unique_ptr<CaptureWriter> w(new CaptureWriter());
  const PcapGlobalHeader header = {kPcapMagicNsec,     2,        4, 0, 0,
                                   kMaxCaptureSnaplen, link_type};
  OutFileOptions o;
  o.rotation = rotation;
  o.header.assign(reinterpret_cast<const char*>(&header), sizeof header);
  o.stop = std::move(stop);
  // The header goes out at once: an unwritable file shows now, not at the end.
  w->file_ = OutFile::open(path, error, std::move(o));
  if (!w->file_) return nullptr;
  return w;
}

bool CaptureWriter::write(const uint8_t* data, uint32_t caplen,
                          uint32_t wire_len, uint64_t ts_ns) {
  if (file_->failed()) {
    file_->append(nullptr, 0);  // counted lost
    return false;
  }
  // A rejected record sets error() but leaves the writer usable.
  if (caplen > kMaxCaptureSnaplen) {
    ++rejected_;
    error_ = file_->path() + format(": caplen %" PRIu32 " exceeds the snaplen %" PRIu32,
                                    caplen, kMaxCaptureSnaplen);
    return false;
  }
  const uint64_t sec = ts_ns / kNsPerSec;
  if (sec > UINT32_MAX) {
    ++rejected_;
    error_ = file_->path() +
             format(": timestamp %" PRIu64 " ns does not fit pcap's 32-bit seconds (past 2106)",
                    ts_ns);
    return false;
  }
  const uint32_t rh[4] = {static_cast<uint32_t>(sec),
                          static_cast<uint32_t>(ts_ns % kNsPerSec), caplen,
                          wire_len < caplen ? caplen : wire_len};
  static_assert(sizeof rh == kPcapRecordHeaderLen);
  return file_->append(rh, sizeof rh, data, caplen);
}

bool CaptureWriter::flush() { return file_->flush(); }

}  // namespace rstguard
