// libd4jemu.so's entry points (ABI in emu_lib.h; mirrored by EmulatedApi in the Java backend).
#include "emu.h"
#include "emu_lib.h"
#include <cuda.h>  // the stand-in of src/test/emu: CUtensorMap and the emulated cuTensorMapEncodeTiled
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

namespace {
std::mutex launches;  // the emulator runs one grid at a time
thread_local std::string last_error;
// H100's opt-in limit per block, the largest an emulated device reports (sm_80 reports A100's 163840;
// EmulatedApi refuses a launch past the reported limit before it gets here).
constexpr unsigned MAX_SMEM = 232448;

int fail(int code, std::string why) { last_error = std::move(why); return code; }

// D4J_EMU_PTXAS=<summary.txt of check-spills.sh>: each kernel's registers per thread as nvcc built it
// (the most over its archs). A GPU refuses a launch whose block needs more than an SM's 65536
// registers (CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, 701), which a host run would never notice; so does
// the emulator with this table. Registers are allocated per warp in units of 256.
constexpr int LAUNCH_OUT_OF_RESOURCES = 701, REGISTERS_PER_BLOCK = 65536;
struct Registers {
    std::map<std::string, int> most;
    Registers() {
        const char* path = std::getenv("D4J_EMU_PTXAS");
        if (!path || !*path) return;
        std::ifstream in(path);
        std::string kernel, arch;
        int regs;
        std::string line;
        std::getline(in, line);  // header
        while (in >> kernel >> arch >> regs) {
            most[kernel] = std::max(most[kernel], regs);
            std::getline(in, line);
        }
    }
    // Registers a block of `threads` takes, or 0 when the kernel is not in the table.
    long block(const std::string& kernel, unsigned threads) const {
        auto it = most.find(kernel);
        if (it == most.end()) return 0;
        long perWarp = (it->second * 32L + 255) / 256 * 256;
        return (threads + 31) / 32 * perWarp;
    }
} registers;

// D4J_EMU_PROFILE=<file>: host seconds, launches and blocks per kernel, written to the file at exit
// ("-" for stderr), to see where an emulated run spends its time. It says nothing about a GPU's speed.
struct Profile {
    struct Row { double seconds = 0; long launches = 0; double blocks = 0; };
    const char* path = std::getenv("D4J_EMU_PROFILE");
    bool on = path && *path;
    std::map<std::string, Row> rows;
    ~Profile() {
        if (!on || rows.empty()) return;
        FILE* out = std::strcmp(path, "-") == 0 ? stderr : std::fopen(path, "w");
        if (!out) return;
        std::vector<std::pair<std::string, Row>> sorted(rows.begin(), rows.end());
        std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second.seconds > b.second.seconds; });
        std::fprintf(out, "%-48s %10s %9s %12s\n", "kernel", "seconds", "launches", "blocks");
        for (auto& [name, r] : sorted)
            std::fprintf(out, "%-48s %10.3f %9ld %12.0f\n", name.c_str(), r.seconds, r.launches, r.blocks);
        if (out != stderr) std::fclose(out);
    }
} profile;
}  // namespace

// The kernels' translation units are compiled with -fsanitize=alignment (build-emu.sh). A load or
// store at an address its type's alignment forbids (a uint4 off 16 bytes, a half2 off 4) faults on
// a GPU (CUDA_ERROR_MISALIGNED_ADDRESS) but not on x86, so the emulator would pass it. These are the
// handlers GCC's instrumentation calls (UBSan's ABI; no sanitizer runtime is linked): they stop the
// grid as a trap does, naming the type, the address and the kernel source line.
namespace {
struct SourceLocation { const char* file; uint32_t line, column; };
struct TypeDescriptor { uint16_t kind, info; char name[1]; };
struct TypeMismatch { SourceLocation at; const TypeDescriptor* type; unsigned char logAlignment, checkKind; };
[[noreturn]] void misaligned(const TypeMismatch* d, uintptr_t address) {
    static thread_local char why[512];
    std::snprintf(why, sizeof why, "misaligned address 0x%lx for %s (%u-byte alignment) at %s:%u", (unsigned long)address,
                  d->type->name, 1u << d->logAlignment, d->at.file, d->at.line);
    emu::trap(why);
}
}  // namespace
extern "C" void __ubsan_handle_type_mismatch_v1(const TypeMismatch* d, uintptr_t address) { misaligned(d, address); }
extern "C" void __ubsan_handle_type_mismatch_v1_abort(const TypeMismatch* d, uintptr_t address) { misaligned(d, address); }

extern "C" int d4j_emu_has(const char* kernel) { return emu::registry().count(kernel) ? 1 : 0; }

extern "C" const char* d4j_emu_error() { return last_error.c_str(); }

extern "C" int d4j_emu_param_sizes(const char* kernel, size_t* sizes, int max) {
    auto it = emu::signatures().find(kernel);
    if (it == emu::signatures().end()) return -1;
    int n = (int)it->second.size();
    for (int i = 0; i < n && i < max; i++) sizes[i] = it->second[i];
    return n;
}

extern "C" int d4j_emu_launch(const char* kernel, unsigned gx, unsigned gy, unsigned gz, unsigned block, unsigned smem, void** params) {
    auto it = emu::registry().find(kernel);
    if (it == emu::registry().end()) return fail(500, std::string("no kernel named ") + kernel + " in libd4jemu");
    if (gx == 0 || gy == 0 || gz == 0 || block == 0 || block > 1024 || gy > 65535 || gz > 65535 || smem > MAX_SMEM)
        return fail(1, std::string(kernel) + ": invalid launch (grid " + std::to_string(gx) + "x" + std::to_string(gy) + "x" +
                           std::to_string(gz) + ", block " + std::to_string(block) + ", shared " + std::to_string(smem) + " B)");
    if (long need = registers.block(kernel, block); need > REGISTERS_PER_BLOCK)
        return fail(LAUNCH_OUT_OF_RESOURCES, std::string(kernel) + ": a block of " + std::to_string(block) + " threads needs " +
                                             std::to_string(need) + " registers (" + std::to_string(registers.most.at(kernel)) +
                                             " per thread, ptxas), more than an SM's " + std::to_string(REGISTERS_PER_BLOCK));
    std::lock_guard<std::mutex> lock(launches);
    emu::failure.clear();
    emu::Entry e = it->second;
    auto start = std::chrono::steady_clock::now();
    bool ok = emu::run_grid(dim3{gx, gy, gz}, block, smem, [&] { e(params); });
    if (profile.on) {
        Profile::Row& r = profile.rows[kernel];
        r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        r.launches++;
        r.blocks += double(gx) * gy * gz;
    }
    if (!ok) return fail(719, std::string(kernel) + ": " + emu::failure);
    return 0;
}

// cuTensorMapEncodeTiled with the driver's exact signature, bound by the Java backend's HopperDriver
// in place of libcuda's under the emulator: the map it fills is what the emulated
// cp.async.bulk.tensor of gemm_sm90 (emu_sm90.h) reads.
extern "C" CUresult d4j_emu_tensor_map_encode(CUtensorMap* map, CUtensorMapDataType type, cuuint32_t rank, void* global,
                                              const cuuint64_t* dims, const cuuint64_t* strides, const cuuint32_t* box,
                                              const cuuint32_t* elementStrides, CUtensorMapInterleave interleave,
                                              CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2, CUtensorMapFloatOOBfill oob) {
    return cuTensorMapEncodeTiled(map, type, rank, global, dims, strides, box, elementStrides, interleave, swizzle, l2, oob);
}
