// The C ABI of libd4jemu.so: every kernel of kernels/src/main/cuda (except the sm_90 wgmma module)
// compiled for the host and launched by name, which is how the Java CUDA backend runs without a GPU
// (-Dd4j.cuda.emulator=<path>, see EmulatedApi). Each module's translation unit registers its
// kernels; build-emu.sh generates those units.
#pragma once
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace emu {
using Entry = void (*)(void** params);
inline std::map<std::string, Entry>& registry() {
    static std::map<std::string, Entry> r;
    return r;
}
struct Registration {
    Registration(const char* name, Entry e) { registry()[name] = e; }
};
// Calls F with its arguments read from cuLaunchKernel-style params (one pointer per argument).
template <class... A, size_t... I>
void call(void (*f)(A...), void** p, std::index_sequence<I...>) { f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(p[I])...); }
template <class... A> constexpr size_t arity(void (*)(A...)) { return sizeof...(A); }
template <auto F> void entry(void** p) { call(F, p, std::make_index_sequence<arity(F)>{}); }
}  // namespace emu
