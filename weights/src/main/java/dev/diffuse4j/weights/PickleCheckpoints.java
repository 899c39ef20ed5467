package dev.diffuse4j.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

/**
 * Recognises PyTorch pickle checkpoints (.ckpt/.pt/.pth/.bin, zip archives holding a pickle, or raw
 * pickle streams) and refuses them with the reason and the one-time conversion to safetensors.
 */
public final class PickleCheckpoints {
    static final Set<String> PICKLE_EXTENSIONS = Set.of("ckpt", "pt", "pth", "bin", "pkl", "pickle");

    private PickleCheckpoints() {}

    public static boolean hasPickleExtension(Path p) {
        return PICKLE_EXTENSIONS.contains(extension(p));
    }

    static String extension(Path p) {
        String n = p.getFileName() == null ? "" : p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /** "zip archive", "pickle stream", or null when the first bytes are neither (or look like safetensors). */
    public static String sniff(Path p) {
        byte[] head = new byte[9];
        int n;
        try (InputStream in = Files.newInputStream(p)) {
            n = in.readNBytes(head, 0, head.length);
        } catch (IOException e) {
            return null;
        }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return "zip archive";
        // Pickle protocol 2-5 starts with PROTO (0x80) and the version. A safetensors length field can
        // start the same way (a 640-byte header is 0x280), but its header then starts with '{' at byte 8.
        boolean safetensorsLike = n == 9 && head[8] == '{';
        if (n >= 2 && (head[0] & 0xFF) == 0x80 && head[1] >= 2 && head[1] <= 5 && !safetensorsLike) return "pickle stream";
        return null;
    }

    /** The refusal for a pickle file: why, and how to convert it. */
    public static WeightsException refusal(Path p, String what) {
        String name = p.getFileName() == null ? "model.ckpt" : p.getFileName().toString();
        String out = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) + ".safetensors" : name + ".safetensors";
        return new WeightsException(p + " is a PyTorch pickle checkpoint (" + what + "). diffuse4j does not load pickles: "
                + "unpickling runs code stored in the file, so a checkpoint could execute anything. "
                + "Convert it once to safetensors with Python and open the result:\n"
                + "    import torch\n"
                + "    from safetensors.torch import save_file\n"
                + "    sd = torch.load(\"" + name + "\", map_location=\"cpu\", weights_only=True)\n"
                + "    sd = sd.get(\"state_dict\", sd)\n"
                + "    save_file({k: v.detach().clone().contiguous() for k, v in sd.items() if isinstance(v, torch.Tensor)}, \"" + out + "\")\n"
                + "(weights_only=True makes torch.load itself refuse code.) For a diffusers folder with .bin files: "
                + "DiffusionPipeline.from_pretrained(folder).save_pretrained(folder, safe_serialization=True); "
                + "diffusers' scripts/convert_original_stable_diffusion_to_diffusers.py --to_safetensors converts a whole .ckpt pipeline.");
    }

    static String describeExtension(Path p) {
        return "." + extension(p) + " file";
    }
}
