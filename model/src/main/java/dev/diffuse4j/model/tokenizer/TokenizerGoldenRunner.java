package dev.diffuse4j.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.diffuse4j.model.goldens.Comparison;
import dev.diffuse4j.model.goldens.GoldenCase;
import dev.diffuse4j.model.goldens.GoldenCaseRunner;
import dev.diffuse4j.runtime.Device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Golden kind "tokenizer": encodes every prompt of tokenizer_cases.json with the CLIP tokenizer, padded
 * with end-of-text ({@code ids_sd15}) and with 0 the OpenCLIP way ({@code ids_sdxl2}), and compares the BPE
 * pieces too. Exact: maxAbs is the number of mismatching ids (pieces), relL2 the mismatching fraction.
 */
public final class TokenizerGoldenRunner implements GoldenCaseRunner {
    @Override
    public Set<String> kinds() { return Set.of("tokenizer"); }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) throws Exception {
        Path vocab = null, merges = null, cases = null;
        for (JsonNode f : c.json().path("files")) {
            Path p = c.file(f.asText());
            String name = p.getFileName().toString();
            if (name.equals("vocab.json")) vocab = p;
            else if (name.equals("merges.txt")) merges = p;
            else if (name.endsWith(".json")) cases = p;
        }
        if (vocab == null || merges == null || cases == null)
            throw new IllegalArgumentException(c.name() + ": the case must list vocab.json, merges.txt and a cases .json file, has " + c.json().path("files"));
        for (Path p : List.of(vocab, merges, cases))
            if (!Files.isRegularFile(p)) throw new IllegalArgumentException(c.name() + ": missing file " + p);

        ClipTokenizer eosPadded = ClipTokenizer.of(vocab, merges, PadToken.endOfText(49407), ClipTokenizer.DEFAULT_MAX_LENGTH);
        ClipTokenizer zeroPadded = eosPadded.withPad(PadToken.openClipZero());
        JsonNode prompts = new ObjectMapper().readTree(cases.toFile()).path("cases");
        if (prompts.isEmpty()) throw new IllegalArgumentException(cases + " has no cases");

        long[] sd15 = new long[2], sdxl2 = new long[2], bpe = new long[2]; // {mismatches, total}
        for (JsonNode p : prompts) {
            String text = p.path("prompt").asText();
            count(sd15, p.path("ids_sd15"), eosPadded.encode(text).ids());
            count(sdxl2, p.path("ids_sdxl2"), zeroPadded.encode(text).ids());
            List<String> got = eosPadded.bpeWords(text);
            JsonNode exp = p.path("bpe_tokens");
            int n = Math.max(got.size(), exp.size());
            for (int i = 0; i < n; i++)
                if (i >= got.size() || i >= exp.size() || !got.get(i).equals(exp.get(i).asText())) bpe[0]++;
            bpe[1] += n;
        }
        List<Comparison> out = new ArrayList<>();
        out.add(exact("ids_sd15", sd15));
        out.add(exact("ids_sdxl2", sdxl2));
        out.add(exact("bpe_tokens", bpe));
        return out;
    }

    private static void count(long[] acc, JsonNode expected, int[] got) {
        int n = Math.max(expected.size(), got.length);
        for (int i = 0; i < n; i++)
            if (i >= expected.size() || i >= got.length || expected.get(i).asInt() != got[i]) acc[0]++;
        acc[1] += n;
    }

    private static Comparison exact(String name, long[] acc) {
        return new Comparison(name, acc[0], acc[1] == 0 ? 0 : (double) acc[0] / acc[1], 0, 0);
    }
}
