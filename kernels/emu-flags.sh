# g++ flags shared by build-emu.sh and emu-test.sh (sourced): C++20, the emulation headers, and the
# host's FMA/F16C instructions when it has them (fmaf and half conversions are otherwise library
# calls, several times slower; the library is built and run on the same machine).
emu_flags() {
  local here=$1 flags="-std=c++20 -O2 -Wno-psabi -fno-strict-aliasing -I $1/src/main/cuda -I $1/src/test/emu -include emu.h"
  if grep -qw fma /proc/cpuinfo 2>/dev/null; then flags="$flags -mfma"; fi
  if grep -qw f16c /proc/cpuinfo 2>/dev/null; then flags="$flags -mf16c"; fi
  echo "$flags"
}
