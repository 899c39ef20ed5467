// A stand-in libcuda.so.1 over libd4jemu.so: the driver functions the Java backend's JCudaApi calls,
// with the symbol names JCuda 12.6's native library imports (cuMemAlloc_v2, ...). Put first on
// LD_LIBRARY_PATH, it lets the real JCuda path run without a GPU: JCuda's argument marshalling
// (kernel parameter arrays, byte-array structs, device pointers given as a byte offset, direct
// buffers for host copies) and JCudaApi's handle tables are exercised against a driver that checks
// what it is given. Every device address must lie inside a live allocation, a module image must be
// a fatbin, a kernel name must exist, dynamic shared memory must have been allowed, a calling thread
// must have made the context current (201 otherwise, as the driver answers a thread without one),
// and a capturing stream refuses host copies and synchronisation as the driver does (900). Device memory is host
// memory; everything runs synchronously on the calling thread.
//
// D4J_FAKE_CUDA_CC=90 makes it an sm_90 device (H100's 227 KiB of opt-in shared memory) with
// cuTensorMapEncodeTiled, which the backend's Hopper path binds from libcuda.so.1 through
// java.lang.foreign: the wgmma/TMA GEMM then runs through the same two bindings as on a GPU.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
int d4j_emu_has(const char* kernel);
int d4j_emu_launch(const char* kernel, unsigned gx, unsigned gy, unsigned gz, unsigned block, unsigned smem, void** params);
int d4j_emu_param_sizes(const char* kernel, size_t* sizes, int max);
const char* d4j_emu_error();
int d4j_emu_tensor_map_encode(void* map, int type, unsigned rank, void* global, const unsigned long long* dims,
                              const unsigned long long* strides, const unsigned* box, const unsigned* elementStrides,
                              int interleave, int swizzle, int l2, int oob);
}

namespace {
using CUresult = int;
using CUdeviceptr = unsigned long long;
constexpr CUresult SUCCESS = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_DEVICE = 101, INVALID_IMAGE = 200,
                   INVALID_CONTEXT = 201, INVALID_HANDLE = 400, NOT_FOUND = 500, OUT_OF_RESOURCES = 701, LAUNCH_FAILED = 719, CAPTURE_UNSUPPORTED = 900,
                   CAPTURE_INVALIDATED = 901;
constexpr int STATIC_SMEM_LIMIT = 48 * 1024, ALIGN = 256;
constexpr uint32_t FATBIN_MAGIC = 0xBA55ED50;

struct Function { std::string name; int smemAllowed = STATIC_SMEM_LIMIT; };
struct Stream { int id; };
using Op = std::function<CUresult()>;
struct Graph { std::vector<Op> ops; };

std::recursive_mutex lock;
std::map<CUdeviceptr, size_t> allocations;  // base -> bytes
size_t allocated = 0;
const size_t limit = [] { const char* e = std::getenv("D4J_FAKE_CUDA_MEMORY"); return e ? std::strtoull(e, nullptr, 10) : (4ull << 30); }();
// Compute capability as major * 10 + minor: sm_80 (A100) unless D4J_FAKE_CUDA_CC says otherwise.
const int cc = [] { const char* e = std::getenv("D4J_FAKE_CUDA_CC"); return e ? std::atoi(e) : 80; }();
const int SMEM_OPTIN = cc >= 90 ? 232448 : 163840;
std::vector<Op>* recording = nullptr;
bool invalidated = false;
int contextToken, moduleToken;
// Whether the calling thread has made the context current: the driver's per-thread context stack.
thread_local bool contextCurrent = false;

// True when [p, p + n) lies inside one live allocation.
bool onDevice(CUdeviceptr p, size_t n) {
    auto it = allocations.upper_bound(p);
    if (it == allocations.begin()) return false;
    --it;
    return p >= it->first && p + n <= it->first + it->second;
}

CUresult invalidate() {
    invalidated = true;
    return CAPTURE_UNSUPPORTED;
}

// Runs a stream operation now, or records it while the stream is being captured.
CUresult enqueue(Op op) {
    if (!recording) return op();
    recording->push_back(std::move(op));
    return SUCCESS;
}
}  // namespace

extern "C" {
CUresult cuInit(unsigned) { return SUCCESS; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return SUCCESS; }
CUresult cuDeviceGet(int* d, int ordinal) {
    if (ordinal != 0) return INVALID_DEVICE;
    *d = 0;
    return SUCCESS;
}
CUresult cuDeviceGetName(char* name, int len, int d) {
    if (d != 0 || len <= 0) return INVALID_VALUE;
    std::strncpy(name, "fake libcuda over libd4jemu", len - 1);
    name[len - 1] = 0;
    return SUCCESS;
}
CUresult cuDeviceGetAttribute(int* v, int attribute, int d) {
    if (d != 0) return INVALID_DEVICE;
    switch (attribute) {
        case 16: *v = 4; return SUCCESS;            // MULTIPROCESSOR_COUNT
        case 75: *v = cc / 10; return SUCCESS;      // COMPUTE_CAPABILITY_MAJOR
        case 76: *v = cc % 10; return SUCCESS;      // COMPUTE_CAPABILITY_MINOR
        case 97: *v = SMEM_OPTIN; return SUCCESS;   // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
        default: return INVALID_VALUE;
    }
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int d) {
    if (d != 0) return INVALID_DEVICE;
    *bytes = limit;
    return SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int d) {
    if (d != 0) return INVALID_DEVICE;
    *ctx = &contextToken;
    return SUCCESS;
}
CUresult cuCtxSetCurrent(void* ctx) {
    if (ctx && ctx != &contextToken) return INVALID_HANDLE;
    contextCurrent = ctx != nullptr;
    return SUCCESS;
}

CUresult cuStreamCreate(void** s, unsigned) {
    if (!contextCurrent) return INVALID_CONTEXT;
    static int next = 1;
    *s = new Stream{next++};
    return SUCCESS;
}
CUresult cuStreamSynchronize(void*) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    return recording ? invalidate() : SUCCESS;
}

CUresult cuModuleLoadData(void** module, const void* image) {
    if (!contextCurrent) return INVALID_CONTEXT;
    uint32_t magic;
    std::memcpy(&magic, image, 4);
    if (magic != FATBIN_MAGIC) return INVALID_IMAGE;
    *module = &moduleToken;
    return SUCCESS;
}
CUresult cuModuleGetFunction(void** f, void* module, const char* name) {
    if (!contextCurrent) return INVALID_CONTEXT;
    if (module != &moduleToken) return INVALID_HANDLE;
    if (!d4j_emu_has(name)) return NOT_FOUND;
    *f = new Function{name};
    return SUCCESS;
}
CUresult cuFuncSetAttribute(void* f, int attribute, int value) {
    if (attribute != 8 || value < 0 || value > SMEM_OPTIN) return INVALID_VALUE;  // MAX_DYNAMIC_SHARED_SIZE_BYTES
    static_cast<Function*>(f)->smemAllowed = value;
    return SUCCESS;
}

CUresult cuLaunchKernel(void* fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void*, void** params, void** extra) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    auto* f = static_cast<Function*>(fn);
    if (by != 1 || bz != 1 || extra || !params || (int)smem > f->smemAllowed) return INVALID_VALUE;
    size_t sizes[32];
    int n = d4j_emu_param_sizes(f->name.c_str(), sizes, 32);
    if (n < 0 || n > 32) return NOT_FOUND;
    // The driver copies the parameters at the call: so does this, which is what a replay reads.
    std::vector<std::vector<unsigned char>> copies(n);
    for (int i = 0; i < n; i++) {
        copies[i].resize(sizes[i] + 16);
        std::memcpy(copies[i].data(), params[i], sizes[i]);
    }
    std::string name = f->name;
    return enqueue([=]() mutable {
        std::vector<void*> p(n);
        for (int i = 0; i < n; i++) p[i] = copies[i].data();
        int r = d4j_emu_launch(name.c_str(), gx, gy, gz, bx, smem, p.data());
        if (r == 0) return SUCCESS;
        std::fprintf(stderr, "[fake libcuda] %s: %s\n", name.c_str(), d4j_emu_error());
        return r == OUT_OF_RESOURCES ? OUT_OF_RESOURCES : LAUNCH_FAILED;
    });
}

// Only on sm_90. The map's whole extent (last element of the last box row) must lie inside one
// allocation: the emulated TMA reads what the map names, where a GPU would fault.
CUresult cuTensorMapEncodeTiled(void* map, int type, unsigned rank, void* global, const unsigned long long* dims,
                                const unsigned long long* strides, const unsigned* box, const unsigned* elementStrides,
                                int interleave, int swizzle, int l2, int oob) {
    std::lock_guard<std::recursive_mutex> g(lock);
    if (cc < 90) return NOT_FOUND;
    static const size_t elementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2};
    if (type < 0 || type > 9 || rank < 1 || rank > 5 || !dims || !box || !elementStrides) return INVALID_VALUE;
    size_t extent = dims[0] * elementBytes[type];
    for (unsigned i = 1; i < rank; i++) extent += (dims[i] - 1) * strides[i - 1];
    if (!onDevice(reinterpret_cast<CUdeviceptr>(global), extent)) return INVALID_VALUE;
    return d4j_emu_tensor_map_encode(map, type, rank, global, dims, strides, box, elementStrides, interleave, swizzle, l2, oob);
}

CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (bytes == 0) return INVALID_VALUE;
    size_t rounded = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    if (allocated + rounded > limit) return OUT_OF_MEMORY;
    void* m = std::aligned_alloc(ALIGN, rounded);
    if (!m) return OUT_OF_MEMORY;
    *p = reinterpret_cast<CUdeviceptr>(m);
    allocations[*p] = rounded;
    allocated += rounded;
    return SUCCESS;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    auto it = allocations.find(p);
    if (it == allocations.end()) return INVALID_VALUE;
    allocated -= it->second;
    allocations.erase(it);
    std::free(reinterpret_cast<void*>(p));
    return SUCCESS;
}
CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    *free = limit - allocated;
    *total = limit;
    return SUCCESS;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void*) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (recording) return invalidate();
    if (!src || !onDevice(dst, n)) return INVALID_VALUE;
    std::memcpy(reinterpret_cast<void*>(dst), src, n);
    return SUCCESS;
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void*) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (recording) return invalidate();
    if (!dst || !onDevice(src, n)) return INVALID_VALUE;
    std::memcpy(dst, reinterpret_cast<const void*>(src), n);
    return SUCCESS;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void*) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!onDevice(dst, n) || !onDevice(src, n)) return INVALID_VALUE;
    return enqueue([=] {
        std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), n);
        return SUCCESS;
    });
}
CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n, void*) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!onDevice(dst, n)) return INVALID_VALUE;
    return enqueue([=] {
        std::memset(reinterpret_cast<void*>(dst), v, n);
        return SUCCESS;
    });
}

CUresult cuStreamBeginCapture_v2(void*, int) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (recording) return INVALID_VALUE;
    recording = new std::vector<Op>();
    invalidated = false;
    return SUCCESS;
}
CUresult cuStreamEndCapture(void*, void** graph) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (!recording) return INVALID_VALUE;
    std::vector<Op>* ops = recording;
    recording = nullptr;
    if (invalidated) {
        delete ops;
        *graph = nullptr;
        return CAPTURE_INVALIDATED;
    }
    *graph = new Graph{std::move(*ops)};
    delete ops;
    return SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long) {
    if (!contextCurrent) return INVALID_CONTEXT;
    if (!graph) return INVALID_VALUE;
    *exec = new Graph(*static_cast<Graph*>(graph));
    return SUCCESS;
}
CUresult cuGraphLaunch(void* exec, void*) {
    if (!contextCurrent) return INVALID_CONTEXT;
    std::lock_guard<std::recursive_mutex> g(lock);
    if (recording) return invalidate();
    for (auto& op : static_cast<Graph*>(exec)->ops)
        if (CUresult r = op(); r != SUCCESS) return r;
    return SUCCESS;
}
CUresult cuGraphExecDestroy(void* exec) { delete static_cast<Graph*>(exec); return SUCCESS; }
CUresult cuGraphDestroy(void* graph) { delete static_cast<Graph*>(graph); return SUCCESS; }

CUresult cuGetErrorName(CUresult r, const char** s) {
    switch (r) {
        case SUCCESS: *s = "CUDA_SUCCESS"; break;
        case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
        case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
        case INVALID_IMAGE: *s = "CUDA_ERROR_INVALID_IMAGE"; break;
        case INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; break;
        case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
        case OUT_OF_RESOURCES: *s = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; break;
        case LAUNCH_FAILED: *s = "CUDA_ERROR_LAUNCH_FAILED"; break;
        case CAPTURE_UNSUPPORTED: *s = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"; break;
        case CAPTURE_INVALIDATED: *s = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"; break;
        default: *s = "CUDA_ERROR_UNKNOWN"; return INVALID_VALUE;
    }
    return SUCCESS;
}
CUresult cuGetErrorString(CUresult r, const char** s) {
    CUresult known = cuGetErrorName(r, s);
    *s = known == SUCCESS ? "(fake libcuda over libd4jemu)" : "unknown error";
    return known;
}
}
