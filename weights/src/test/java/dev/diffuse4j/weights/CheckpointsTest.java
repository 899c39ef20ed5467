package dev.diffuse4j.weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointsTest {
    @TempDir
    Path dir;

    private WeightsException refused(Path p) {
        return assertThrows(WeightsException.class, () -> Checkpoints.open(p).close(), p.toString());
    }

    private static void assertMentions(WeightsException e, String... fragments) {
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "\"" + f + "\" not in: " + e.getMessage());
    }

    @Test
    void opensBothLayouts() {
        Path single = Fixtures.write(dir.resolve("m.safetensors"), Fixtures.sd15());
        Path folder = Fixtures.diffusersFolder(dir.resolve("pipe"), true, true, false);
        try (Checkpoint a = Checkpoints.open(single); Checkpoint b = Checkpoints.open(folder)) {
            assertInstanceOf(SingleFileCheckpoint.class, a);
            assertInstanceOf(DiffusersFolder.class, b);
            assertEquals(ModelFamily.SD15, a.family().family());
            assertEquals(ModelFamily.SDXL_BASE, b.family().family());
            assertTrue(a.has(Component.UNET) && b.has(Component.TEXT_ENCODER_2));
        }
    }

    @Test
    void missingAndEmpty() throws IOException {
        assertMentions(refused(dir.resolve("nope")), "no such file or folder", "nope");
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertMentions(refused(empty), "empty folder", "model_index.json");
    }

    @Test
    void foldersThatAreNotPipelines() throws IOException {
        Path root = Fixtures.diffusersFolder(dir.resolve("pipe"), false, true, false);
        assertMentions(refused(root.resolve("unet")), "one component of a diffusers pipeline", "folder above");

        Path loose = Files.createDirectory(dir.resolve("loose"));
        Fixtures.write(loose.resolve("a.safetensors"), Fixtures.ldmVae());
        assertMentions(refused(loose), "a.safetensors", "open the .safetensors file itself");

        Path other = Files.createDirectory(dir.resolve("other"));
        Files.writeString(other.resolve("readme.txt"), "hi");
        assertMentions(refused(other), "not a checkpoint folder", "readme.txt");

        Path pickles = Files.createDirectory(dir.resolve("pickles"));
        Files.write(pickles.resolve("model.ckpt"), new byte[]{'P', 'K', 3, 4});
        assertMentions(refused(pickles), "pickle", "model.ckpt");
    }

    @Test
    void picklesAreRefusedWithTheReasonAndTheConversion() throws IOException {
        Path zip = Files.write(dir.resolve("model.ckpt"), new byte[]{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0});
        WeightsException e = refused(zip);
        assertMentions(e, zip.toString(), "zip archive", "execute anything", "safetensors.torch import save_file",
                "torch.load(\"model.ckpt\"", "\"model.safetensors\"", "convert_original_stable_diffusion_to_diffusers.py");

        Path proto2 = Files.write(dir.resolve("weights.pt"), new byte[]{(byte) 0x80, 2, (byte) 0x8a, 10, 'l', (byte) 0xfc, (byte) 0x9c, 'F', (byte) 0xf9, ' '});
        assertMentions(refused(proto2), "pickle stream");
        // the content decides, whatever the name
        Path disguised = Files.write(dir.resolve("model.safetensors"), new byte[]{(byte) 0x80, 4, (byte) 0x95, 0, 0, 0, 0, 0, '}', (byte) 0x94});
        assertMentions(refused(disguised), "pickle stream", "PyTorch pickle");
        // the low-level reader says the same when handed a pickle
        WeightsException direct = assertThrows(WeightsException.class, () -> SafetensorsFile.open(zip));
        assertMentions(direct, "PyTorch pickle", "save_file");
        // and the name alone is enough
        Path bin = Files.writeString(dir.resolve("pytorch_model.bin"), "not even a pickle");
        assertMentions(refused(bin), ".bin file", "pickle");
    }

    /** A safetensors header of 640 bytes makes the file start 0x80 0x02, like a pickle: the '{' that follows tells them apart. */
    @Test
    void safetensorsWhoseLengthLooksLikeAPickleProtocol() throws IOException {
        StringBuilder h = new StringBuilder("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        while (h.length() < 640) h.append(' ');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        byte[] bytes = RawSafetensors.bytes(header.length, header, new byte[4]);
        assertEquals((byte) 0x80, bytes[0]);
        assertEquals(2, bytes[1]);
        Path file = RawSafetensors.write(dir.resolve("odd.safetensors"), bytes);
        try (Checkpoint c = Checkpoints.open(file)) {
            assertEquals(0, c.components().size());
            assertEquals(java.util.List.of("x"), ((SingleFileCheckpoint) c).unknownKeys());
        }
    }

    @Test
    void filesThatAreNotCheckpoints() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "some notes that are long enough");
        assertMentions(refused(text), "notes.txt", "is not a checkpoint", ".safetensors file or a diffusers pipeline folder");

        Path gguf = Files.write(dir.resolve("model.gguf"), "GGUF\u0003\u0000\u0000\u0000\u0000\u0000".getBytes(StandardCharsets.ISO_8859_1));
        assertMentions(refused(gguf), "GGUF");

        Path pipe = Fixtures.diffusersFolder(dir.resolve("pipe"), false, true, false);
        assertMentions(refused(pipe.resolve("model_index.json")), "open the folder");

        // a .safetensors name on something else: the reader's validation explains
        Path fake = Files.writeString(dir.resolve("fake.safetensors"), "hello world, not safetensors");
        WeightsException e = refused(fake);
        assertInstanceOf(SafetensorsFormatException.class, e);

        // a safetensors file without the extension is still read
        Path noExt = Files.copy(Fixtures.write(dir.resolve("v.safetensors"), Fixtures.ldmVae()), dir.resolve("vae-weights"));
        try (Checkpoint c = Checkpoints.open(noExt)) {
            assertTrue(c.has(Component.VAE));
        }
    }
}
