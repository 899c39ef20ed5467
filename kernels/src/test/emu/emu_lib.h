// The C ABI of libd4jemu.so: every kernel of kernels/src/main/cuda compiled for the host and
// launched by name, which is how the Java CUDA backend runs without a GPU
// (-Dd4j.cuda.emulator=<path>, see EmulatedApi). Each module's translation unit registers its
// kernels; build-emu.sh generates those units.
#pragma once
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace emu {
using Entry = void (*)(void** params);
inline std::map<std::string, Entry>& registry() {
    static std::map<std::string, Entry> r;
    return r;
}
// Parameter sizes per kernel, in order: what a recorded launch (stream capture) must copy.
inline std::map<std::string, std::vector<size_t>>& signatures() {
    static std::map<std::string, std::vector<size_t>> r;
    return r;
}
struct Registration {
    Registration(const char* name, Entry e, std::vector<size_t> sizes = {}) {
        registry()[name] = e;
        signatures()[name] = std::move(sizes);
    }
};
// One argument copied out of its cuLaunchKernel-style parameter buffer into a T of T's own alignment:
// the buffer is only 16-byte aligned, and a by-value CUtensorMap (alignas(128)) may be loaded
// with aligned vector moves, so it is never read in place.
template <class T> T arg(const void* p) {
    static_assert(std::is_trivially_copyable_v<T>, "kernel parameters are trivially copyable");
    T v;
    std::memcpy(static_cast<void*>(&v), p, sizeof(T));
    return v;
}
// Calls F with its arguments read from cuLaunchKernel-style params (one pointer per argument).
template <class... A, size_t... I>
void call(void (*f)(A...), void** p, std::index_sequence<I...>) { f(arg<std::remove_cvref_t<A>>(p[I])...); }
template <class... A> constexpr size_t arity(void (*)(A...)) { return sizeof...(A); }
template <auto F> void entry(void** p) { call(F, p, std::make_index_sequence<arity(F)>{}); }
template <class... A> std::vector<size_t> sizes_of(void (*)(A...)) { return {sizeof(std::remove_cvref_t<A>)...}; }
template <auto F> std::vector<size_t> param_sizes() { return sizes_of(F); }
}  // namespace emu
