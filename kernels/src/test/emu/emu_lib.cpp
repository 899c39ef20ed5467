// libd4jemu.so's entry points (ABI in emu_lib.h; mirrored by EmulatedApi in the Java backend).
#include "emu.h"
#include "emu_lib.h"
#include <cuda.h>  // the stand-in of src/test/emu: CUtensorMap and the emulated cuTensorMapEncodeTiled
#include <mutex>

namespace {
std::mutex launches;  // the emulator runs one grid at a time
thread_local std::string last_error;
// H100's opt-in limit per block, the largest an emulated device reports (sm_80 reports A100's 163840;
// EmulatedApi refuses a launch past the reported limit before it gets here).
constexpr unsigned MAX_SMEM = 232448;

int fail(int code, std::string why) { last_error = std::move(why); return code; }
}  // namespace

extern "C" int d4j_emu_has(const char* kernel) { return emu::registry().count(kernel) ? 1 : 0; }

extern "C" const char* d4j_emu_error() { return last_error.c_str(); }

extern "C" int d4j_emu_launch(const char* kernel, unsigned gx, unsigned gy, unsigned gz, unsigned block, unsigned smem, void** params) {
    auto it = emu::registry().find(kernel);
    if (it == emu::registry().end()) return fail(500, std::string("no kernel named ") + kernel + " in libd4jemu");
    if (gx == 0 || gy == 0 || gz == 0 || block == 0 || block > 1024 || gy > 65535 || gz > 65535 || smem > MAX_SMEM)
        return fail(1, std::string(kernel) + ": invalid launch (grid " + std::to_string(gx) + "x" + std::to_string(gy) + "x" +
                           std::to_string(gz) + ", block " + std::to_string(block) + ", shared " + std::to_string(smem) + " B)");
    std::lock_guard<std::mutex> lock(launches);
    emu::failure.clear();
    emu::Entry e = it->second;
    if (!emu::run_grid(dim3{gx, gy, gz}, block, smem, [&] { e(params); }))
        return fail(719, std::string(kernel) + ": " + emu::failure);
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
