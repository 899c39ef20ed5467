/**
 * The {@code cuda} backend (DESIGN §2): JCuda 12.6's driver API only (context, stream, memory,
 * {@code cuModuleLoadData} of the fatbins packaged by diffuse4j-kernels, {@code cuLaunchKernel},
 * stream capture). Nothing else of JCuda loads: its cuBLAS/NVRTC natives need CUDA 12 libraries,
 * which CUDA-13-only machines lack.
 *
 * <ul>
 *   <li>Driver: every driver call goes through the package-private {@code DriverApi}: {@code JCudaApi}
 *       (the only class that imports JCuda) on a GPU, or {@code EmulatedApi} with
 *       {@code -Dd4j.cuda.emulator=<path of libd4jemu.so>}, the kernels compiled for the host CPU
 *       (kernels/build-emu.sh): the same backend code runs unchanged on it, right answers without a
 *       GPU and no GPU timing ({@link dev.diffuse4j.runtime.cuda.CudaBackend#emulated()}; its
 *       {@code describe()} says EMULATED). The runtime's {@code cuda-emulated} test execution runs
 *       the CUDA tests that way.</li>
 *   <li>{@link dev.diffuse4j.runtime.cuda.CudaBackend}: the ops, host copies, memory statistics,
 *       graph capture; found through {@code Backends.of(Device.cuda())}
 *       ({@link dev.diffuse4j.runtime.cuda.CudaBackendProvider} in META-INF/services).</li>
 *   <li>Where CUDA cannot run (no JCuda native, no libcuda.so.1, no device, a pre-Ampere GPU, a
 *       build without nvcc) opening throws
 *       {@link dev.diffuse4j.runtime.cuda.CudaUnavailableException} "CUDA backend unavailable:
 *       &lt;reason&gt;"; nothing is loaded before that, so CPU users never touch a native.</li>
 *   <li>Memory: a caching allocator ({@code CudaAllocator}) behind
 *       {@link dev.diffuse4j.runtime.cuda.CudaStorage}; out of device memory is a
 *       {@link dev.diffuse4j.runtime.cuda.CudaOutOfMemoryException} naming the size asked and the
 *       memory in use, after the cache was released and the allocation retried.</li>
 *   <li>Errors: every driver call is checked; a failure is a
 *       {@link dev.diffuse4j.runtime.cuda.CudaException} naming the op, the call and the CUDA error.
 *       {@code -Dd4j.cuda.sync=true} synchronises after each launch so asynchronous faults are
 *       attributed to the op that caused them.</li>
 *   <li>Op families: {@code CudaElementwise}, {@code CudaLinalg} (matmul, linear, conv2d),
 *       {@code CudaNorms}, {@code CudaLayout} (copies, casts, concat, upsample, embedding,
 *       timestep embedding), {@code CudaAttention}; kernel argument structs are built by
 *       {@code CStruct} to match the C layouts of kernels/src/main/cuda.</li>
 *   <li>cuBLAS, optional: {@code Cublas} binds the installed libcublas (any major version) through
 *       java.lang.foreign, as the GEMM baseline and, on request
 *       ({@link dev.diffuse4j.runtime.cuda.CudaBackend#gemmImplementation}), behind matmul/linear.</li>
 * </ul>
 * Results keep the dtype of their (promoted) inputs: F16/BF16 storage with F32 accumulation, or
 * F32 throughout when the inputs are F32.
 */
package dev.diffuse4j.runtime.cuda;
