// Capture files without DPDK or libpcap (plain POSIX): a reader for classic
// pcap and pcapng, and a classic-pcap writer. Offline mode (`rstguard -r`)
// turns the reader's records into the same packet records the NIC path makes.
//
// Thread safety: neither class is thread-safe; use one instance per thread.
// Distinct instances are independent. The bytes a CaptureRecord points to are
// read-only and may be read from any thread while their reader lives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capture/out_file.h"

namespace rstguard {

// Largest caplen read or written (libpcap's MAXIMUM_SNAPLEN). A record that
// claims more is corrupt; the writer's files declare this snaplen.
inline constexpr uint32_t kMaxCaptureSnaplen = 262144;

struct CaptureRecord {
  const uint8_t* data;  // caplen bytes, inside the reader's mapping
  uint32_t caplen;
  uint32_t wire_len;   // original length on the wire, always >= caplen
  uint64_t ts_ns;      // UTC nanoseconds since the epoch
  uint16_t link_type;  // LINKTYPE_* of the record's interface
};

// Reads a whole file through one read-only mmap: no syscall and no
// allocation per record (measured ~100 M records/s for pcap, ~250 M/s for
// pcapng: 64-byte records, 400 MB file in the page cache, bursts of 32).
// The format is chosen by the magic, never by the file name.
//
// Leniency follows libpcap and Wireshark: caplen > wire_len is accepted with
// wire_len raised to caplen; caplen > the declared snaplen is accepted;
// caplen > kMaxCaptureSnaplen is corrupt. pcapng blocks other than SHB, IDB,
// EPB, SPB and the obsolete Packet Block are skipped by their length.
// The file must not shrink while it is open (that would be SIGBUS).
//
// Streams: a path that is not a regular file (a pipe, a FIFO, a socket) or
// "-" for standard input that is not one (`tcpdump -w - -U | rstguard -r -`)
// is read with read(2) into a buffer instead (1 MiB, grown up to 64 MiB for
// a larger pcapng block). Standard input redirected from a file is mapped.
// A stream's records differ from a mapping's in two ways, see read_burst().
class CaptureReader {
 public:
  enum class Status {
    kOk,         // nothing wrong yet; more records may follow
    kEnd,        // clean end of file
    kTruncated,  // the file ends inside a record or block (an interrupted
                 // capture); every complete record before it was returned
    kCorrupt,    // a header field is impossible; records before it were
                 // returned, nothing after it is trusted
  };

  // nullptr and *error set (a message naming `path`) when the file cannot be
  // opened or mapped, is empty, or does not start with a complete pcap global
  // header or pcapng Section Header Block. A stream's header is waited for.
  // `interrupted`, if given, is asked while open() waits for a FIFO's writer
  // or a stream's header (on every signal, and every 100 ms): true gives up
  // (open fails, "interrupted ...").
  static std::unique_ptr<CaptureReader> open(const std::string& path,
                                             std::string* error,
                                             bool (*interrupted)() = nullptr);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  // Fills up to `max` records and returns how many. Records stay valid until
  // the reader is destroyed. Returns fewer than `max` only at end of file or
  // on an error, after which status() says which and every later call
  // returns 0. status() is kOk until a call returns fewer than `max`.
  //
  // A stream returns the complete records that have arrived: fewer than
  // `max`, or none after waiting up to `wait_ms` for input, with status()
  // still kOk (call again; a signal ends the wait early). Its records stay
  // valid only until the next call.
  size_t read_burst(CaptureRecord* out, size_t max, int wait_ms = 100);
  bool is_stream() const { return fd_ >= 0; }

  Status status() const { return status_; }
  // Empty while kOk/kEnd; otherwise e.g. "capture.pcap: truncated: record
  // 1234 at byte offset 567890 needs 1530 bytes, 300 remain".
  const std::string& error() const { return error_; }
  uint64_t records_read() const { return records_read_; }
  // Byte offset of the first record or block not returned: the file size
  // at kEnd, the start of the offending record or block on an error.
  uint64_t byte_offset() const { return base_ + offset_; }
  bool is_pcapng() const { return pcapng_; }
  // Link type of the first interface: for pcapng, of the first IDB of the
  // first section, or 0 if none comes before the first packet.
  uint16_t link_type() const { return first_link_type_; }

 private:
  // One pcapng interface (IDB), or the single implicit one of a pcap file.
  struct Interface {
    enum class Scale : uint8_t { kMultiply, kDivide, kShift };
    uint16_t link_type = 0;
    uint32_t snaplen = 0;  // 0 = unlimited
    Scale scale = Scale::kMultiply;
    uint8_t shift = 0;       // kShift: ns = units * 1e9 >> shift
    uint64_t factor = 1000;  // kMultiply / kDivide (default: usec)
    uint64_t offset_ns = 0;  // if_tsoffset * 1e9, two's complement
    uint64_t to_ns(uint64_t units) const;
  };

  CaptureReader() = default;
  size_t parse(CaptureRecord* out, size_t max) {
    return pcapng_ ? read_pcapng(out, max) : read_pcap(out, max);
  }
  // Streams: true while input may still bring the bytes a record lacks.
  bool more_may_come() const { return fd_ >= 0 && !eof_; }
  size_t pos() const { return static_cast<size_t>(base_ + offset_); }
  // Streams: reads until at least `n` bytes are buffered past offset_ (the
  // buffer grows for them, up to its limit), the input ends, or
  // interrupted_ (asked at least every 100 ms) says to give up; never moves
  // buffered bytes past offset_. Mapped: nothing to read. True when `n`
  // are there.
  bool want(size_t n);
  // Streams: true when a read will not block, within wait_ms (-1: ever).
  bool wait_readable(int wait_ms);
  // Streams: one read(2) of what is there into the buffer's free end.
  void read_available();
  void resize_buffer(size_t len);
  // Streams: drops the consumed bytes (invalidating earlier records), grows
  // the buffer if one incomplete block fills it, and reads what has
  // arrived, waiting up to wait_ms for the first byte.
  void refill(int wait_ms);
  size_t read_pcap(CaptureRecord* out, size_t max);
  void populate_ahead();
  size_t read_pcapng(CaptureRecord* out, size_t max);
  // Parses an IDB body into interfaces_; false after fail().
  bool add_interface(const uint8_t* body, uint32_t body_len);
  bool fail(Status status, const std::string& what);
  std::string describe_block(uint32_t type) const;

  std::string path_;
  const uint8_t* map_ = nullptr;  // the mapping, or a stream's buffer
  size_t size_ = 0;               // bytes in it
  size_t offset_ = 0;             // next record or block, from map_
  uint64_t base_ = 0;             // stream offset of map_[0]
  int fd_ = -1;                   // a stream's descriptor
  bool (*interrupted_)() = nullptr;
  bool gave_up_ = false;          // interrupted_ said so: open() fails
  bool eof_ = false;              // the stream has ended
  std::string read_error_;        // why it ended, if read(2) failed
  std::unique_ptr<uint8_t[]> buffer_;
  size_t buffer_len_ = 0;
  size_t populated_ = 0;  // the mapping is populated up to here
  uint64_t records_read_ = 0;
  Status status_ = Status::kOk;
  std::string error_;
  bool pcapng_ = false;
  bool swap_ = false;  // file (pcap) or current section (pcapng) byte order
  uint16_t first_link_type_ = 0;
  uint64_t last_ts_ns_ = 0;  // given to Simple Packet Blocks (no timestamp)
  Interface pcap_interface_;
  std::vector<Interface> interfaces_;  // of the current pcapng section
};

// Writes classic pcap in host byte order with the nanosecond magic
// (0xa1b23c4d), snaplen kMaxCaptureSnaplen, through an OutFile (1 MiB
// buffer; a failed write never leaves half a record).
class CaptureWriter {
 public:
  // Creates or truncates `path` (and the folders above it) and writes the
  // global header. nullptr and *error set (naming `path`) on failure. With
  // a rotation, an existing non-empty `path` is rotated away first, and a
  // record that would take the file past max_bytes starts a new file (with
  // its own header). `stop` ends a wait for a FIFO's reader.
  static std::unique_ptr<CaptureWriter> open(const std::string& path,
                                             uint16_t link_type,
                                             std::string* error,
                                             Rotation rotation = {},
                                             std::function<bool()> stop = {});
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // Appends one record. wire_len below caplen is raised to caplen. Rejects
  // (returns false, writes nothing, stays usable, counts it in
  // records_rejected()) caplen > kMaxCaptureSnaplen and timestamps past
  // 2106 (32-bit seconds). After an I/O failure (failed()) every call is
  // false and the record counts as lost.
  bool write(const uint8_t* data, uint32_t caplen, uint32_t wire_len,
             uint64_t ts_ns);
  bool flush();
  bool close() { return file_->close(); }
  // The I/O failure, else the latest rejection's reason.
  const std::string& error() const { return failed() ? file_->error() : error_; }
  bool failed() const { return file_->failed(); }
  // Records that reached the file (flushed).
  uint64_t records_written() const { return file_->records_written(); }
  uint64_t records_lost() const { return file_->records_lost(); }
  uint64_t records_rejected() const { return rejected_; }
  uint64_t rotations() const { return file_->rotations(); }
  // Set when a rotation failed (a rename): writing went on in the current
  // file, which is not rotated again. Returns it once, then "".
  std::string take_warning() { return file_->take_warning(); }

 private:
  CaptureWriter() = default;

  std::unique_ptr<OutFile> file_;
  uint64_t rejected_ = 0;
  std::string error_;
};

}  // namespace rstguard
