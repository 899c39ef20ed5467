package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.attention.StepContext;
import dev.diffuse4j.runtime.MemoryStats;
import dev.diffuse4j.runtime.Tensor;
import dev.diffuse4j.weights.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MapFilesTest {
    @TempDir
    Path tmp;

    private static final LayerInfo SELF = new LayerInfo("up_blocks.1.attentions.0.transformer_blocks.0.attn1", LayerInfo.Kind.SELF,
            LayerInfo.Block.UP, 1, 0, 0, 1, 2, 2, 4, 2);
    private static final LayerInfo CROSS = new LayerInfo("up_blocks.1.attentions.0.transformer_blocks.0.attn2", LayerInfo.Kind.CROSS,
            LayerInfo.Block.UP, 1, 0, 0, 1, 2, 2, 5, 2);

    private static float[] values(int n, int seed) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = seed + i * 0.25f;
        return v;
    }

    @Test
    void oneFilePerStepWithEveryLayerUnderItsNameAndNothingLeftBehind() throws Exception {
        Path dir = tmp.resolve("maps");
        long before = MemoryStats.cpuBytesInUse();
        try (MapFiles files = new MapFiles(dir)) {
            for (int step = 0; step < 3; step++) {
                StepContext at = StepContext.of(step, 3, 900 - 300 * step);
                try (Tensor self = Tensor.of(values(2 * 4 * 4, step), 2, 4, 4); Tensor cross = Tensor.of(values(2 * 4 * 7, 10 + step), 2, 4, 7)) {
                    files.accept(SELF, at, self);
                    files.accept(CROSS, at, cross);
                    files.accept(CROSS, at, cross); // a layer seen twice in one step keeps both
                }
            }
            assertEquals(2, files.filesWritten(), "the last step is written on close");
        }
        assertEquals(before, MemoryStats.cpuBytesInUse(), "every held map is freed once written");
        try (var d = Files.list(dir)) {
            assertEquals(List.of("step-000.safetensors", "step-001.safetensors", "step-002.safetensors"),
                    d.map(p -> p.getFileName().toString()).sorted().toList());
        }
        try (SafetensorsFile f = SafetensorsFile.open(MapFiles.fileOf(dir, 1))) {
            assertEquals("1", f.metadata().get("step"));
            assertEquals(600.0, Double.parseDouble(f.metadata().get("timestep")));
            assertEquals("self up level 1", f.metadata().get(SELF.name()));
            assertEquals(java.util.Set.of(SELF.name(), CROSS.name(), CROSS.name() + "#2"), f.keys());
            try (Tensor self = f.tensor(SELF.name()); Tensor cross = f.tensor(CROSS.name() + "#2")) {
                assertArrayEquals(new int[]{2, 4, 4}, self.shape());
                assertArrayEquals(values(32, 1), self.toFloatArray());
                assertArrayEquals(values(56, 11), cross.toFloatArray());
            }
        }
    }

    @Test
    void bothHandsEveryMapToEachSinkInOrder() {
        StringBuilder seen = new StringBuilder();
        MapSink a = (l, s, m) -> seen.append("a").append(s.step());
        MapSink b = (l, s, m) -> seen.append("b").append(s.step());
        try (Tensor m = Tensor.of(new float[]{1}, 1, 1, 1)) {
            MapSink.both(a, b).accept(SELF, StepContext.of(3, 4, 1), m);
        }
        assertEquals("a3b3", seen.toString());
    }
}
