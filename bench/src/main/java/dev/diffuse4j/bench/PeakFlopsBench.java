package dev.diffuse4j.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * F32 FMA throughput ({@link PeakFlops#run}): one call is {@link PeakFlops#flopsPerCall()} flops, so
 * GFLOP/s = threads x flopsPerCall / (ms/op x 1e6). {@link GemmReport} does that arithmetic.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class PeakFlopsBench {
    @Benchmark
    @Threads(Threads.MAX)
    public float allCores() { return PeakFlops.run(1f); }

    @Benchmark
    @Threads(1)
    public float oneCore() { return PeakFlops.run(1f); }
}
