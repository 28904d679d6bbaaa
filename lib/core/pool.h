// A fixed pool of T: every entry allocated at construction, handed out and
// taken back through a free list, so that nothing is allocated on the
// packet path and nothing can outgrow its bound. Entries are named by a
// 1-based u32 reference (0: none), which is what a FlowEntry keeps: a flow
// owns the entries its references name, and no other flow can reach them.
//
// acquire() does not reset the entry: the owner initialises what it uses
// (a reassembly buffer is 4 KiB, and zeroing it per connection is waste).
// Not thread-safe: one pool per worker.
#pragma once

#include <cassert>
#include <cstdint>
#include <memory>

namespace rstguard {

template <typename T>
class Pool {
 public:
  explicit Pool(uint32_t capacity)
      : capacity_(capacity),
        items_(std::make_unique<T[]>(capacity)),
        free_(std::make_unique<uint32_t[]>(capacity)),
        owned_(std::make_unique<bool[]>(capacity)) {
    // Lowest references first: a small pool's entries stay in few lines.
    for (uint32_t i = 0; i < capacity_; ++i) free_[i] = capacity_ - i;
    free_count_ = capacity_;
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A free entry's reference, or 0 when every entry is in use (the caller
  // counts the refusal: it knows what was refused).
  uint32_t acquire() {
    if (free_count_ == 0) return 0;
    const uint32_t ref = free_[--free_count_];
    owned_[ref - 1] = true;
    return ref;
  }

  // Gives an entry back. A reference that is 0 or not in use is ignored
  // (returns false), so a double release cannot corrupt the free list.
  bool release(uint32_t ref) {
    if (ref == 0 || ref > capacity_ || !owned_[ref - 1]) return false;
    owned_[ref - 1] = false;
    free_[free_count_++] = ref;
    return true;
  }

  T& operator[](uint32_t ref) {
    assert(ref != 0 && ref <= capacity_ && owned_[ref - 1]);
    return items_[ref - 1];
  }
  const T& operator[](uint32_t ref) const {
    assert(ref != 0 && ref <= capacity_ && owned_[ref - 1]);
    return items_[ref - 1];
  }
  bool in_use(uint32_t ref) const { return ref != 0 && ref <= capacity_ && owned_[ref - 1]; }

  uint32_t capacity() const { return capacity_; }
  uint32_t used() const { return capacity_ - free_count_; }
  uint32_t available() const { return free_count_; }

 private:
  uint32_t capacity_;
  std::unique_ptr<T[]> items_;
  std::unique_ptr<uint32_t[]> free_;  // stack of free references
  std::unique_ptr<bool[]> owned_;
  uint32_t free_count_ = 0;
};

}  // namespace rstguard
