package dev.diffuse4j.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Opens whatever a user points at: a diffusers folder or a single-file .safetensors checkpoint, and
 * says plainly what is wrong with anything else (missing path, empty folder, one component's folder,
 * a pickle, a file that is no checkpoint).
 */
public final class Checkpoints {
    private Checkpoints() {}

    public static Checkpoint open(Path path) { return open(path, DiffusersFolder.Variant.PREFER_FP32); }

    /** Opens a checkpoint; {@code variant} picks fp16/fp32 files in diffusers folders. */
    public static Checkpoint open(Path path, DiffusersFolder.Variant variant) {
        if (!Files.exists(path)) throw new WeightsException("no such file or folder: " + path);
        if (Files.isDirectory(path)) return openFolder(path, variant);
        if (!Files.isRegularFile(path)) throw new WeightsException(path + " is not a regular file");
        return openFile(path);
    }

    private static Checkpoint openFolder(Path dir, DiffusersFolder.Variant variant) {
        if (Files.isRegularFile(dir.resolve(DiffusersFolder.MODEL_INDEX))) return DiffusersFolder.open(dir, variant);
        List<String> names;
        try (Stream<Path> s = Files.list(dir)) {
            names = s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new WeightsException("cannot list " + dir + ": " + e, e);
        }
        String expected = "; expected a diffusers pipeline folder (with " + DiffusersFolder.MODEL_INDEX + ") or a single-file .safetensors checkpoint";
        if (names.isEmpty()) throw new WeightsException(dir + " is an empty folder" + expected);
        boolean weights = names.stream().anyMatch(n -> n.startsWith("diffusion_pytorch_model") || n.startsWith("model."));
        if (names.contains("config.json") && weights)
            throw new WeightsException(dir + " looks like one component of a diffusers pipeline (config.json and weights, no "
                    + DiffusersFolder.MODEL_INDEX + "); open the pipeline folder above it");
        List<String> safetensors = names.stream().filter(n -> n.endsWith(".safetensors")).toList();
        if (!safetensors.isEmpty())
            throw new WeightsException(dir + " has no " + DiffusersFolder.MODEL_INDEX + " but holds " + preview(safetensors)
                    + "; to use a single-file checkpoint, open the .safetensors file itself");
        List<String> pickles = names.stream().filter(n -> PickleCheckpoints.hasPickleExtension(Path.of(n))).toList();
        if (!pickles.isEmpty())
            throw PickleCheckpoints.refusal(dir.resolve(pickles.get(0)), "found in a folder without " + DiffusersFolder.MODEL_INDEX);
        throw new WeightsException(dir + " is not a checkpoint folder: no " + DiffusersFolder.MODEL_INDEX + " (it holds " + preview(names) + ")" + expected);
    }

    private static Checkpoint openFile(Path file) {
        String kind = PickleCheckpoints.sniff(file);
        if (kind != null) throw PickleCheckpoints.refusal(file, kind);
        if (PickleCheckpoints.hasPickleExtension(file))
            throw PickleCheckpoints.refusal(file, "by its " + PickleCheckpoints.describeExtension(file) + " name");
        String ext = PickleCheckpoints.extension(file);
        if (!ext.equals("safetensors") && !looksLikeSafetensors(file)) {
            if (file.getFileName().toString().equals(DiffusersFolder.MODEL_INDEX))
                throw new WeightsException(file + " is a pipeline's index; open the folder that holds it: " + file.toAbsolutePath().getParent());
            throw new WeightsException(file + " is not a checkpoint" + (isGguf(file) ? " diffuse4j can read (it is a GGUF file)" : "")
                    + ": expected a .safetensors file or a diffusers pipeline folder");
        }
        return SingleFileCheckpoint.open(file);
    }

    /** A safetensors file starts with a little-endian length and then '{'. */
    private static boolean looksLikeSafetensors(Path file) {
        byte[] head = readHead(file, 9);
        return head.length == 9 && head[8] == '{';
    }

    private static boolean isGguf(Path file) {
        byte[] head = readHead(file, 4);
        return head.length == 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F';
    }

    private static byte[] readHead(Path file, int n) {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(n);
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + e, e);
        }
    }

    private static String preview(List<String> names) {
        return names.size() <= 6 ? String.join(", ", names) : String.join(", ", names.subList(0, 6)) + ", ... (" + names.size() + " entries)";
    }
}
