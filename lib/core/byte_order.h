// Network byte order as a type. A Be16/Be32 holds the bytes exactly as they
// are on the wire; .value() converts to host order. There is no implicit
// conversion in either direction, so a forgotten swap is a compile error.
#pragma once

#include <cstdint>
#include <type_traits>

namespace rstguard {

// Packed (alignment 1): headers sit at any offset in a frame, so a field
// may be unaligned. Trivial, so the wire structs stay POD and packed.
class __attribute__((packed)) Be16 {
 public:
  constexpr Be16() = default;
  static constexpr Be16 from_host(uint16_t v) {
    Be16 b{};
    b.raw_ = __builtin_bswap16(v);
    return b;
  }
  constexpr uint16_t value() const { return __builtin_bswap16(raw_); }
  constexpr uint16_t raw() const { return raw_; }
  friend constexpr bool operator==(Be16 a, Be16 b) { return a.raw_ == b.raw_; }

 private:
  uint16_t raw_;
};

class __attribute__((packed)) Be32 {
 public:
  constexpr Be32() = default;
  static constexpr Be32 from_host(uint32_t v) {
    Be32 b{};
    b.raw_ = __builtin_bswap32(v);
    return b;
  }
  constexpr uint32_t value() const { return __builtin_bswap32(raw_); }
  constexpr uint32_t raw() const { return raw_; }
  friend constexpr bool operator==(Be32 a, Be32 b) { return a.raw_ == b.raw_; }

 private:
  uint32_t raw_;
};

static_assert(sizeof(Be16) == 2 && alignof(Be16) == 1);
static_assert(sizeof(Be32) == 4 && alignof(Be32) == 1);
static_assert(std::is_trivial_v<Be16> && std::is_trivial_v<Be32>);

}  // namespace rstguard
