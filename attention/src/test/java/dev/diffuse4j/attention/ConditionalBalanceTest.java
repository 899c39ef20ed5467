package dev.diffuse4j.attention;

import dev.diffuse4j.model.attention.LayerInfo;
import dev.diffuse4j.model.unet.UNetConfig;
import dev.diffuse4j.model.unet.UNetLayers;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** Conditional Balance layer choice on the authors' published SDXL ranking and on rankings written here. */
class ConditionalBalanceTest {
    static Path published() {
        String shared = System.getProperty("d4j.shared");
        Assumptions.assumeTrue(shared != null, "d4j.shared is not set");
        Path p = Path.of(shared, "reference/conditional-balance/style_layer_grading.json");
        Assumptions.assumeTrue(Files.isRegularFile(p), "no published ranking at " + p);
        return p;
    }

    @Test
    void publishedRankingNamesExactlyTheSdxlSelfAttentionLayers() throws IOException {
        LayerRanking r = LayerRanking.read(published());
        assertEquals(50, r.timesteps().size());
        Set<String> sdxlSelf = UNetLayers.of(UNetConfig.SDXL_BASE, 128, 128).stream().filter(LayerInfo::isSelf)
                .map(LayerInfo::name).collect(Collectors.toSet());
        assertEquals(sdxlSelf, Set.copyOf(r.layerNames()));
    }

    @Test
    void lambdaSChoosesTheLowestScoresForQueriesAndKeysIndependently() throws IOException {
        LayerRanking r = LayerRanking.read(published());
        ConditionalBalance cb = new ConditionalBalance(r, 0.43, BatchLayout.guidedWithReferenceFirst());
        for (double t : new double[]{981, 500.4, 1, 990}) {
            LayerRanking.Scores s = r.nearest(t);
            Map<String, ConditionalBalance.Choice> c = cb.choices(t);
            assertEquals(30, c.values().stream().filter(ConditionalBalance.Choice::q).count(), "int(0.43 * 70) query layers at t=" + t);
            assertEquals(30, c.values().stream().filter(ConditionalBalance.Choice::k).count());
            double[] q = s.q().clone();
            Arrays.sort(q);
            for (var e : c.entrySet()) {
                int i = r.layerNames().indexOf(e.getKey());
                if (e.getValue().q()) assertTrue(s.q()[i] <= q[29], e.getKey() + " has a q score among the 30 lowest");
            }
        }
        assertSame(r.nearest(981), r.nearest(990), "timesteps past the last key map to it");
        assertSame(r.nearest(21), r.nearest(25));
        assertSame(r.nearest(41), r.nearest(32));
    }

    @Test
    void ownRankingFilesAreReadAndBadOnesRefused(@TempDir Path dir) throws IOException {
        Path ok = dir.resolve("r.json");
        Files.writeString(ok, "{\"layer_names\":[\"a\",\"b\",\"c\"],\"stats\":{\"500\":{\"q\":[0.3,0.1,0.2],\"k\":[0.1,0.2,0.3],\"v\":[1,0,2]}}}");
        LayerRanking r = LayerRanking.read(ok);
        assertEquals(List.of("b", "c", "a"), r.rankedByQueries(10));
        Map<String, ConditionalBalance.Choice> c = new ConditionalBalance(r, 1.0 / 3, BatchLayout.guidedWithReferenceFirst()).choices(500);
        assertEquals(Map.of("b", new ConditionalBalance.Choice(true, false, true), "a", new ConditionalBalance.Choice(false, true, false)), c);
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"layer_names\":[\"a\"],\"stats\":{\"1\":{\"q\":[1,2],\"k\":[1]}}}");
        IOException e = assertThrows(IOException.class, () -> LayerRanking.read(bad));
        assertTrue(e.getMessage().contains("q has 2 scores for 1 layers"), e.getMessage());
        assertThrows(IOException.class, () -> LayerRanking.read(dir.resolve("missing.json")));
    }
}
